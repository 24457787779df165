"""The lease on an 835 of the shared drop folder, as long as the file needs."""

from services.payments.posting import SLOWEST_READING, Lease


def test_a_large_835s_lease_lasts_as_long_as_a_slow_replica_needs_to_read_it():
    """A replica parsing a large file must not lose it to another halfway (which would parse it again)."""
    lease = Lease("payments-0:1:ab", 60.0)
    assert lease.for_file(40_000).seconds == 60.0  # an ordinary ERA: the configured lease
    big = lease.for_file(30 * SLOWEST_READING * 60)  # thirty minutes of reading at the slowest rate
    assert big.seconds == 1800.0 and big.holder == lease.holder

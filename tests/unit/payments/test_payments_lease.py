"""The lease on an 835 of the shared drop folder, as long as the file needs; the files posted together."""

from pathlib import Path

from services.payments.posting import BYTES_TOGETHER, FILES_TOGETHER, SLOWEST_READING, Lease, together


def test_a_large_835s_lease_lasts_as_long_as_a_slow_replica_needs_to_read_it():
    """A replica parsing a large file must not lose it to another halfway (which would parse it again)."""
    lease = Lease("payments-0:1:ab", 60.0)
    assert lease.for_file(40_000).seconds == 60.0  # an ordinary ERA: the configured lease
    big = lease.for_file(30 * SLOWEST_READING * 60)  # thirty minutes of reading at the slowest rate
    assert big.seconds == 1800.0 and big.holder == lease.holder


def test_835s_that_land_together_are_grouped_by_count_and_bytes_in_order_a_large_one_alone():
    small = [(Path(f"s{n:02}.835.x12"), 10_000) for n in range(25)]
    large = (Path("t-large.835.x12"), BYTES_TOGETHER + 1)
    groups = list(together([*small[:3], large, *small[3:]]))
    assert [len(group) for group in groups] == [3, 1, FILES_TOGETHER, 2]
    assert groups[1] == [large]
    assert [file for group in groups for file in group] == [*small[:3], large, *small[3:]]  # the order kept
    assert all(sum(size for _, size in group) <= BYTES_TOGETHER for group in groups if len(group) > 1)
    halves = list(together([(Path(f"h{n}.835.x12"), BYTES_TOGETHER // 2) for n in range(5)]))
    assert [len(group) for group in halves] == [2, 2, 1]
    assert list(together([])) == []

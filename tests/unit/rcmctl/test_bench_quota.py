"""`rcm bench --cpu-limit`: what it accepts, and that a capped process really gets no more than its share."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from rcmctl.bench import quota

SERVICES = ("coding", "claims")


def test_limits_are_read_per_service():
    assert quota.parse_limits(["claims=0.25", "coding=1"], SERVICES) == {"claims": 0.25, "coding": 1.0}


@pytest.mark.parametrize(
    "value", ["claims", "claims=", "billing=1", "claims=fast", "claims=0", "claims=-1", "claims=65"]
)
def test_a_limit_that_is_not_a_service_and_a_share_of_cores_is_refused(value):
    with pytest.raises(ValueError, match="--cpu-limit"):
        quota.parse_limits([value], SERVICES)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def test_a_capped_process_uses_no_more_than_its_share():
    """A busy loop capped at a tenth of a core: about 0.1 s of CPU a second (where the machine
    lets us write cgroups; elsewhere the option says clearly that it cannot)."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    group = None
    try:
        try:
            group = quota.confine("test", spinner.pid, 0.1)
        except quota.QuotaUnavailable as err:
            assert "--cpu-limit needs" in str(err)
            return
        start, started = _cpu_seconds(spinner.pid), time.monotonic()
        time.sleep(2.0)
        used = (_cpu_seconds(spinner.pid) - start) / (time.monotonic() - started)
        assert used < 0.2, f"capped at 0.1 core, used {used:.2f}"
        assert used > 0.02, f"the process barely ran ({used:.2f} core): was it stopped rather than capped?"
    finally:
        spinner.kill()
        spinner.wait()
        if group is not None:
            quota.release([group])
            assert not group.exists()

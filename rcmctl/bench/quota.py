"""CPU quotas for the benchmark's processes: `--cpu-limit claims=0.25` runs every process of claims
in a cgroup of its own capped at a quarter of a core, so that service is the bottleneck and a
second replica's worth can be seen on a machine whose two cores the rest of the platform shares.
(taskset pins a process to a core but leaves it that whole core, shared with everything else: it
caps nothing on two cores.) Needs a writable cgroup cpu controller: v2, or v1's cpu hierarchy."""

import os
from collections.abc import Iterable
from pathlib import Path

PERIOD_US = 100_000
V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/cpu")
PREFIX = "openrcm-bench-"


class QuotaUnavailable(RuntimeError):
    pass


def parse_limits(values: Iterable[str], services: Iterable[str]) -> dict[str, float]:
    """`claims=0.25` -> {"claims": 0.25}: a fraction of one core, above 0 and at most 64."""
    known, limits = set(services), {}
    for value in values:
        name, sep, cores = value.partition("=")
        if not sep or name not in known:
            raise ValueError(
                f"--cpu-limit must look like SERVICE=CORES with a service of {sorted(known)}, not {value!r}"
            )
        try:
            limit = float(cores)
        except ValueError:
            raise ValueError(f"--cpu-limit: {cores!r} is not a number of cores") from None
        if not 0 < limit <= 64:
            raise ValueError(f"--cpu-limit: {name} needs between 0 and 64 cores, not {limit:g}")
        limits[name] = limit
    return limits


def _hierarchy() -> tuple[Path, bool]:
    """The directory new groups go in, and whether it is cgroup v2."""
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2_ROOT, True
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        return V1_ROOT, False
    raise QuotaUnavailable("--cpu-limit needs a cgroup cpu controller (v2, or v1 mounted at /sys/fs/cgroup/cpu)")


def confine(name: str, pid: int, cores: float) -> Path:
    """Moves the process (every thread, and the children it starts later) into a group of its own
    that may use `cores` of CPU time per second; returns the group."""
    root, v2 = _hierarchy()
    if not os.access(root, os.W_OK):
        raise QuotaUnavailable(f"--cpu-limit needs to write {root} (run as root)")
    group = root / f"{PREFIX}{name}-{pid}"
    group.mkdir(exist_ok=True)
    quota = max(1000, round(cores * PERIOD_US))
    if v2:
        (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
    else:
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
    (group / "cgroup.procs").write_text(str(pid))
    return group


def release(groups: Iterable[Path]) -> None:
    """Removes the groups once their processes have exited (a group with a process in it stays)."""
    for group in groups:
        try:
            group.rmdir()
        except OSError:
            pass

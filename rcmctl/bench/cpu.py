"""Where the CPU goes: every process the platform runs on, sampled with psutil while the benchmark
runs. A process is counted with its whole tree (a service, the payer simulator, a relay stage, the
Kafka broker's JVM); PostgreSQL is counted backend by backend, from each one's process title
(`postgres: rcm <database> 127.0.0.1(port) idle`), so the backends of this run's databases are the
platform's and those of other databases (other test runs on a shared server) are set aside.

A window between two marks gives each group's CPU seconds: a process seen at both marks counts
the difference, one born inside the window counts all it used, one that ended counts what it had
used when last sampled (sampling every half second loses at most that much of a short-lived one)."""

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

POSTGRES = "postgres"  # this run's backends (and autovacuum of its databases)
POSTGRES_SERVER = "postgres:server"  # WAL writer, checkpointer, background writer, I/O workers, postmaster
POSTGRES_OTHERS = "postgres:others"  # backends of other databases: not this run's, never in its totals
POSTGRES_BENCH = "postgres:bench"  # the benchmark's own probes
KAFKA = "kafka"
UNCOUNTED = frozenset({POSTGRES_OTHERS, POSTGRES_BENCH})

Key = tuple[int, float]  # pid and creation time: a pid the OS reuses is another process


@dataclass(frozen=True)
class Reading:
    group: str
    seconds: float  # user + system CPU when last sampled
    born: float  # the process's creation time (epoch seconds)
    rss: int = 0  # resident memory, bytes


@dataclass(frozen=True)
class Mark:
    at: float
    readings: dict[Key, Reading]
    machine_busy: float  # the machine's non-idle CPU seconds since boot, all cores
    all_processes: float  # sum over every process on the machine (reaped children included)
    # CPU seconds the hypervisor ran someone else on our cores (all cores since boot). Where it is
    # high the host is contended, and the same work costs this guest's processes more CPU time.
    steal: float = 0.0


def postgres_group(title: str, namespace: str, bench_pids: set[int], pid: int) -> str | None:
    """The group of a PostgreSQL child process from its title; None while it has none yet (forked,
    not yet authenticated). Titles: `postgres: <user> <database> <host>(<port>) <state>` for a
    backend, `postgres: autovacuum worker <database>` or `postgres: walwriter` and the like."""
    if not title.startswith("postgres: "):
        return None
    words = title.removeprefix("postgres: ").split()
    if pid in bench_pids:
        return POSTGRES_BENCH
    if len(words) >= 3 and (words[2].endswith(")") or words[2] == "[local]"):
        return POSTGRES if words[1].startswith(namespace) else POSTGRES_OTHERS
    if words[:2] == ["autovacuum", "worker"] and len(words) >= 3:
        return POSTGRES if words[2].startswith(namespace) else POSTGRES_OTHERS
    return POSTGRES_SERVER


def window(start: Mark, end: Mark, first_seen: dict[Key, float]) -> dict[str, float]:
    """CPU seconds per group between two marks."""
    totals: dict[str, float] = defaultdict(float)
    for key, reading in end.readings.items():
        if key in start.readings:
            base = start.readings[key].seconds
        elif reading.born >= start.at - 0.05:
            base = 0.0  # born inside the window: all its CPU is the window's
        else:
            base = first_seen[key]  # alive before but first seen since (e.g. a backend just identified)
        totals[reading.group] += reading.seconds - base
    return dict(totals)


def idle_rates(idle: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores each group uses doing nothing."""
    return {group: used / seconds for group, used in idle.items()}


@dataclass
class Sampler:
    """Samples the processes every `interval` seconds in a thread of its own. `roots` names the
    processes to follow (group -> pid, asked again at every sample: replicas and relay stages come
    and go); `kafka_pid` and `postgres_pid` are the servers' (None when not on this machine)."""

    roots: Callable[[], dict[str, int]]
    namespace: str
    kafka_pid: int | None
    postgres_pid: int | None
    interval: float = 0.5
    bench_pids: set[int] = field(default_factory=set)  # the benchmark's own PostgreSQL backends
    readings: dict[Key, Reading] = field(default_factory=dict)
    first_seen: dict[Key, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)  # group -> the most its processes held at once

    def __post_init__(self) -> None:
        self._guard, self._halt = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-sampler")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()

    def _run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def mark(self) -> Mark:
        self.sample()
        with self._guard:
            return Mark(time.time(), dict(self.readings), machine_busy(), all_processes_cpu(), machine_steal())

    def sample(self) -> None:
        found: dict[Key, Reading] = {}
        for group, pid in self.roots().items():
            self._tree(pid, group, found)
        if self.kafka_pid:
            self._tree(self.kafka_pid, KAFKA, found)
        if self.postgres_pid:
            self._postgres(found)
        held: dict[str, int] = defaultdict(int)
        with self._guard:
            for key, reading in found.items():
                self.first_seen.setdefault(key, reading.seconds)
                self.readings[key] = reading
                held[reading.group] += reading.rss
            for group, rss in held.items():
                self.peak_rss[group] = max(rss, self.peak_rss.get(group, 0))

    def _tree(self, pid: int, group: str, found: dict[Key, Reading]) -> None:
        try:
            root = psutil.Process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for process in members:
            _read(process, group, found)

    def _postgres(self, found: dict[Key, Reading]) -> None:
        try:
            postmaster = psutil.Process(self.postgres_pid)
            children = postmaster.children()
        except psutil.Error:
            return
        _read(postmaster, POSTGRES_SERVER, found)
        for child in children:
            try:
                group = postgres_group(" ".join(child.cmdline()), self.namespace, self.bench_pids, child.pid)
            except psutil.Error:
                continue
            if group is not None:
                _read(child, group, found)


def _read(process: psutil.Process, group: str, found: dict[Key, Reading]) -> None:
    try:
        with process.oneshot():
            times, born, rss = process.cpu_times(), process.create_time(), process.memory_info().rss
    except psutil.Error:
        return
    found[(process.pid, born)] = Reading(group, times.user + times.system, born, rss)


def machine_busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0) - getattr(times, "guest", 0.0)


def machine_steal() -> float:
    return getattr(psutil.cpu_times(), "steal", 0.0)


def all_processes_cpu() -> float:
    """Every process's CPU, its reaped children's included (so what ended inside a window is not lost
    when its parent lives on)."""
    total = 0.0
    for process in psutil.process_iter():
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (the broker, the database), if it runs here."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            return connection.pid
    return None

"""The short fault-injection run (`rcm chaos --short`), on a Kafka and a PostgreSQL of its own so
that stopping them touches no one else: each service killed, the broker killed, PostgreSQL stopped
for 20 s, hostile and re-sent 835s, poison records; every invariant must hold with no replay by hand."""

import shutil

import pytest

from rcmctl.chaos.run import SHORT, run
from rcmctl.chaos.stack import ChaosStack
from rcmctl.processes import SERVICES
from rcmctl.stack import DEFAULT_RUN_DIR
from tests.kit import free_ports

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(1200)  # its own waits (ready, settled: 300 s each) end it first; the suite's 600 s could cut it
def test_the_short_chaos_run_keeps_every_invariant():
    base = free_ports(3)  # the broker and its controller, then PostgreSQL
    # Under the project's .run: PostgreSQL runs as an unprivileged user that must reach its folder.
    run_dir = DEFAULT_RUN_DIR / f"chaos-ci-{base}"
    chaos = ChaosStack(run_dir, kafka_port=base, pg_port=base + 2, brokers=1)
    try:
        report = run(SHORT, chaos, print, run_dir / "chaos-report.json")
    except BaseException:  # pytest's timeout too: the logs are the only witness, and go with the folder
        print(chaos.last_words())
        raise
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
    assert report.ok, failed
    targets = [f.target for f in report.faults]
    assert targets[: len(SERVICES)] == list(SERVICES)
    assert "the broker" in targets and "PostgreSQL 20 s" in targets
    assert report.pauses, "the consumers paused through the PostgreSQL outage"
    print(report.figures())

"""The benchmark's accounting: CPU windows per process group, PostgreSQL processes told apart by their
titles, idle rates taken off, lag, and the servers' counters turned into figures per encounter."""

import pytest

from rcmctl.bench import cpu
from rcmctl.bench.probes import PgSnapshot, lag, records_by_topic, statements_delta, transactions_delta, writes_delta
from rcmctl.bench.results import cpu_per_encounter, idle_summary


@pytest.mark.parametrize(
    ("title", "group"),
    [
        ("postgres: rcm bench1_claims 127.0.0.1(50312) idle", cpu.POSTGRES),
        ("postgres: rcm bench1_claims 127.0.0.1(50312) INSERT", cpu.POSTGRES),
        ("postgres: rcm t9a_claims 127.0.0.1(50999) idle in transaction", cpu.POSTGRES_OTHERS),
        ("postgres: rcm bench1_coding [local] idle", cpu.POSTGRES),
        ("postgres: autovacuum worker bench1_ar_followup", cpu.POSTGRES),
        ("postgres: autovacuum worker t9a_payments", cpu.POSTGRES_OTHERS),
        ("postgres: walwriter", cpu.POSTGRES_SERVER),
        ("postgres: io worker 2", cpu.POSTGRES_SERVER),
        ("postgres: checkpointer", cpu.POSTGRES_SERVER),
        ("/opt/pg/bin/postgres -D /data", None),  # just forked: no title of its own yet
    ],
)
def test_postgres_processes_are_told_apart_by_their_titles(title, group):
    assert cpu.postgres_group(title, "bench1_", bench_pids=set(), pid=7) == group


def test_the_benchmarks_own_backends_are_its_own():
    title = "postgres: rcm bench1_claims 127.0.0.1(50312) idle"
    assert cpu.postgres_group(title, "bench1_", bench_pids={7}, pid=7) == cpu.POSTGRES_BENCH


def _mark(at: float, **readings: tuple[str, float, float]) -> cpu.Mark:
    return cpu.Mark(
        at,
        {(int(pid[1:]), born): cpu.Reading(group, used, born) for pid, (group, used, born) in readings.items()},
        0,
        0,
    )


def test_a_window_counts_what_each_process_used_inside_it():
    start = _mark(100.0, p1=("claims", 5.0, 10.0), p2=("kafka", 50.0, 1.0), p3=("coding", 2.0, 20.0))
    end = _mark(
        110.0,
        p1=("claims", 8.5, 10.0),  # alive throughout: the difference
        p2=("kafka", 51.0, 1.0),
        p3=("coding", 2.5, 20.0),  # ended inside: what it had used when last seen
        p4=("claims", 0.75, 104.0),  # born inside: all of it
        p5=("postgres", 3.0, 50.0),  # alive before, first seen inside (at 2.0 s)
    )
    first_seen = {(5, 50.0): 2.0}
    assert cpu.window(start, end, first_seen) == {"claims": 4.25, "kafka": 1.0, "coding": 0.5, "postgres": 1.0}


def test_a_pid_used_again_is_another_process():
    start = _mark(100.0, p1=("claims", 5.0, 10.0))
    ended, again = cpu.Reading("claims", 5.0, 10.0), cpu.Reading("coding", 0.25, 105.0)  # pid 1 again at 105
    end = cpu.Mark(110.0, {(1, 10.0): ended, (1, 105.0): again}, 0, 0)
    assert cpu.window(start, end, {}) == {"claims": 0.0, "coding": 0.25}


def test_cpu_per_encounter_takes_each_groups_idle_rate_off_and_leaves_out_what_is_not_the_runs():
    used = {"claims": 3.0, "kafka": 2.0, cpu.POSTGRES_OTHERS: 9.0, cpu.POSTGRES_BENCH: 1.0}
    idle = {"claims": 0.05, "kafka": 0.1}
    per = cpu_per_encounter(used, idle, seconds=10.0, encounters=1000)
    assert per == {"claims": 2.5, "kafka": 1.0, "total": 3.5}


def test_idle_summary_separates_the_platforms_processes_from_the_servers():
    summary = idle_summary(
        {"claims": 0.02, "claims.2": 0.01, "kafka": 0.05, cpu.POSTGRES: 0.01, cpu.POSTGRES_OTHERS: 1}
    )
    assert (summary["processes"], summary["servers"], summary["total"]) == (0.03, 0.06, 0.09)
    assert cpu.POSTGRES_OTHERS not in summary["by_group"]


def test_lag_is_what_each_group_has_not_committed():
    ends = {("ns_a", 0): 10, ("ns_a", 1): 5, ("ns_b", 0): 7}
    committed = {"g1": {("ns_a", 0): 10, ("ns_a", 1): 3}, "g2": {}}
    groups = {"g1": "ns_a", "g2": "ns_b", "g3": "ns_a"}
    assert lag(groups, committed, ends) == {"g1": 2, "g2": 7, "g3": 15}


def test_records_by_topic_are_the_end_offsets_growth():
    before = {("a", 0): 10, ("a", 1): 5}
    after = {("a", 0): 12, ("a", 1): 9, ("b", 0): 3}
    assert records_by_topic(before, after) == {"a": 6, "b": 3}


SERVICES = {"claims": "ns_claims", "coding": "ns_coding"}


def _snapshot(statements, tables, transactions, probes) -> PgSnapshot:
    return PgSnapshot(statements, tables, transactions, probes)


def test_row_writes_per_encounter_by_service_and_table():
    before = _snapshot(None, {("ns_claims", "claim"): 100, ("ns_coding", "outbox"): 40, ("other", "x"): 5}, {}, {})
    after = _snapshot(None, {("ns_claims", "claim"): 300, ("ns_coding", "outbox"): 240, ("other", "x"): 999}, {}, {})
    writes = writes_delta(before, after, SERVICES, encounters=100)
    assert writes["per_encounter"] == {"claims": 2.0, "coding": 2.0, "total": 4.0}
    assert writes["by_table"] == {"claims.claim": 2.0, "coding.outbox": 2.0}


def test_transactions_per_encounter_leave_out_the_benchmarks_probes():
    before = _snapshot(None, {}, {"ns_claims": 1000, "ns_coding": 10}, {"ns_claims": 3})
    after = _snapshot(None, {}, {"ns_claims": 1213, "ns_coding": 60}, {"ns_claims": 16})
    assert transactions_delta(before, after, SERVICES, encounters=100) == {"claims": 2.0, "coding": 0.5, "total": 2.5}


def test_statements_per_encounter_and_the_most_frequent_ones():
    select, insert = ("ns_claims", 1, True), ("ns_claims", 2, True)
    before = _snapshot({select: (10, 10, 1.0, "SELECT 1")}, {}, {}, {})
    after = _snapshot(
        {select: (310, 310, 4.0, "SELECT 1"), insert: (100, 5000, 50.0, "INSERT INTO claim ..."),
         ("ns_coding", 3, True): (50, 50, 1.0, "UPDATE x")},
        {}, {}, {},
    )  # fmt: skip
    statements = statements_delta(before, after, SERVICES, encounters=100)
    assert statements["per_encounter"] == {"claims": 4.0, "coding": 0.5, "total": 4.5}
    assert [s["query"] for s in statements["top"]["claims"]] == ["SELECT 1", "INSERT INTO claim ..."]
    assert statements["top"]["claims"][1]["rows_per_call"] == 50.0


def test_no_statement_figures_without_pg_stat_statements():
    assert statements_delta(_snapshot(None, {}, {}, {}), _snapshot(None, {}, {}, {}), SERVICES, 10) is None

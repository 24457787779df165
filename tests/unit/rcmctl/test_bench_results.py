"""Benchmark results: latencies from the records' own times, Kafka figures per encounter, options
checked, runs compared, and the README's table written from a result file."""

import json
from types import SimpleNamespace

import pytest

from rcmctl.bench import results
from rcmctl.bench.pipeline import Traffic, kafka_figures, parse_pairs, parse_replicas

NS = "b1_"


def _record(topic: str, at: float, key: bytes, value: dict | bytes, source: str, headers=()) -> SimpleNamespace:
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    headers = [("ce_source", source.encode()), *headers]
    return SimpleNamespace(topic=NS + topic, timestamp=int(at * 1000), key=key, value=body, headers=headers)


def _traffic() -> Traffic:
    traffic = Traffic(NS)
    for n, at in enumerate((100.0, 100.5, 101.0)):
        traffic.add(_record("encounter.documented", at, f"E{n}".encode(), {"x": n}, "/ehr/sample"))
    claim = {"claim_id": "C1", "encounter_ids": ["E0", "E1"], "encounter_id": "E0"}
    traffic.add(_record("claim.submitted", 103.0, b"C1", claim, "/openrcm/claims"))
    claim = {"claim_id": "C2", "encounter_ids": [], "encounter_id": "E2"}
    traffic.add(_record("claim.submitted", 104.0, b"C2", claim, "/openrcm/claims"))
    traffic.add(_record("payment.posted", 106.0, b"C1", {"claim_id": "C1"}, "/openrcm/payments"))
    traffic.add(_record("payment.posted", 107.0, b"C1", {"claim_id": "C1"}, "/openrcm/payments"))  # a repeat
    return traffic


def test_latencies_run_from_each_encounters_publication_to_its_claim_and_first_payment():
    latency = _traffic().latencies()
    assert latency["claim_submitted"]["n"] == 3 and latency["claim_submitted"]["max"] == 3.0
    assert latency["claim_submitted"]["p50"] == 3.0  # 3.0, 2.5 and 3.0 s
    assert latency["payment_posted"]["n"] == 2  # C2 was never paid
    assert latency["payment_posted"]["max"] == 6.0 and latency["payment_posted"]["p50"] == 5.75


def test_traffic_counts_records_by_producer_and_keeps_samples_to_replay():
    traffic = _traffic()
    assert traffic.produced["payment.posted"] == {"payments": 2}
    assert traffic.produced["encounter.documented"] == {"ehr": 3}
    assert traffic.samples["claim.submitted"]["claims"][0][0] == b"C1"
    assert traffic.last_posted() == 107.0


def test_relayed_records_measure_latency_from_the_origin_they_carry():
    traffic = Traffic(NS + "relay.")
    origin = [("bench-origin", b"100000")]
    traffic.add(_record("relay.claim.submitted", 100.25, b"C1", b"{}", "/openrcm/claims", origin))
    traffic.add(_record("relay.payment.posted", 100.5, b"C1", b"{}", "/openrcm/payments", origin))
    latency = traffic.latencies()
    assert latency["claim_submitted"]["p50"] == 0.25 and latency["payment_posted"]["p50"] == 0.5
    assert "bench-origin" not in dict(traffic.samples["claim.submitted"]["claims"][0][2])


def test_kafka_figures_count_every_record_and_each_group_that_reads_it():
    consumers = {"payments": ["claim.submitted"], "ar_followup": ["claim.submitted", "payment.posted"]}
    figures = kafka_figures(_traffic(), encounters=3, consumers=consumers)
    assert figures["records_per_encounter"]["total"] == round(7 / 3, 3)
    assert figures["deliveries_per_encounter"] == round((2 * 2 + 2 * 1) / 3, 3)  # documented: nobody here


def test_replicas_are_checked():
    assert parse_replicas(["claims=2", "ar_followup=3"]) == {"claims": 2, "ar_followup": 3}
    for bad in (["claim=2"], ["claims=0"], ["claims"], ["claims=two"]):
        with pytest.raises(ValueError):
            parse_replicas(bad)
    assert parse_pairs(["RCM_GROUP_ENCOUNTERS=false"], "--env") == {"RCM_GROUP_ENCOUNTERS": "false"}


def _result(rate: float, total_ms: float) -> dict:
    return {
        "schema": results.SCHEMA, "label": "t", "date": "2030-01-02", "note": "provisional",
        "options": {"encounters": 500, "patients": 50, "replicas": {}}, "machine": {"cpus": 2},
        "platform": {"burst": {"encounters_per_second": rate, "cpu_ms": {"claims": total_ms, "total": total_ms}}},
        "relay": {"burst": {"encounters_per_second": 900.0, "cpu_ms": {"total": 0.5}}},
        "headline": {"cpu_ratio": total_ms / 0.5},
    }  # fmt: skip


def test_compare_shows_both_runs_and_the_change():
    rows = {row[0]: row for row in results.compare(_result(100.0, 30.0), _result(150.0, 15.0))}
    assert rows["end to end, burst"][1:] == ("100 encounters/s", "150 encounters/s", "+50%")
    assert rows["CPU per encounter, every process"][1:] == ("30.0 ms", "15.0 ms", "-50%")
    assert rows["PostgreSQL statements per encounter"][1:] == ("–", "–", "")


def test_the_readme_table_is_written_from_the_result_it_names(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "run.json").write_text(json.dumps(_result(123.0, 20.0)))
    readme = f"# X\n\n{results.BEGIN.format('docs/run.json')}\nold\n{results.END}\n\nafter\n"
    updated = results.update_readme(readme, root=tmp_path)
    assert "| end to end, burst | 123 encounters/s |" in updated
    assert "| CPU per encounter: claims | 20.0 ms |" in updated
    assert "old" not in updated and updated.endswith(f"{results.END}\n\nafter\n")
    assert results.update_readme(updated, root=tmp_path) == updated


def test_the_readme_can_be_pointed_at_another_run():
    readme = f"{results.BEGIN.format('docs/a.json')}\n{results.END}"
    assert results.point_readme_at(readme, "docs/b.json").startswith(results.BEGIN.format("docs/b.json"))


def test_a_file_of_another_kind_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(ValueError):
        results.load(path)


def test_a_run_without_the_relay_has_no_relay_figures():
    result = {**_result(100.0, 30.0), "relay": None}
    del result["headline"]
    rows = {what: value for what, value, _ in results.figures(result)}
    assert rows["end to end, burst"] == 100.0 and rows["pure-Kafka relay, same records and hops"] is None

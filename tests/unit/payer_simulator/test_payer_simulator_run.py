import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from payer_simulator.domain.contracts import DEFAULT_CONTRACTS, load_contracts
from payer_simulator.respond import remit
from payer_simulator.simulator import Simulator
from x12.samples import sample_interchange
from x12.validate import validate_x12
from x12.x277 import parse_277ca
from x12.x835 import parse_835
from x12.x837p import parse_837p, render_837p
from x12.x999 import parse_999

REPO = Path(__file__).resolve().parents[3]


def run_once(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "payer_simulator", "--root", str(root), "--once", *args],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def answer_once(root: Path, contracts: Path = DEFAULT_CONTRACTS) -> None:
    """What `--once` does for 837s, in this process (the CLI itself is run by the tests above and below)."""
    Simulator(root, load_contracts(contracts)).run(threading.Event(), poll=0, once=True)


def test_837_to_835_round_trip_balances_and_keeps_every_cent():
    interchange = parse_837p(render_837p(sample_interchange(120, 3, providers=2)))
    result = remit(interchange, load_contracts(), {}, 1, datetime(2026, 3, 3, 12, 0))

    charged: dict[str, Decimal] = {}
    for c in interchange.claims:
        charged[c.payer.id] = charged.get(c.payer.id, Decimal(0)) + c.total_charge
    paid = Decimal(0)
    for payer_id, text in result.by_payer.items():
        remittance = parse_835(text)  # raises unless every SVC, CLP and BPR balances
        claims = [cp for r in remittance.remittances for cp in r.claims]
        assert sum(cp.charge for cp in claims) == charged[payer_id]
        assert sum(r.payment.amount for r in remittance.remittances) == sum(cp.paid for cp in claims)
        assert len({s.control_number for cp in claims for s in cp.services}) == sum(len(cp.services) for cp in claims)
        paid += sum(cp.paid for cp in claims)
    assert paid == result.paid and result.claims == 120


def test_simulator_once_answers_good_files_and_parks_bad_ones(tmp_path, caplog):
    outbound = tmp_path / "outbound"
    outbound.mkdir()
    good = render_837p(sample_interchange(40, 2, control_number=11))
    (outbound / "batch-1.x12").write_text(good)
    (outbound / "broken.x12").write_text(render_837p(sample_interchange(2, control_number=12)).replace("SE*", "SE*9"))
    (outbound / "garbage.x12").write_text("this is not X12")
    (outbound / ".partial.x12").write_text("ISA")  # someone's temp file: left alone
    (outbound / "next.x12.tmp").write_text("ISA")

    done = run_once(tmp_path)

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in outbound.iterdir()) == [".partial.x12", "next.x12.tmp"]
    assert sorted(p.name for p in (tmp_path / "archive").iterdir()) == ["batch-1.x12"]
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        "broken.x12",
        "broken.x12.reason.txt",
        "garbage.x12",
        "garbage.x12.reason.txt",
    ]
    acks = tmp_path / "inbound" / "999"
    assert sorted(p.name for p in acks.iterdir()) == ["batch-1.999.x12", "broken.999.x12"]
    assert parse_999((acks / "batch-1.999.x12").read_text()).groups[0].accepted
    assert not parse_999((acks / "broken.999.x12").read_text()).groups[0].accepted
    remits = sorted((tmp_path / "inbound" / "835").iterdir())
    assert [p.name for p in remits] == ["batch-1.SIMAETNA.835.x12", "batch-1.SIMBC.835.x12", "batch-1.SIMMCR.835.x12"]
    for path in [*remits, *acks.iterdir()]:
        assert validate_x12(path.read_text()) == [], path.name
    paid_claims = [cp for p in remits for r in parse_835(p.read_text()).remittances for cp in r.claims]
    assert sorted(cp.patient_control_number for cp in paid_claims) == sorted(
        c.patient_control_number for c in parse_837p(good).claims
    )
    # logs name files and counts, never people
    for secret in ("SAMPLE", "ALEX", "M0000000", "1950"):
        assert secret not in done.stderr

    # the same interchange again: acknowledged, not paid twice
    (outbound / "batch-1-again.x12").write_text(good)
    with caplog.at_level(logging.INFO, logger="payer_simulator"):
        answer_once(tmp_path)
    assert "status=duplicate" in caplog.text
    assert (acks / "batch-1-again.999.x12").exists()
    assert len(list((tmp_path / "inbound" / "835").iterdir())) == 3


def test_a_claim_for_an_unknown_payer_is_returned_alone_and_the_others_are_paid(tmp_path):
    (tmp_path / "outbound").mkdir()
    text = render_837p(sample_interchange(3)).replace("PI*SIMAETNA~", "PI*NOSUCH~")  # claim 1 of 3
    (tmp_path / "outbound" / "x.x12").write_text(text)

    answer_once(tmp_path)
    [transaction] = parse_999((tmp_path / "inbound" / "999" / "x.999.x12").read_text()).groups[0].transactions
    assert transaction.accepted  # the file follows the guide: routing a claim is the clearinghouse's business
    [returned] = parse_277ca((tmp_path / "inbound" / "277" / "x.NOSUCH.277.x12").read_text()).claims
    assert (returned.patient_control_number, returned.category, returned.status_code) == ("PCN00000001", "A3", "116")
    paid = {c.patient_control_number for f in (tmp_path / "inbound" / "835").iterdir() for r in parse_835(f.read_text()).remittances for c in r.claims}  # fmt: skip
    assert paid == {"PCN00000000", "PCN00000002"}
    assert (tmp_path / "archive" / "x.x12").exists()


def test_deductibles_carry_over_between_files(tmp_path):
    contracts = json.loads(DEFAULT_CONTRACTS.read_text())
    contracts["payers"][0]["annual_deductible"] = "100.00"  # SIMBC
    (tmp_path / "contracts.json").write_text(json.dumps(contracts))
    (tmp_path / "outbound").mkdir()
    for name, control_number in (("a", 1), ("b", 2)):  # the same visit of the same member, twice
        text = render_837p(sample_interchange(1, lines=2, control_number=control_number))
        (tmp_path / "outbound" / f"{name}.x12").write_text(text)
        answer_once(tmp_path, tmp_path / "contracts.json")

    def owed(name):
        [r] = parse_835((tmp_path / "inbound" / "835" / f"{name}.SIMBC.835.x12").read_text()).remittances
        return [{f"{a.group}-{a.reason}": a.amount for a in s.adjustments} for s in r.claims[0].services]

    # 99213 takes the copay; 99214 (allowed 130) meets the whole deductible the first time only
    visit = {"CO-45": Decimal(35), "PR-3": Decimal(25)}
    assert owed("a") == [visit, {"CO-45": Decimal(50), "PR-1": Decimal(100), "PR-2": Decimal(6)}]
    assert owed("b") == [visit, {"CO-45": Decimal(50), "PR-2": Decimal(26)}]


def test_a_file_landing_wakes_the_payer_and_sigterm_stops_it(tmp_path):
    # A look every 60 s only: the 837 is answered within the deadline because its landing woke the desk.
    process = subprocess.Popen(
        [sys.executable, "-m", "payer_simulator", "--root", str(tmp_path), "--poll", "60"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "outbound").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the first look is done and the watch is in place
        (tmp_path / "outbound" / ".live.x12").write_text(render_837p(sample_interchange(2)))
        (tmp_path / "outbound" / ".live.x12").rename(tmp_path / "outbound" / "live.x12")
        while not (tmp_path / "archive" / "live.x12").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "archive" / "live.x12").exists()
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0  # not after the 60 s look
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_bug_while_answering_parks_the_file_and_the_loop_goes_on(tmp_path, monkeypatch):
    from payer_simulator import simulator

    def broken_remit(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(simulator, "answer", broken_remit)
    sim = simulator.Simulator(tmp_path, load_contracts())
    for name in ("one.x12", "two.x12"):
        (tmp_path / "outbound" / name).write_text(render_837p(sample_interchange(1)))

    sim.run(threading.Event(), poll=0, once=True)

    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        "one.x12",
        "one.x12.reason.txt",
        "two.x12",
        "two.x12.reason.txt",
    ]
    assert (tmp_path / "rejected" / "one.x12.reason.txt").read_text() == "internal error: RuntimeError\n"


def test_the_collector_is_paused_while_a_file_is_answered_and_back_after_a_failure(tmp_path, monkeypatch):
    import gc

    from payer_simulator import simulator

    seen = []

    def broken_remit(*args, **kwargs):
        seen.append(gc.isenabled())
        raise RuntimeError("boom")

    monkeypatch.setattr(simulator, "answer", broken_remit)
    sim = simulator.Simulator(tmp_path, load_contracts())
    (tmp_path / "outbound" / "one.x12").write_text(render_837p(sample_interchange(1)))

    assert gc.isenabled()
    sim.run(threading.Event(), poll=0, once=True)

    assert seen == [False]
    assert gc.isenabled()

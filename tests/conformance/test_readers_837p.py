"""The 837P side against the conformance corpus (manifest.json, figures from the independent oracle).

- every valid 837P is read without an issue, every claim held by the models, with the manifest's figures;
  it is acknowledged by our 999 (accepted), adjudicated by the payer simulator's domain, answered with
  a 277CA per payer (every claim accepted or rejected once, charges reconciling) and 835s (balanced,
  paying exactly the accepted claims), each validated by pyx12; and it is written back whole (pyx12
  valid but for the false errors the manifest records, read again to the same claims);
- every broken 837P is refused at the manifest's segment, position, loop, element and codes, and our
  999 says so (IK3/IK4/IK5/AK9, pyx12 valid); a balancing defect (WEDI SNIP 3) is not a refusal of
  the file: that claim is rejected on the 277CA, with the reason at CLM02."""

import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from payer_simulator.domain.contracts import Contract, load_contracts
from payer_simulator.respond import answer
from tests.conformance import pyx12_check
from x12.claim import Claim, Kept
from x12.errors import BALANCING
from x12.validate import validate_x12
from x12.x277 import REJECTED_CATEGORIES, parse_277ca
from x12.x835 import parse_835
from x12.x837p import Reading837, read_837p, render_837p
from x12.x999 import acknowledge, parse_999

HERE = Path(__file__).resolve().parent
ENTRIES = [e for e in json.loads((HERE / "manifest.json").read_text())["files"] if e["transaction"] == "837p"]
VALID = [e for e in ENTRIES if e["valid"]]
BROKEN = [e for e in ENTRIES if not e["valid"]]
GUIDE_BREAKS = [e for e in BROKEN if e["refusal"]["snip"] < 3]
BALANCING_BREAKS = [e for e in BROKEN if e["refusal"]["snip"] == 3]
NOW = datetime(2026, 3, 10, 8, 0)
CENT = Decimal("0.01")


def _ids(entries: list[dict]) -> list[str]:
    return [e["path"] for e in entries]


def _text(entry: dict) -> str:
    return (HERE / entry["path"]).read_text()


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def counts(values: list[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def contracts_for(reading: Reading837) -> dict[str, Contract]:
    """The simulator's own terms (SIMBC's, no random denial) for every payer the file bills."""
    terms = load_contracts()["SIMBC"].model_copy(update={"random_denial_one_in": 0})
    return {
        c.summary.payer_id: terms.model_copy(
            update={"payer": terms.payer.model_copy(update={"id": c.summary.payer_id, "name": c.summary.payer_name})}
        )
        for c in reading.claims
    }


# ---- what the reader returns, in the manifest's terms ---------------------------------------------


def _kept(claim: Claim) -> list[Kept]:
    lines = [k for line in claim.lines for k in line.kept]
    others = [k for o in claim.other_payers for k in (*o.kept, *(k for answer in o.lines for k in answer.kept))]
    return [*claim.kept, *lines, *others]


def _kept_ids(kept: list[Kept]) -> list[str]:
    return [segment[0] for k in kept for segment in k.segments]


def _diagnosis_qualifiers(claim: Claim, kept: list[Kept]) -> list[str]:
    others = ["ABF" if claim.diagnosis_qualifier == "ABK" else "BF"] * (len(claim.diagnoses) - 1)
    hi = [s for k in kept for s in k.segments if s[0] == "HI"]
    return [claim.diagnosis_qualifier, *others, *(e.split(":")[0] for s in hi for e in s[1:] if e)]


def figures_837p(reading: Reading837) -> dict:
    claims = [c.claim for c in reading.claims]
    assert all(claim is not None for claim in claims), "every claim of a valid file is held by the models"
    held = [c for c in claims if c is not None]
    providers = [p for s in reading.sets for p in s.providers]
    roots = [s.raw.root for s in reading.sets]
    lines = [line for c in held for line in c.lines]
    kept = [k for c in held for k in _kept(c)] + [
        k for p in providers if p.billing_provider for k in p.billing_provider.kept
    ]
    situational = Counter(i for i in _kept_ids(kept) if i in {"PWK", "PRV", "CR1", "CR2", "LIN", "SVD", "HCP"})
    situational["PWK"] += sum(len(c.attachments) + sum(len(line.attachments) for line in c.lines) for c in held)
    situational["PRV"] += sum(1 for c in held if c.rendering_provider and c.rendering_provider.taxonomy_code)
    situational["PRV"] += sum(1 for p in providers if p.billing_provider and p.billing_provider.taxonomy_code)
    situational["LIN"] += sum(1 for line in lines if line.drug)
    situational["SVD"] += sum(len(o.lines) for c in held for o in c.other_payers)
    return {
        "claims": len(reading.claims),
        "claim_ids": [c.summary.patient_control_number for c in reading.claims],
        "charge_total": money(sum((c.summary.total_charge for c in reading.claims), Decimal(0))),
        "service_lines": len(lines),
        "service_charge_total": money(sum((line.charge for line in lines), Decimal(0))),
        "billing_providers": len(providers),
        "subscribers": sum(1 for root in roots for loop in root.walk() if loop.id == "2000B"),
        "dependents": sum(1 for root in roots for loop in root.walk() if loop.id == "2000C"),
        "claim_filing_indicators": [c.payer.claim_filing_indicator or "" for c in held],
        "other_subscribers": sum(len(c.other_payers) for c in held),
        "diagnosis_qualifiers": counts([q for c in held for q in _diagnosis_qualifiers(c, _kept(c))]),
        "unit_bases": counts([line.unit_basis for line in lines]),
        "situational": {k: v for k, v in sorted(situational.items()) if v},
    }


ENVELOPE_FIGURES = ("transaction", "interchanges", "groups", "transaction_sets", "segments", "ta1")


@pytest.mark.parametrize("entry", VALID, ids=_ids(VALID))
def test_a_valid_837p_is_read_with_the_manifests_figures(entry):
    reading = read_837p(_text(entry))

    assert reading.issues == ()
    expected = {k: v for k, v in entry["figures"].items() if k not in ENVELOPE_FIGURES}
    assert figures_837p(reading) == expected


@pytest.mark.parametrize("entry", VALID, ids=_ids(VALID))
def test_a_valid_837p_is_acknowledged_adjudicated_and_answered_in_valid_x12(entry):
    reading = read_837p(_text(entry))
    figures = entry["figures"]

    ack = acknowledge(reading.interchange, [s.raw for s in reading.sets], created=NOW)
    assert validate_x12(ack) == []
    [group] = parse_999(ack).groups
    assert group.status == "A" and group.counts == (figures["transaction_sets"],) * 3

    result = answer(reading, contracts_for(reading), {}, 1, NOW)
    statuses = []
    for text in result.acknowledgments.values():
        assert validate_x12(text) == []
        statuses += parse_277ca(text).claims
    assert sorted(s.patient_control_number for s in statuses) == sorted(figures["claim_ids"])
    assert money(sum((s.total_charge for s in statuses), Decimal(0))) == figures["charge_total"]
    rejected = {s.patient_control_number for s in statuses if s.category in REJECTED_CATEGORIES}
    assert rejected == {c.summary.patient_control_number for c in reading.claims if not c.accepted}

    paid = []
    for text in result.by_payer.values():
        assert validate_x12(text) == []
        paid += [c for r in parse_835(text).remittances for c in r.claims]  # parse_835 balances every amount
    accepted = [c.claim for c in reading.claims if c.accepted and c.claim is not None]
    assert sorted(c.patient_control_number for c in paid) == sorted(c.patient_control_number for c in accepted)
    assert sum((c.charge for c in paid), Decimal(0)) == sum((c.total_charge for c in accepted), Decimal(0))
    assert sum((c.paid for c in paid), Decimal(0)) == result.paid


@pytest.mark.parametrize("entry", VALID, ids=_ids(VALID))
def test_a_valid_837p_is_written_back_whole(entry):
    interchange = read_837p(_text(entry)).interchange837(only_accepted=False)
    assert interchange is not None and len(interchange.claims) == entry["figures"]["claims"]

    written = render_837p(interchange)

    _, errors = pyx12_check.validate(written)
    declared = entry["pyx12"].get("errors", [])  # pyx12's false errors on this shape, at the same segments
    assert sorted((e.segment, e.element, e.code) for e in errors) == sorted((s, el, c) for s, _, el, c in declared)
    assert read_837p(written).interchange837(only_accepted=False) == interchange


@pytest.mark.parametrize("entry", GUIDE_BREAKS, ids=_ids(GUIDE_BREAKS))
def test_a_broken_837p_is_refused_where_the_manifest_says_and_our_999_names_it(entry):
    refusal, reading = entry["refusal"], read_837p(_text(entry))

    [refused] = [s for s in reading.sets if not s.accepted]
    issue = refused.issues[0]
    assert (issue.segment_id, issue.position, issue.loop) == (refusal["segment"], refusal["position"], refusal["loop"])
    assert (issue.element, issue.component) == (refusal["element"], refusal["component"])
    assert (issue.ik3, issue.ik4, issue.ik5) == (refusal["ik3"], refusal["ik4"], refusal["ik5"])
    assert issue.reason and reading.claims == ()

    ack = acknowledge(reading.interchange, [s.raw for s in reading.sets], created=NOW)
    assert validate_x12(ack) == []
    [group] = parse_999(ack).groups
    [answered] = group.transactions
    assert group.status == "R" and answered.status == "R" and refusal["ik5"] in answered.set_errors
    if refusal["ik3"] is not None:
        ik3 = answered.errors[0]
        assert (ik3.segment_id, ik3.position, ik3.code) == (refusal["segment"], refusal["position"], refusal["ik3"])
        assert ik3.loop_id is None  # IK303 names LS/LE loops only (as pyx12 writes it): the 837P has none
        if refusal["ik4"] is not None:
            ik4 = ik3.elements[0]
            assert (ik4.position, ik4.component, ik4.code) == (refusal["element"], refusal["component"], refusal["ik4"])


def test_a_bad_code_is_copied_into_the_999_and_patient_data_never_is():
    pwk = next(e for e in GUIDE_BREAKS if e["refusal"]["segment"] == "PWK")
    birth = next(e for e in GUIDE_BREAKS if e["refusal"]["segment"] == "DMG")

    def ack_of(entry: dict) -> str:
        reading = read_837p(_text(entry))
        return acknowledge(reading.interchange, [s.raw for s in reading.sets], created=NOW)

    assert "IK4*2**7*AD~" in ack_of(pwk)
    assert "IK4*2**8~" in ack_of(birth) and "19961307" not in ack_of(birth)


@pytest.mark.parametrize("entry", BALANCING_BREAKS, ids=_ids(BALANCING_BREAKS))
def test_an_unbalanced_claim_is_rejected_alone_on_the_277ca_not_in_the_999(entry):
    refusal, reading = entry["refusal"], read_837p(_text(entry))

    assert reading.issues == ()
    [claim] = reading.claims
    [finding] = [f for f in claim.findings if f.issue.level == BALANCING]
    issue = finding.issue
    assert (issue.segment_id, issue.position, issue.loop, issue.element) == (
        refusal["segment"],
        refusal["position"],
        refusal["loop"],
        refusal["element"],
    )
    assert finding.status == "400" and "79.04" in issue.reason and "80.04" in issue.reason

    [group] = parse_999(acknowledge(reading.interchange, [s.raw for s in reading.sets], created=NOW)).groups
    assert group.status == "A"
    result = answer(reading, contracts_for(reading), {}, 1, NOW)
    [status] = [s for text in result.acknowledgments.values() for s in parse_277ca(text).claims]
    assert status.category in REJECTED_CATEGORIES and result.by_payer == {}


def test_the_corpus_holds_every_kind_of_837p_refusal_the_runner_checks():
    assert len(VALID) >= 20 and len(GUIDE_BREAKS) >= 14 and len(BALANCING_BREAKS) == 1
    assert {e["refusal"]["ik3"] for e in GUIDE_BREAKS} >= {"1", "3", "4", "5", "7", "8", None}

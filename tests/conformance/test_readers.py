"""Our X12 readers against the conformance corpus (manifest.json, figures from the independent oracle).

- every valid file of a transaction with a reader here is read without a refusal and reproduces the
  manifest's figures: the envelope's counts from x12.reading, the transaction's from what its reader
  returns (claims, amounts, statuses, members, acknowledgments...);
- every valid 835 is also posted through the payments domain (plan -> postings): one payment.posted
  per claim payment, none dropped or merged, amounts reconciling to the raw segments;
- every broken file is refused (X12Error) with an issue at the manifest's segment and position, and
  its loop, element and component where the manifest gives them.

The 837P goes further, through the payer simulator (test_readers_837p.py). A new transaction's reader
plugs in as an entry of READERS: `read` (text -> what the reader returns, raising X12Error) and
`figures` (that result and the read sets -> the manifest's figure names)."""

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.payments.domain.posting import KnownClaim, plan_posting
from x12.errors import X12Error
from x12.guides import x212, x214, x231, x279
from x12.guides.x835 import GUIDE as GUIDE_835
from x12.reading import Guide, Loop, Segment, read_sets
from x12.remittance import Interchange835
from x12.x270 import read_270
from x12.x271 import read_271
from x12.x276 import read_276
from x12.x277 import REJECTED_CATEGORIES, parse_277ca
from x12.x277_status import read_277_status
from x12.x835 import parse_835
from x12.x999 import parse_999

HERE = Path(__file__).resolve().parent
MANIFEST = json.loads((HERE / "manifest.json").read_text())["files"]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Reader:
    guide: Guide
    read: Callable[[str], Any]  # our reader: raises X12Error on a file it refuses
    figures: Callable[[Any, list[Loop]], dict[str, Any]]  # its result (and the walked sets) -> figures


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def counts(values: list[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def loops(roots: list[Loop], loop_id: str) -> list[Loop]:
    return [loop for root in roots for loop in root.walk() if loop.id == loop_id]


# ---- what each reader's result says, in the manifest's terms -------------------------------------


def figures_835(interchange: Interchange835, roots: list[Loop]) -> dict[str, Any]:
    remittances = interchange.remittances
    claims = [c for r in remittances for c in r.claims]
    lines = [s for c in claims for s in c.services]
    adjustments = [a for c in claims for a in (*c.adjustments, *(a for s in c.services for a in s.adjustments))]
    plb = [p for r in remittances for p in r.provider_adjustments]
    parties = Counter(p.role for c in claims for p in c.parties)
    situational = {
        "TS3": sum(1 for r in remittances for s in r.provider_summaries if s.summary),
        "TS2": sum(1 for r in remittances for s in r.provider_summaries if s.supplemental),
        "MIA": sum(1 for c in claims if c.inpatient is not None),
        "MOA": sum(1 for c in claims if c.outpatient is not None),
        "QTY": sum(len(c.quantities) + sum(len(s.quantities) for s in c.services) for c in claims),
        "LQ": sum(len(s.remark_codes) + len(s.pharmacy_codes) for s in lines),
        "REF*2U": sum(1 for r in remittances if r.payer.id),
        "REF*EV": sum(1 for r in remittances if r.receiver_id),
        "DTM*405": sum(1 for r in remittances if r.production_date),
        "NM1*82": parties["82"],
        "NM1*TT": parties["TT"],
        "PLB": len(_segments(roots, "PLB")),  # the model keeps the adjustments; the walk, the segments
    }
    return {
        "payments": [money(r.payment.amount) for r in remittances],
        "payment_methods": [r.payment.method for r in remittances],
        "payment_total": money(sum((r.payment.amount for r in remittances), Decimal(0))),
        "claims": len(claims),
        "distinct_clp01": len({c.patient_control_number for c in claims}),
        "claim_status": counts([c.status for c in claims]),
        "charge_total": money(sum((c.charge for c in claims), Decimal(0))),
        "paid_total": money(sum((c.paid for c in claims), Decimal(0))),
        "patient_responsibility_total": money(sum((c.patient_responsibility for c in claims), Decimal(0))),
        "adjustment_total": money(sum((a.amount for a in adjustments), Decimal(0))),
        "service_lines": len(lines),
        "service_charge_total": money(sum((s.charge for s in lines), Decimal(0))),
        "service_paid_total": money(sum((s.paid for s in lines), Decimal(0))),
        "service_qualifiers": counts([s.procedure_qualifier for s in lines]),
        "provider_adjustment_total": money(sum((p.amount for p in plb), Decimal(0))),
        "provider_adjustment_reasons": [p.reason for p in plb],
        "payee_id_qualifiers": [r.payee.id_qualifier for r in remittances],
        "payer_contacts": [s[1] for s in _segments(roots, "PER")],
        "situational": {k: v for k, v in sorted(situational.items()) if v},
    }


def _segments(roots: list[Loop], segment_id: str) -> list[Segment]:
    return [s for root in roots for loop in root.walk() for s in loop.segments if s.id == segment_id]


def _levels(roots: list[Loop]) -> dict[str, int]:
    return {
        "information_sources": len(loops(roots, "2000A")),
        "information_receivers": len(loops(roots, "2000B")),
        "subscribers": len(loops(roots, "2000C")),
        "dependents": len(loops(roots, "2000D")),
    }


def figures_270(read: tuple[Any, list[Any]], roots: list[Loop]) -> dict[str, Any]:
    _, requests = read
    asked = loops(roots, "2110C") + loops(roots, "2110D")  # one EQ each
    members = [m for m in loops(roots, "2000C") + loops(roots, "2000D") if m.children(f"2110{m.id[-1]}")]
    assert len(requests) == len(members)  # one request per member asked about
    return {**_levels(roots), "inquiries": len(asked)}


def figures_271(answers: list[Any], roots: list[Loop]) -> dict[str, Any]:
    benefits = [b.opener[1] for b in loops(roots, "2110C") + loops(roots, "2110D")]
    rejections = [
        {"level": a.level, "reason": a.rejection_code, "action": a.rejection_action}
        for a in answers
        if a.rejection_code
    ]
    return {**_levels(roots), "inquiries": 0, "benefits": counts(benefits), "rejections": rejections}


def _hierarchy(roots: list[Loop]) -> dict[str, int]:
    return counts(
        [segment[3] for root in roots for loop in root.walk() for segment in loop.segments if segment.id == "HL"]
    )


def figures_276(read: tuple[Any, list[Any]], roots: list[Loop]) -> dict[str, Any]:
    _, requests = read
    charges = sum((r.charge for r in requests if r.charge is not None), Decimal(0))
    return {"hierarchy": _hierarchy(roots), "claims": len(requests), "claim_status": {}, "charge_total": money(charges)}


def figures_277(answers: list[Any], roots: list[Loop]) -> dict[str, Any]:
    return {
        "hierarchy": _hierarchy(roots),
        "claims": len(answers),
        "claim_status": counts([a.category for a in answers]),
        "charge_total": money(sum((a.charge for a in answers if a.charge is not None), Decimal(0))),
        "rejected": sum(1 for a in answers if a.category in REJECTED_CATEGORIES),
    }


def figures_277ca(acknowledgment: Any, roots: list[Loop]) -> dict[str, Any]:
    claims = acknowledgment.claims
    return {
        "hierarchy": _hierarchy(roots),
        "claims": len(claims),
        "claim_status": counts([c.category for c in claims]),
        "charge_total": money(sum((c.total_charge for c in claims), Decimal(0))),
        "rejected": sum(1 for c in claims if c.category in REJECTED_CATEGORIES),
    }


def figures_999(ack: Any, _: list[Loop]) -> dict[str, Any]:
    sets = [t for g in ack.groups for t in g.transactions]
    errors = [e for t in sets for e in t.errors]
    return {
        "interchange_acks": [a.code for a in ack.interchange_acks],
        "acknowledged_sets": len(sets),
        "set_statuses": [t.status for t in sets],
        "group_statuses": [g.status for g in ack.groups],
        "group_counts": [[str(n) for n in g.counts] for g in ack.groups],
        "segment_errors": [[e.segment_id, str(e.position), e.loop_id or "", e.code] for e in errors],
        "element_errors": [
            [f"{k.position}" + (f":{k.component}" if k.component else ""), k.code] for e in errors for k in e.elements
        ],
    }


READERS: dict[str, Reader] = {
    "835": Reader(GUIDE_835, parse_835, figures_835),
    "270": Reader(x279.INQUIRY, read_270, figures_270),
    "271": Reader(x279.RESPONSE, read_271, figures_271),
    "276": Reader(x212.REQUEST, read_276, figures_276),
    "277": Reader(x212.RESPONSE, read_277_status, figures_277),
    "277ca": Reader(x214.GUIDE, parse_277ca, figures_277ca),
    "999": Reader(x231.GUIDE, parse_999, figures_999),
}
VALID = [e for e in MANIFEST if e["valid"] and e["transaction"] in READERS]
BROKEN = [e for e in MANIFEST if not e["valid"] and e["transaction"] in READERS]
ENVELOPE_FIGURES = ("interchanges", "groups", "transaction_sets", "segments", "ta1")


def _ids(entries: list[dict]) -> list[str]:
    return [e["path"] for e in entries]


def _text(entry: dict) -> str:
    return (HERE / entry["path"]).read_text()


@pytest.mark.parametrize("entry", VALID, ids=_ids(VALID))
def test_a_valid_file_is_read_and_reproduces_the_manifests_figures(entry):
    reader, text = READERS[entry["transaction"]], _text(entry)
    result = reader.read(text)
    interchange, sets = read_sets(text, reader.guide, accept=("005010X231",))
    envelope = {
        "interchanges": 1,
        "groups": len(interchange.groups),
        "transaction_sets": len(sets),
        "segments": sum(len(s.raw.segments) for s in sets),
        "ta1": len(interchange.acks),
    }
    got = {**envelope, **reader.figures(result, [s.root for s in sets])}
    assert got == {k: v for k, v in entry["figures"].items() if k != "transaction"}


VALID_835 = [e for e in VALID if e["transaction"] == "835"]


@pytest.mark.parametrize("entry", VALID_835, ids=_ids(VALID_835))
def test_a_valid_835_is_posted_claim_by_claim_and_reconciles_to_its_segments(entry):
    interchange = parse_835(_text(entry))
    figures = entry["figures"]
    numbers = {c.patient_control_number for r in interchange.remittances for c in r.claims}
    claims = {
        n: KnownClaim(uuid.uuid5(uuid.NAMESPACE_OID, n), "PAYER", "PAYER", date(2024, 1, 1), frozenset())
        for n in numbers
    }
    plan = plan_posting(interchange, claims, datetime(2024, 3, 20, tzinfo=UTC))
    ids = [p.posting_id for p in plan.payments]
    assert len(ids) == len(set(ids)) == figures["claims"]  # nothing dropped, nothing merged
    events = [p.event for p in plan.postings(set(ids)).events]
    assert len(events) == figures["claims"]
    paid = sum((e.amounts.paid for e in events), Decimal(0))
    charge = sum((e.amounts.charge for e in events), Decimal(0))
    assert (money(paid), money(charge)) == (figures["paid_total"], figures["charge_total"])
    assert money(charge - paid) == figures["adjustment_total"]  # every CAS, claim and line, is accounted for
    assert money(paid - Decimal(figures["provider_adjustment_total"])) == figures["payment_total"]
    assert money(plan.total_paid) == figures["payment_total"]


@pytest.mark.parametrize("entry", BROKEN, ids=_ids(BROKEN))
def test_a_broken_file_is_refused_where_the_manifest_says(entry):
    refusal = entry["refusal"]
    with pytest.raises(X12Error) as refused:
        READERS[entry["transaction"]].read(_text(entry))
    issues = refused.value.issues
    here = [i for i in issues if (i.segment_id, i.position) == (refusal["segment"], refusal["position"])]
    assert here, f"refused with {[str(i) for i in issues]}, expected {refusal['segment']} at {refusal['position']}"
    issue = here[0]
    assert issue.loop == refusal["loop"], str(issue)
    if refusal["element"] is not None:
        assert (issue.element, issue.component) == (refusal["element"], refusal["component"]), str(issue)
    if refusal["snip"] < 3:  # a guide rule: the 999 codes a guide-following validator sends
        assert (issue.ik3, issue.ik4, issue.ik5) == (refusal["ik3"], refusal["ik4"], refusal["ik5"]), str(issue)
    else:
        assert issue.level == 3, str(issue)
    assert issue.reason and all(len(str(i)) < 300 for i in issues)


def test_every_transaction_of_the_corpus_but_the_837p_has_a_reader_here():
    kinds = {e["transaction"] for e in MANIFEST}
    assert kinds - set(READERS) == {"837p"}  # the 837P is read in test_readers_837p.py

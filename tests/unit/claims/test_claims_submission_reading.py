"""The submission loop reads back what claims stored: the 837 claims of a batch validated from one JSON
array, claim.submitted validated from the claim's row. Both must give exactly what building the models
one by one gave: the same 837P bytes, the same event bytes."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson

from rcmctl.bench.claims import inputs
from services.claims import db
from services.claims.built import STORED_CLAIMS
from services.claims.domain.assembly import Assembly, assemble, claim_id_for
from services.claims.domain.grouping import Bill
from services.claims.domain.practice import load_chargemaster, load_practice
from services.claims.submission import interchange_for, submitted_event
from shared.contracts.events import ClaimSubmittedV1, SubmittedLine
from shared.envelope import Event
from x12.claim import Claim
from x12.x837p import render_837p

NOW = datetime(2026, 3, 2, 16, 45, tzinfo=UTC)


def built_claims(count: int = 60) -> list[Claim]:
    chargemaster = load_chargemaster()
    pairs = inputs(count)
    coded, patient = pairs[0]
    odd = patient.model_copy(
        update={"patient": patient.patient.model_copy(update={"last_name": "Núñez-Øster", "first_name": " Zoë "})}
    )
    pairs.append((coded.model_copy(update={"encounter_id": "ODD-1"}), odd))
    claims = [assemble(c, p, chargemaster).claim for c, p in pairs]
    assert all(claims)
    return [claim for claim in claims if claim is not None]


def test_a_batch_read_from_its_stored_json_renders_the_same_837p_byte_for_byte():
    claims = built_claims()
    # as PostgreSQL returns jsonb as text: its own key order and spacing
    stored = [orjson.loads(claim.model_dump_json()) for claim in claims]
    as_postgres = [", ".join(f'"{k}": {orjson.dumps(v).decode()}' for k, v in sorted(d.items())) for d in stored]
    read = STORED_CLAIMS.validate_json(f"[{','.join('{' + text + '}' for text in as_postgres)}]")
    assert read == claims
    practice = load_practice()
    assert render_837p(interchange_for(practice, 9, read, NOW)) == render_837p(
        interchange_for(practice, 9, claims, NOW)
    )


def test_a_claim_row_stores_the_837_claim_and_its_lists_as_json_text():
    claim = built_claims(1)[0]
    coded = inputs(1)[0][0]
    bill = Bill(claim_id_for(coded.encounter_id), (coded,), Assembly(claim, "SIM BLUE PLAN", []), "corr-1", "key")
    row = db._claim_row(bill)
    assert orjson.loads(row["content"]) == claim.model_dump(mode="json")
    assert orjson.loads(row["encounter_ids"]) == [coded.encounter_id]
    assert orjson.loads(row["findings"]) == []


def line_by_line(row: dict, batch: db.RenderedBatch, now: datetime, event_id: uuid.UUID) -> Event[ClaimSubmittedV1]:
    """claim.submitted as it was built before: a SubmittedLine per line, then the event."""
    data = ClaimSubmittedV1(
        claim_id=row["claim_id"],
        patient_control_number=row["patient_control_number"],
        encounter_id=row["encounter_id"],
        encounter_ids=row["encounter_ids"] or [row["encounter_id"]],
        patient_id=row["patient_id"],
        payer_id=row["payer_id"],
        payer_name=row["payer_name"],
        date_of_service=row["date_of_service"],
        total_charge=row["total_charge"],
        lines=[
            SubmittedLine(
                line_number=line["line_number"],
                procedure_code=line["procedure_code"],
                modifiers=list(line["modifiers"]),
                units=int(Decimal(line["units"])),
                charge=line["charge"],
            )
            for line in row["lines"]
        ],
        interchange_control_number=batch.interchange_control_number,
        file_name=batch.file_name,
        submitted_at=now,
        kind=row["kind"],
        original_claim_id=row["original_claim_id"],
    )
    return Event(data, str(row["claim_id"]), "/openrcm/claims", row["correlation_id"], id=event_id, time=now)


def test_claim_submitted_from_a_row_is_the_event_built_line_by_line():
    batch = db.RenderedBatch(4, 17, "X-000000017.837p.x12", "ISA...", 2)
    for n, claim in enumerate(built_claims(30)):
        stored = orjson.loads(claim.model_dump_json())
        row = {
            "claim_id": uuid.uuid4(),
            "patient_control_number": claim.patient_control_number,
            "encounter_id": f"E-{n}",
            "encounter_ids": [] if n % 3 == 0 else [f"E-{n}", f"E-{n}-2"],
            "patient_id": uuid.uuid4(),
            "payer_id": claim.payer.id,
            "payer_name": claim.payer.name,
            "date_of_service": date(2026, 3, 2) - timedelta(days=n),
            "total_charge": claim.total_charge,
            "kind": "replacement" if n % 4 == 1 else "original",
            "original_claim_id": uuid.uuid4() if n % 4 == 1 else None,
            "correlation_id": f"corr-{n}",
            "lines": stored["lines"],
        }
        if n == 2:  # fractional units (anesthesia minutes) are whole units on the event
            row["lines"][0]["units"] = "1.5"
        event = submitted_event(row, batch, NOW)
        before = line_by_line(row, batch, NOW, event.id)
        assert event.value() == before.value()
        assert (event.subject, event.correlation_id) == (before.subject, before.correlation_id)

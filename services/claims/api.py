"""Claims' HTTP API: a claim with its status, hold reasons and acknowledgement; the work queue
(claims held before sending or rejected after); counts by status and by acknowledgement. Who may
call each route is PERMISSIONS; reading a claim is in the audit trail (shared/audit.py)."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict

from services.claims import db
from services.claims.domain.segments import claim_segments
from services.claims.fixing import CannotFix, resubmit, version
from shared.api import Cursor, Offset, ServiceDep, SessionDep
from shared.audit import Action, TrailDep
from shared.contracts.events import ClaimChanges
from shared.security import ANALYTICS_READER, AR_SPECIALIST, BILLER, FRONT_DESK, OVERSIGHT, permissions

router = APIRouter(prefix="/v1")
# Billers fix held and rejected claims; A/R reads a claim it follows up; the analysts' jobs read counts.
COUNTS = OVERSIGHT | {BILLER, ANALYTICS_READER}
PERMISSIONS = permissions({
    "GET /v1/claims/{claim_id}": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "GET /v1/claims/{claim_id}/x12": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "GET /v1/claims/{claim_id}/history": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "POST /v1/claims/{claim_id}/resubmit": {BILLER},
    "GET /v1/stats": COUNTS,
    "GET /v1/stats/encounters": COUNTS,
    "GET /v1/work-queue": OVERSIGHT | {BILLER},
    "GET /v1/acknowledgements": COUNTS,
    "GET /v1/encounters/waiting": OVERSIGHT | {BILLER, FRONT_DESK},  # the front desk registers the patient
})  # fmt: skip


@router.get("/claims/{claim_id}")
async def get_claim(claim_id: UUID, session: SessionDep, trail: TrailDep, response: Response) -> dict[str, Any]:
    """The claim; its ETag (also `version`) is what POST …/resubmit takes as If-Match."""
    claim = await _read(session, trail, claim_id)
    response.headers["ETag"] = version(claim)
    return claim.model_dump(mode="json", exclude={"content"}) | {"version": version(claim)}


async def _read(session: SessionDep, trail: TrailDep, claim_id: UUID) -> db.Claim:
    claim = await db.claim(session, claim_id)
    if claim is None:
        raise HTTPException(404, "no such claim")
    await trail.read(session, "Claim", claim_id, claim.patient_id)
    return claim


@router.get("/claims/{claim_id}/x12")
async def claim_as_sent(claim_id: UUID, session: SessionDep, trail: TrailDep) -> dict[str, Any]:
    """The claim as its 837P interchange shows it (the billing provider's loop and the claim's own loops)."""
    claim = await _read(session, trail, claim_id)
    batch = await db.batch(session, claim.batch_id)
    shown = claim_segments(batch.content, claim.patient_control_number) if batch else None
    if batch is None or shown is None:
        raise HTTPException(404, f"the claim is {claim.status}: it is in no 837P interchange yet")
    return {
        "file_name": batch.file_name,
        "interchange_control_number": batch.interchange_control_number,
        "delivered_at": batch.delivered_at.isoformat() if batch.delivered_at else None,
        "envelope": shown.envelope,
        "billing_provider": shown.billing_provider,
        "claim": shown.claim,
    }


@router.get("/claims/{claim_id}/history")
async def claim_history(claim_id: UUID, session: SessionDep, trail: TrailDep) -> dict[str, Any]:
    """What happened to the claim here: made (held or ready), the 837P it went out in, each 999 and 277CA
    that answered it, a biller's fixes, and the claims that followed it (replacement, void, secondary);
    the codes it bills of each encounter."""
    claim = await _read(session, trail, claim_id)
    batch = await db.batch(session, claim.batch_id)
    follow_ups = await db.follow_ups(session, claim_id)
    events = await db.events_of(session, [claim_id])
    encounters = await db.encounters_of(session, claim)
    return {
        "claim": _summary(claim),
        "encounters": [_billed(row) for row in encounters],
        "sent_in": None if batch is None else {
            "file_name": batch.file_name, "interchange_control_number": batch.interchange_control_number,
            "created_at": _iso(batch.created_at), "delivered_at": _iso(batch.delivered_at),
        },
        "events": [e.model_dump(mode="json", exclude={"claim_id"}) for e in events],
        "follow_ups": [_summary(c) for c in follow_ups],
    }  # fmt: skip


def _billed(row: db.CodedEncounter) -> dict[str, Any]:
    """What the claim bills of an encounter: its codes (what a biller fixes), never the patient."""
    fields = ("encounter_id", "date_of_service", "diagnoses", "service_lines", "prior_authorization", "coded_by_name")
    return {"status": row.status, **{name: row.content.get(name) for name in fields}}


def _summary(claim: db.Claim) -> dict[str, Any]:
    fields = ("claim_id", "kind", "status", "acknowledgement", "payer_id", "payer_name", "total_charge",
              "date_of_service", "created_at", "submitted_at", "acknowledged_at", "original_claim_id",
              "encounter_ids", "findings", "ack_reasons", "correlation_id", "patient_control_number")  # fmt: skip
    return claim.model_dump(mode="json", include=set(fields))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class Resubmission(BaseModel):
    """What the biller changes before the claim is made again (nothing: made again as it now stands)."""

    model_config = ConfigDict(extra="forbid")
    changes: ClaimChanges | None = None


@router.post("/claims/{claim_id}/resubmit")
async def resubmit_claim(
    claim_id: UUID,
    session: SessionDep,
    trail: TrailDep,
    service: ServiceDep,
    body: Resubmission | None = None,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> dict[str, Any]:
    """A held claim fixed (changes to its lines, diagnoses or prior authorization) and made again: it goes
    out with the next batch, or stays held with the reasons that remain. If-Match: the version read."""
    changes = body.changes if body is not None else None
    try:
        async with session.begin():
            fixed = await resubmit(session, claim_id, changes, if_match, trail.principal, service.deps)
            await trail.change(session, Action.UPDATE, "resubmit", "Claim", claim_id, fixed.claim.patient_id)
    except CannotFix as refused:
        raise HTTPException(refused.status, refused.detail) from None
    return _summary(fixed.claim) | {"version": version(fixed.claim)}


@router.get("/stats")
async def stats(session: SessionDep) -> dict[str, int]:
    return await db.counts_by_status(session)


@router.get("/stats/encounters")
async def encounter_stats(session: SessionDep) -> dict[str, int]:
    """Coded encounters by the status of the claim that bills them (several may share one claim);
    `waiting` ones have no claim yet (their patient is not known)."""
    return await db.encounters_by_claim_status(session)


@router.get("/work-queue")
async def work_queue(
    session: SessionDep,
    trail: TrailDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Claims someone must fix: held by the scrubber (never sent) or rejected by a 999 or 277CA, oldest
    first; `next` is the cursor of the following page (null on the last). `total` is exact up to 10,000
    claims; beyond, it is 10,000 and `total_at_least` is true."""
    (total, more_counted), claims = await db.work_queue(
        session, limit + 1, offset, _position(cursor) if cursor else None
    )
    page = claims[:limit]
    await trail.search(session, "Claim", [(c.claim_id, c.patient_id) for c in page])
    items = [
        dict(
            claim_id=str(c.claim_id),
            encounter_id=c.encounter_id,
            patient_id=str(c.patient_id),
            payer_id=c.payer_id,
            payer_name=c.payer_name,
            date_of_service=c.date_of_service.isoformat(),
            total_charge=str(c.total_charge),
            status=c.status,
            kind=c.kind,
            created_at=_iso(c.created_at),
            version=version(c),
            task="fix before sending" if c.status == "held" else "resolve the rejection",
            findings=c.findings,
            rejection=c.ack_reasons if c.acknowledgement == "rejected" else [],
        )
        for c in page
    ]
    more = len(claims) > limit and page[-1].created_at is not None
    return {
        "total": total,
        "total_at_least": more_counted,  # `total` is a lower bound: more than shared.db.COUNTED claims wait
        "items": items,
        "next": f"{_iso(page[-1].created_at)}|{page[-1].claim_id}" if more else None,
    }


def _position(cursor: str) -> tuple[datetime, UUID]:
    moment, _, claim_id = cursor.partition("|")
    try:
        return datetime.fromisoformat(moment), UUID(claim_id)
    except ValueError:
        raise HTTPException(422, [{"loc": ["query", "cursor"], "msg": "not a cursor this queue gave out",
                                   "type": "value_error"}]) from None  # fmt: skip


@router.get("/encounters/waiting")
async def encounters_waiting(
    session: SessionDep,
    service: ServiceDep,
    trail: TrailDep,
    limit: int = Query(100, ge=0, le=1000, description="0: only `total`, nothing listed (and nothing to audit)."),
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Coded encounters that have waited longer than RCM_PATIENT_WAIT_ALERT_MINUTES for their
    patient's registration (nothing can be billed until the patient is known), oldest first: work for the
    front desk. `total` counts them all; `next` is the cursor of the following page (null on the last)."""
    now = datetime.now(UTC)
    before = now - timedelta(minutes=service.settings.patient_wait_alert_minutes)
    total = await db.count_encounters_waiting_since(session, before)
    after = _waiting_position(cursor) if cursor else None
    found = await db.encounters_waiting_since(session, before, limit + 1, after) if limit else []
    page = found[:limit]
    if page:
        await trail.search(session, "Encounter", [(e.encounter_id, e.patient_id) for e in page])
    last = page[-1] if len(found) > limit else None
    items = [
        {
            "encounter_id": e.encounter_id,
            "patient_id": str(e.patient_id),
            "date_of_service": e.content.get("date_of_service"),
            "received_at": _iso(e.received_at),
            "waiting_minutes": int((now - e.received_at).total_seconds() // 60) if e.received_at else None,
            "task": "register the patient: the encounter is billed once the patient is known",
        }
        for e in page
    ]
    next_page = f"{_iso(last.received_at)}|{last.encounter_id}" if last else None
    return {"items": items, "total": total, "next": next_page}


def _waiting_position(cursor: str) -> tuple[datetime, str]:
    moment, _, encounter_id = cursor.partition("|")
    try:
        return datetime.fromisoformat(moment), encounter_id[:64]
    except ValueError:
        raise HTTPException(422, [{"loc": ["query", "cursor"], "msg": "not a cursor this list gave out",
                                   "type": "value_error"}]) from None  # fmt: skip


@router.get("/acknowledgements")
async def acknowledgements(session: SessionDep) -> dict[str, int]:
    """Submitted claims by what the clearinghouse and payers said: accepted, rejected, or awaiting."""
    return await db.acknowledgement_counts(session)

"""Who touched which patient: an append-only audit trail in each service's own database, in the
terms auditors know from FHIR R4 AuditEvent (https://hl7.org/fhir/R4/auditevent.html).

    record(session, principal, observer="registration", action=Action.READ, subtype="read",
           entity_type="Patient", entity_id=pid, patient_id=pid, address=request.client.host)
    rows = await find(session, patient_id=pid, since=..., until=...)      # what an auditor asks

A route records through its `trail: TrailDep` (who from the token, from where, which service):

    await trail.read(session, "Patient", pid, pid)                 # committed before the answer leaves
    async with session.begin():
        ...                                                         # the change
        await trail.change(session, Action.UPDATE, "update", "Claim", claim_id, patient_id)

A change is recorded in the transaction of the change; a read in a transaction of its own,
committed before the answer leaves. Each row is also published on `audit.recorded` through the
outbox of the same transaction (ids only). The rows carry ids only, never names or other PHI. In
the database they are append-only: triggers refuse UPDATE, DELETE and TRUNCATE, whatever the role.
A service's migration creates the table with `install(op.get_bind())`. `GET /v1/audit` (the
auditor's, itself recorded as a read) is on every service: `router` below, included by shared/service.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import BigInteger, Column, Connection, DateTime, Identity, Index, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from shared import outbox
from shared.api import MAX_BIGINT, Moment, SessionDep
from shared.auth import Principal, PrincipalDep
from shared.contracts.events import AuditRecordedV1
from shared.contracts.topics import AUDIT_RECORDED
from shared.db import table_of
from shared.envelope import Event
from shared.security import AUDITOR, permissions

log = logging.getLogger(__name__)


class Action(StrEnum):  # AuditEvent.action
    CREATE = "C"
    READ = "R"
    UPDATE = "U"
    DELETE = "D"
    EXECUTE = "E"


class Outcome(StrEnum):  # AuditEvent.outcome
    SUCCESS = "0"
    MINOR_FAILURE = "4"  # the request was refused (403, 404, 422)
    SERIOUS_FAILURE = "8"
    MAJOR_FAILURE = "12"


# AuditEvent.purposeOfUse, from HL7 v3 PurposeOfUse: a billing office works for payment and
# operations; an auditor's reading is compliance.
PAYMENT, OPERATIONS, COMPLIANCE = "HPAYMT", "HOPERAT", "HCOMPL"


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_patient_recorded", "patient_id", "recorded"),
        Index("ix_audit_log_agent_recorded", "agent_who", "recorded"),
        Index("ix_audit_log_recorded", "recorded"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    recorded: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    observer: str = Field(max_length=64)  # source.observer: the service that recorded it
    action: str = Field(max_length=1)
    subtype: str = Field(max_length=40)  # the FHIR interaction (read, search-type, create, update) or operation
    outcome: str = Field(max_length=2)
    outcome_desc: str | None = Field(default=None, max_length=200)  # a reason, never PHI
    purpose_of_use: str = Field(max_length=16)
    agent_who: str = Field(max_length=255)  # the token's subject
    agent_name: str = Field(max_length=255)  # its display name at the time
    agent_client: str | None = Field(default=None, max_length=255)  # the application used (azp)
    agent_machine: bool = False  # agent.requestor is a system, not a person
    source_address: str | None = Field(default=None, max_length=64)  # agent.network.address
    entity_type: str = Field(max_length=40)  # entity.what's resource type: Patient, Claim, Account, ...
    entity_id: str = Field(max_length=64)
    patient_id: str | None = Field(default=None, max_length=64)  # the patient the entity is about
    entity_query: str | None = Field(default=None, max_length=500)  # a search's filters (ids only), as asked


APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
)


def install(connection: Connection) -> None:
    """The table and its append-only triggers (in a migration: `install(op.get_bind())`)."""
    table_of(AuditRecord).create(connection)
    for statement in APPEND_ONLY:
        connection.execute(text(statement))


# A later migration of each service (the table above is made from today's model, so it may have it).
ADD_ENTITY_QUERY = "ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS entity_query VARCHAR(500)"


def entry(principal: Principal, *, observer: str, action: Action, subtype: str, entity_type: str,
          entity_id: object, patient_id: object | None = None, outcome: Outcome = Outcome.SUCCESS,
          outcome_desc: str | None = None, purpose: str = PAYMENT, address: str | None = None,
          query: str | None = None) -> dict[str, Any]:  # fmt: skip
    """One row's values: who (from the token, never the body), what, when (the database's clock), outcome."""
    return dict(
        observer=observer, action=action.value, subtype=subtype, outcome=outcome.value,
        outcome_desc=outcome_desc[:200] if outcome_desc else None, purpose_of_use=purpose,
        agent_who=principal.subject, agent_name=principal.display_name[:255], agent_client=principal.client_id,
        agent_machine=principal.machine, source_address=address, entity_type=entity_type, entity_id=str(entity_id),
        patient_id=str(patient_id) if patient_id is not None else None, entity_query=query[:500] if query else None,
    )  # fmt: skip


async def record(session: AsyncSession, principal: Principal, **what: Any) -> AuditRecordedV1:
    """Adds the row to the session's transaction (see `entry` for the fields); returns what `audit.recorded` says."""
    return (await record_many(session, [entry(principal, **what)]))[0]


async def record_many(session: AsyncSession, entries: list[dict[str, Any]]) -> list[AuditRecordedV1]:
    """Rows made by `entry`, in one statement; the ids and times the database gave them, as events."""
    if not entries:
        return []
    table = table_of(AuditRecord)
    rows = await session.execute(insert(table).values(entries).returning(table.c.id, table.c.recorded))
    return [
        AuditRecordedV1(audit_id=row.id, recorded=row.recorded, **{k: e[k] for k in _PUBLISHED})
        for row, e in zip(rows, entries, strict=True)
    ]


_PUBLISHED = tuple(set(AuditRecordedV1.model_fields) - {"audit_id", "recorded"})  # ids only: no names, no address


async def find(session: AsyncSession, *, patient_id: str | None = None, agent: str | None = None,
               since: datetime | None = None, until: datetime | None = None, after: int | None = None,
               before: int | None = None, limit: int = 100) -> list[AuditRecord]:  # fmt: skip
    """Oldest first, `limit` at a time; pass the last id as `after` for the next page, and the first
    page's bound as `before` so that rows recorded meanwhile (the paging's own reads) do not extend it."""
    query = select(AuditRecord).order_by(col(AuditRecord.id)).limit(limit)
    if patient_id is not None:
        query = query.where(col(AuditRecord.patient_id) == patient_id)
    if agent is not None:
        query = query.where(col(AuditRecord.agent_who) == agent)
    if since is not None:
        query = query.where(col(AuditRecord.recorded) >= since)
    if until is not None:
        query = query.where(col(AuditRecord.recorded) < until)
    if after is not None:
        query = query.where(col(AuditRecord.id) > after)
    if before is not None:
        query = query.where(col(AuditRecord.id) < before)
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class Cursor:
    """Where a paged question stands: after which row, and before which (the row that recorded its
    first page: whatever is recorded later, its own reading included, belongs to a later question)."""

    after: int | None = None
    before: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        """`123` (a row id, as a client keeping its own place sends) or `123.456` (our `next`)."""
        if not text:
            return cls()
        parts = [int(part) for part in text.split(".")]
        if any(part > MAX_BIGINT for part in parts):
            raise HTTPException(422, "the cursor names no row: use the `next` of the previous page")
        return cls(parts[0], parts[1] if len(parts) > 1 else None)

    def next(self, rows: list[AuditRecord], limit: int) -> str | None:
        return f"{rows[limit - 1].id}.{self.before}" if len(rows) > limit else None


# --- what routes use ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trail:
    """The audit trail as a route sees it: the caller (from the token), from where, for which service."""

    principal: Principal
    observer: str
    address: str | None
    purpose: str
    correlation_id: str  # the request's X-Correlation-Id, else one of its own

    async def change(self, session: AsyncSession, action: Action, subtype: str, entity_type: str,
                     entity_id: object, patient_id: object | None = None) -> None:  # fmt: skip
        """Recorded in the caller's transaction: it commits or rolls back with the change."""
        await self._record(session, action, subtype, entity_type, [(entity_id, patient_id)])

    async def read(self, session: AsyncSession, entity_type: str, entity_id: object,
                   patient_id: object | None = None) -> None:  # fmt: skip
        """A read, recorded and committed in a transaction of its own before the answer leaves."""
        await self.search(session, entity_type, [(entity_id, patient_id)], subtype="read")

    async def search(self, session: AsyncSession, entity_type: str, found: Iterable[tuple[object, object | None]],
                     subtype: str = "search-type", query: str | None = None) -> list[int]:  # fmt: skip
        """One row per entity an answer shows (a list names many patients), committed at once; their ids."""
        ids = await self._record(session, Action.READ, subtype, entity_type, found, query=query)
        await session.commit()
        return ids

    async def refused(self, session: AsyncSession, action: Action, route: str, patient_id: object | None,
                      reason: str) -> None:  # fmt: skip
        """An attempt the caller's roles did not allow (403), in the caller's transaction."""
        await self._record(session, action, "refused", "Route", [(route[:64], patient_id)],
                           Outcome.MINOR_FAILURE, f"403: {reason}")  # fmt: skip

    async def _record(self, session: AsyncSession, action: Action, subtype: str, entity_type: str,
                      found: Iterable[tuple[object, object | None]], outcome: Outcome = Outcome.SUCCESS,
                      outcome_desc: str | None = None, query: str | None = None) -> list[int]:  # fmt: skip
        rows = [
            entry(self.principal, observer=self.observer, action=action, subtype=subtype, entity_type=entity_type,
                  entity_id=entity_id, patient_id=patient_id, purpose=self.purpose, address=self.address,
                  outcome=outcome, outcome_desc=outcome_desc, query=query)
            for entity_id, patient_id in found
        ]  # fmt: skip
        recorded_rows = await record_many(session, rows)
        for recorded in recorded_rows:
            subject = recorded.patient_id or recorded.entity_id
            outbox.stage(session, AUDIT_RECORDED, Event(recorded, subject, f"/{self.observer}", self.correlation_id))
        return [recorded.audit_id for recorded in recorded_rows]


def purpose_of(principal: Principal) -> str:
    """An auditor reads for compliance; everyone else in a billing office works for payment."""
    return COMPLIANCE if principal.roles & {AUDITOR} and not principal.machine else PAYMENT


def trail(request: Request, principal: PrincipalDep) -> Trail:
    address = request.client.host if request.client else None
    correlation = (request.headers.get("x-correlation-id") or str(uuid.uuid4()))[:64]
    return Trail(principal, request.app.state.service.name, address, purpose_of(principal), correlation)


TrailDep = Annotated[Trail, Depends(trail)]


async def refused(request: Request, principal: Principal, reason: str) -> None:
    """A known caller refused a route for want of a role (403): the attempt is in the trail too, outcome
    4 (minor failure) with the reason (it names roles, never data), the route as the entity and the
    patient when the path names one; committed before the answer. A trail that cannot be written leaves
    the refusal as it is."""
    route = f"{request.method} {getattr(request.scope.get('route'), 'path', '?')}"
    patient_id = request.path_params.get("patient_id")
    action = Action.READ if request.method == "GET" else Action.EXECUTE
    try:
        async with request.app.state.service.sessions() as session, session.begin():
            await trail(request, principal).refused(session, action, route, str(patient_id)[:64] if patient_id else None,
                                                    reason)  # fmt: skip
    except Exception as error:  # noqa: BLE001 - refused either way; the error text may quote the row
        log.warning("a refused request could not be written to the audit trail", extra={"error": type(error).__name__})


# --- the auditor's route, on every service -----------------------------------------------------------

router = APIRouter(prefix="/v1")
CURSOR = r"^\d{1,19}(\.\d{1,19})?$"
PERMISSIONS = permissions({"GET /v1/audit": {AUDITOR}})


@router.get("/audit")
async def audit_log(
    session: SessionDep,
    trail: TrailDep,
    patient_id: Annotated[str | None, Query(max_length=64)] = None,
    agent: Annotated[str | None, Query(max_length=255, description="A user's subject (token sub).")] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    cursor: Annotated[str | None, Query(pattern=CURSOR, description="`next` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """This service's audit trail, oldest first: who touched which patient's data, when, how, from where.
    A moment without a time zone is UTC.

    Reading it is in it too (every page): entity AuditEvent, its id the person whose trail was asked
    (`*` for everyone), the patient whose trail was asked as the patient, the filters as its query.
    A question's pages end with what was recorded before its first page; the readings it recorded
    itself are there for the next question."""
    position = Cursor.parse(cursor)
    asked = {"patient_id": patient_id, "agent": agent, "since": since, "until": until}
    query = urlencode({k: v.isoformat() if isinstance(v, datetime) else v for k, v in asked.items() if v is not None})
    (own,) = await trail.search(session, "AuditEvent", [((agent or "*")[:64], patient_id)], query=query)
    position = position if position.before is not None else Cursor(position.after, own)
    rows = await find(session, patient_id=patient_id, agent=agent, since=since, until=until, after=position.after,
                      before=position.before, limit=limit + 1)  # fmt: skip
    return {"entries": [row.model_dump(mode="json") for row in rows[:limit]], "next": position.next(rows, limit)}

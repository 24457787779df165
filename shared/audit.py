"""Who touched which patient: an append-only audit trail in each service's own database, in the
terms auditors know from FHIR R4 AuditEvent (https://hl7.org/fhir/R4/auditevent.html).

    record(session, principal, observer="registration", action=Action.READ, subtype="read",
           entity_type="Patient", entity_id=pid, patient_id=pid, address=request.client.host)
    rows = await find(session, patient_id=pid, since=..., until=...)      # what an auditor asks

A change is recorded in the transaction of the change; a read in a transaction of its own,
committed before the answer leaves. The rows carry ids only, never names or other PHI. In the
database they are append-only: triggers refuse UPDATE, DELETE and TRUNCATE, whatever the role.
A service's migration creates the table with `install(op.get_bind())`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, DateTime, Identity, Index, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from shared.auth import Principal
from shared.db import table_of


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


def entry(principal: Principal, *, observer: str, action: Action, subtype: str, entity_type: str,
          entity_id: str, patient_id: str | None = None, outcome: Outcome = Outcome.SUCCESS,
          outcome_desc: str | None = None, purpose: str = PAYMENT,
          address: str | None = None) -> dict[str, Any]:  # fmt: skip
    """One row's values: who (from the token, never the body), what, when (the database's clock), outcome."""
    return dict(
        observer=observer, action=action.value, subtype=subtype, outcome=outcome.value,
        outcome_desc=outcome_desc[:200] if outcome_desc else None, purpose_of_use=purpose,
        agent_who=principal.subject, agent_name=principal.display_name[:255], agent_client=principal.client_id,
        agent_machine=principal.machine, source_address=address, entity_type=entity_type, entity_id=str(entity_id),
        patient_id=str(patient_id) if patient_id is not None else None,
    )  # fmt: skip


async def record(session: AsyncSession, principal: Principal, **what: Any) -> None:
    """Adds the row to the session's transaction (see `entry` for the fields)."""
    await session.execute(insert(table_of(AuditRecord)).values(entry(principal, **what)))


async def find(session: AsyncSession, *, patient_id: str | None = None, agent: str | None = None,
               since: datetime | None = None, until: datetime | None = None, after: int | None = None,
               limit: int = 100) -> list[AuditRecord]:  # fmt: skip
    """Oldest first, `limit` at a time; pass the last id as `after` for the next page."""
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
    return list((await session.execute(query)).scalars())

"""shared/audit.py in a real PostgreSQL: the trail is append-only, commits or rolls back with the
change it records, and answers an auditor's questions by patient, by user and by period."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared import audit
from shared.auth import Principal
from shared.db import make_engine, make_sessions

pytestmark = pytest.mark.integration

CAROL = Principal("sub-carol", "carol.coder", frozenset({"coder"}), "rcm-console", False)
AUDREY = Principal("sub-audrey", "audrey.auditor", frozenset({"auditor"}), "rcm-console", False)
EHR = Principal("sub-ehr", "service-account-rcm-ehr", frozenset({"encounter_intake"}), "rcm-ehr", True)


@pytest.fixture
async def sessions(stack_info):
    name = f"t{uuid.uuid4().hex[:10]}_audit"
    admin_dsn = stack_info.database_url("postgres").replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(stack_info.database_url(name), pool_size=2)
    async with engine.begin() as connection:
        await connection.run_sync(audit.install)
    yield make_sessions(engine)
    await engine.dispose()
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def seen(patient: str, action=audit.Action.READ, **more) -> dict:
    return dict(observer="registration", action=action, subtype="read", entity_type="Patient", entity_id=patient,
                patient_id=patient, address="10.0.0.7") | more  # fmt: skip


async def test_records_are_append_only(sessions):
    async with sessions() as session, session.begin():
        await audit.record(session, CAROL, **seen("p1"))
    for statement in ("UPDATE audit_log SET agent_who = 'someone-else'", "DELETE FROM audit_log",
                      "TRUNCATE audit_log"):  # fmt: skip
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin():
                    await session.execute(text(statement))
    async with sessions() as session:
        [row] = await audit.find(session)
    assert (row.agent_who, row.agent_name, row.entity_id) == ("sub-carol", "carol.coder", "p1")


async def test_a_change_and_its_record_commit_or_roll_back_together(sessions):
    async with sessions() as session:
        with pytest.raises(RuntimeError):
            async with session.begin():
                await audit.record(session, CAROL, **seen("p2", audit.Action.UPDATE, subtype="update"))
                raise RuntimeError("the change failed")
    async with sessions() as session:
        assert await audit.find(session, patient_id="p2") == []


async def test_an_auditor_asks_by_patient_user_and_period(sessions):
    async with sessions() as session, session.begin():
        await audit.record(session, CAROL, **seen("p1"))
        await audit.record(session, EHR, **seen("p1", audit.Action.CREATE, subtype="create", observer="registration"))
        await audit.record(session, CAROL, **seen("p3"))
        await audit.record(session, AUDREY, **seen("p1", purpose=audit.COMPLIANCE, outcome=audit.Outcome.MINOR_FAILURE,
                                                   outcome_desc="requires one of: front_desk"))  # fmt: skip
    now = datetime.now(UTC)
    async with sessions() as session:
        by_patient = await audit.find(session, patient_id="p1")
        by_user = await audit.find(session, agent="sub-carol")
        in_period = await audit.find(session, since=now - timedelta(minutes=5), until=now + timedelta(minutes=5))
        before = await audit.find(session, until=now - timedelta(minutes=5))
        first_page = await audit.find(session, limit=2)
        next_page = await audit.find(session, limit=2, after=first_page[-1].id)
    assert [(r.agent_name, r.action) for r in by_patient] == [
        ("carol.coder", "R"), ("service-account-rcm-ehr", "C"), ("audrey.auditor", "R")]  # fmt: skip
    assert by_patient[1].agent_machine and by_patient[1].agent_client == "rcm-ehr"
    assert (by_patient[2].outcome, by_patient[2].purpose_of_use) == ("4", "HCOMPL")
    assert [r.patient_id for r in by_user] == ["p1", "p3"]
    assert len(in_period) == 4 and before == []
    assert [r.id for r in first_page + next_page] == [r.id for r in in_period]

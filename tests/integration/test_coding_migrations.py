"""Coding's migration 0007: the outcomes and audit entries stored before it keep their documents (as
json), and a downgrade gives them back as jsonb."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.migrations import alembic_config, upgrade

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "coding" / "migrations"
FINDINGS = [{"field": "diagnosis_statements[0]", "code": "cac.low_confidence", "message": "low"}]
DOCUMENTED = {"encounter_id": "ENC-M1", "version": 2, "diagnosis_statements": ["type 2 diabetes"], "lines": []}
PROPOSAL = {"diagnoses": ["E11.9"], "suggestions": [{"code": "E11.9", "evidence": "type 2 diabetes"}]}
READ = (
    "SELECT o.findings::text, o.documented::text, o.proposal::text, a.diagnoses::text, a.service_lines::text,"
    " o.documented->>'version', pg_typeof(o.documented)::text, pg_typeof(a.diagnoses)::text"
    " FROM coding_outcome o JOIN coding_audit a USING (encounter_id)"
)


async def test_0007_keeps_stored_documents_and_gives_them_back_on_downgrade(platform):
    url = platform.database_url("coding")
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0006")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO coding_outcome (encounter_id, patient_id, status, findings, coded_by, correlation_id,"
                    " decided_at, documented, proposal) VALUES ('ENC-M1', :patient, 'queued', CAST(:findings AS jsonb),"
                    " 'auto', 'c1', :at, CAST(:documented AS jsonb), CAST(:proposal AS jsonb))"
                ),
                {
                    "patient": uuid.uuid4(),
                    "at": datetime.now(UTC),
                    "findings": json.dumps(FINDINGS),
                    "documented": json.dumps(DOCUMENTED),
                    "proposal": json.dumps(PROPOSAL),
                },
            )
            await connection.execute(
                text(
                    "INSERT INTO coding_audit (encounter_id, at, actor, action, diagnoses, service_lines)"
                    " VALUES ('ENC-M1', :at, 'auto', 'queued', '[\"E11.9\"]', '[{\"line_number\": 1}]')"
                ),
                {"at": datetime.now(UTC)},
            )
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.connect() as connection:
            upgraded = (await connection.execute(text(READ))).one()
        await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0006")
        async with engine.connect() as connection:
            downgraded = (await connection.execute(text(READ))).one()
    finally:
        await engine.dispose()
    documents = [FINDINGS, DOCUMENTED, PROPOSAL, ["E11.9"], [{"line_number": 1}], "2"]
    assert [*map(json.loads, upgraded[:5]), *upgraded[5:]] == [*documents, "json", "json"]
    assert [*map(json.loads, downgraded[:5]), *downgraded[5:]] == [*documents, "jsonb", "jsonb"]

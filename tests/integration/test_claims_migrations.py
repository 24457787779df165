"""Claims' migrations 0010 (claim rows up to a page's size kept uncompressed) and 0011 (partial indexes,
content out of line); each downgrades to what was before."""

import asyncio
import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.migrations import alembic_config, upgrade

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "claims" / "migrations"
OPTIONS = text("SELECT reloptions FROM pg_class WHERE relname = 'claim'")


async def test_0010_keeps_claim_rows_uncompressed_and_downgrades(platform):
    url = platform.database_url("claims")
    engine = create_async_engine(url)
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0010")
        async with engine.connect() as connection:
            upgraded = (await connection.execute(OPTIONS)).scalar_one()
        await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0009")
        async with engine.connect() as connection:
            downgraded = (await connection.execute(OPTIONS)).scalar_one()
    finally:
        await engine.dispose()
    assert (upgraded, downgraded) == (["toast_tuple_target=8160"], None)


INDEXES = text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'claim'")
TOAST_SIZE = text("SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'claim'")
A_CLAIM = text(
    "INSERT INTO claim (claim_id, patient_control_number, encounter_id, patient_id, payer_id, payer_name,"
    " date_of_service, total_charge, status, findings, content, correlation_id)"
    " VALUES (gen_random_uuid(), :number, 'E1', gen_random_uuid(), 'P1', 'Payer', '2026-11-02', 10, 'ready', '[]',"
    " CAST(:content AS jsonb), 'c')"
)


async def test_0011_indexes_only_the_claims_asked_about_and_keeps_content_out_of_line(platform):
    url = platform.database_url("claims")
    engine = create_async_engine(url)
    content = json.dumps({"lines": [{"n": n, "code": "99213"} for n in range(120)]})  # ~2.5 kB
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0010")
        async with engine.begin() as connection:
            await connection.execute(A_CLAIM, {"number": "BEFORE", "content": content})
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.begin() as connection:
            toast_before = (await connection.execute(TOAST_SIZE)).scalar_one()
            await connection.execute(A_CLAIM, {"number": "AFTER", "content": content})
            toast_after = (await connection.execute(TOAST_SIZE)).scalar_one()
            upgraded = dict((await connection.execute(INDEXES)).all())
        await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0010")
        async with engine.connect() as connection:
            downgraded = dict((await connection.execute(INDEXES)).all())
            options = (await connection.execute(OPTIONS)).scalar_one()
    finally:
        await engine.dispose()
    assert (toast_before, toast_after > 0) == (0, True)  # inline before 0011; the new claim's content out of line
    partial = {name: definition.split(" WHERE ")[1] for name, definition in upgraded.items() if " WHERE " in definition}
    assert partial == {
        "ix_claim_work_queue": "(((status)::text = 'held'::text) OR ((acknowledgement)::text = 'rejected'::text))",
        "ix_claim_ready": "((status)::text = 'ready'::text)",
        "ix_claim_open_by_key": "((status)::text = 'ready'::text)",
        "ix_claim_awaiting_ack": "(((status)::text = 'submitted'::text) AND (acknowledgement IS NULL))",
        "ix_claim_original_claim_id": "(original_claim_id IS NOT NULL)",
    }
    assert {"ix_claim_status", "ix_claim_grouping_key", "ix_claim_acknowledgement"}.isdisjoint(upgraded)
    assert {"ix_claim_status", "ix_claim_grouping_key", "ix_claim_acknowledgement"} <= set(downgraded)
    assert [n for n, d in downgraded.items() if " WHERE " in d] == ["ix_claim_work_queue"]
    assert options == ["toast_tuple_target=8160"]

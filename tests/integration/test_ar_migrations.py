"""A/R's migration 0006: claims submitted before A/R kept the patient control number get the one
claims sent them with (CLM01: the claim id's first 20 hex digits, upper case); claims A/R has not
seen submitted yet learn theirs from claim.submitted."""

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.migrations import alembic_config, upgrade

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "ar_followup" / "migrations"


async def test_0006_backfills_the_patient_control_number_of_submitted_claims(platform):
    url = platform.database_url("ar_followup")
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0005")
    submitted, awaiting = uuid.uuid4(), uuid.uuid4()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO ar_claim (claim_id, status, adjudicated, denied, submitted_at) VALUES "
                    "(:submitted, 'open', false, false, now()), (:awaiting, 'awaiting_claim', false, false, NULL)"
                ),
                {"submitted": submitted, "awaiting": awaiting},
            )
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT claim_id, patient_control_number FROM ar_claim"))
            numbers = dict(rows.all())
    finally:
        await engine.dispose()
    assert numbers == {submitted: submitted.hex[:20].upper(), awaiting: None}


async def test_0011_leaves_room_for_in_place_updates_and_downgrades(platform):
    url = platform.database_url("ar_followup")
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0010")
    claim = uuid.uuid4()
    state = text(
        "SELECT (SELECT reloptions FROM pg_class WHERE relname = 'ar_claim'),"
        " (SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_ar_claim_status'),"
        " (SELECT status FROM ar_claim WHERE claim_id = :claim)"
    )
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO ar_claim (claim_id, status, adjudicated, denied) VALUES (:claim, 'open', false, false)"
                ),
                {"claim": claim},
            )
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.connect() as connection:
            upgraded = tuple((await connection.execute(state, {"claim": claim})).one())
        await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0010")
        async with engine.connect() as connection:
            downgraded = tuple((await connection.execute(state, {"claim": claim})).one())
    finally:
        await engine.dispose()
    assert upgraded == (["fillfactor=80"], 0, "open")
    assert downgraded == (None, 1, "open")

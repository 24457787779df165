"""Payments' migration 0004: claim payments stored before it keep their posting id and get the identity
the domain computes for them now, so a re-sent copy of a file posted before the upgrade posts nothing."""

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.payments.domain.posting import posting_ids
from shared.migrations import alembic_config, upgrade
from x12.x835 import parse_835

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "payments" / "migrations"
CORPUS = Path(__file__).resolve().parents[1] / "conformance" / "valid" / "835"


async def test_0004_gives_stored_payments_the_identity_the_domain_computes(platform):
    url = platform.database_url("payments")
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0003")
    # A reversal, its correction and another claim, stored as the posting code before 0004 did.
    (remittance,) = parse_835((CORPUS / "written-reversal-correction-plb.x12").read_text()).remittances
    header = json.dumps(remittance.model_dump(mode="json", exclude={"claims", "findings", "provider_summaries"}))
    old_ids = [uuid.uuid4() for _ in remittance.claims]
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for posting_id, payment in zip(old_ids, remittance.claims, strict=True):
                await connection.execute(
                    text(
                        "INSERT INTO claim_payment (posting_id, era_id, patient_control_number, status, paid, "
                        "claim_payment, remittance_header, patient_responsibility) VALUES (:id, 7, :number, "
                        "'unmatched', :paid, CAST(:payment AS jsonb), CAST(:header AS jsonb), 0)"
                    ),
                    {
                        "id": posting_id,
                        "number": payment.patient_control_number,
                        "paid": payment.paid,
                        "payment": payment.model_dump_json(),
                        "header": header,
                    },
                )
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT posting_id, payment_identity FROM claim_payment"))
            identities = dict(rows.all())
    finally:
        await engine.dispose()
    assert set(identities) == set(old_ids)  # posting ids kept
    assert [identities[n] for n in old_ids] == posting_ids(remittance)


async def test_0010_keeps_stored_payments_as_json_and_gives_them_back_on_downgrade(platform):
    url = platform.database_url("payments")
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0009")
    (remittance,) = parse_835((CORPUS / "written-reversal-correction-plb.x12").read_text()).remittances
    header = remittance.model_dump(mode="json", exclude={"claims", "findings", "provider_summaries"})
    payment = remittance.claims[0].model_dump(mode="json")
    stored = "SELECT claim_payment::text, remittance_header::text, remittance_header #>> '{payment,trace_number}'"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO claim_payment (posting_id, payment_identity, era_id, patient_control_number, status,"
                    " paid, claim_payment, remittance_header) VALUES (:id, :id, 7, 'PCN1', 'unmatched', 1.00,"
                    " CAST(:payment AS jsonb), CAST(:header AS jsonb))"
                ),
                {"id": uuid.uuid4(), "payment": json.dumps(payment), "header": json.dumps(header)},
            )
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.connect() as connection:
            upgraded = (await connection.execute(text(f"{stored} FROM claim_payment"))).one()
            types = await column_types(connection)
        await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0009")
        async with engine.connect() as connection:
            downgraded = (await connection.execute(text(f"{stored} FROM claim_payment"))).one()
            types_after_downgrade = await column_types(connection)
    finally:
        await engine.dispose()
    expected = [payment, header, remittance.payment.trace_number]
    assert types == {"claim_payment": "json", "remittance_header": "json"}
    assert [json.loads(upgraded[0]), json.loads(upgraded[1]), upgraded[2]] == expected
    assert types_after_downgrade == {"claim_payment": "jsonb", "remittance_header": "jsonb"}
    assert [json.loads(downgraded[0]), json.loads(downgraded[1]), downgraded[2]] == expected


async def column_types(connection) -> dict[str, str]:
    rows = await connection.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'claim_payment'"
            " AND column_name IN ('claim_payment', 'remittance_header')"
        )
    )
    return dict(rows.all())

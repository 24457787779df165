"""Payments' migration 0004: claim payments stored before it keep their posting id and get the identity
the domain computes for them now, so a re-sent copy of a file posted before the upgrade posts nothing."""

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.payments.domain.posting import posting_ids
from shared.migrations import upgrade
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

"""Wiring of the ar_followup service."""

import asyncio
import logging
from pathlib import Path

from services.ar_followup import api, handlers
from services.ar_followup.deps import Deps
from services.ar_followup.followup import run_cycle
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from shared.contracts.events import (
    ClaimAcknowledgedV1,
    ClaimSubmittedV1,
    PatientPaymentPostedV1,
    PatientRegisteredV1,
    PaymentPostedV1,
)
from shared.service import Api, Consumes, Declaration, Service
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

# One writer of the ledgers: the four topics that change them are read by one consumer group and each
# batch is one transaction, handlers in a claim's order of life (claim, acknowledgement, payments), so
# they never wait on each other's row locks; partition p of each goes to the same replica.
LEDGER = "ar_followup.ledger"
DECLARATION = Declaration(
    name="ar_followup",
    consumes=(
        Consumes(topics.CLAIM_SUBMITTED, ClaimSubmittedV1, handlers.on_claims_submitted, group=LEDGER),
        Consumes(topics.CLAIM_ACKNOWLEDGED, ClaimAcknowledgedV1, handlers.on_claims_acknowledged, group=LEDGER),
        Consumes(topics.PAYMENT_POSTED, PaymentPostedV1, handlers.on_payments_posted, group=LEDGER),
        Consumes(topics.PATIENT_PAYMENT_POSTED, PatientPaymentPostedV1, handlers.on_patient_payments, group=LEDGER),
        Consumes(topics.PATIENT_REGISTERED, PatientRegisteredV1, handlers.on_patients_registered),
    ),
    publishes=frozenset(
        {
            topics.CLAIM_CORRECTION_REQUESTED,
            topics.CLAIM_SECONDARY_REQUESTED,
            topics.STATEMENT_ISSUED,
            topics.AUDIT_RECORDED,
        }
    ),
    migrations_dir=Path(__file__).parent / "migrations",
    api=Api(api.router, api.PERMISSIONS),
)


def build(settings: ServiceSettings | None = None) -> Service[Deps]:
    settings = ArSettings.of(settings)  # plain service settings: A/R's own take their defaults (RCM_AR_*)
    deps = Deps.of(settings)
    service = Service(DECLARATION, settings, deps)

    @service.loop
    async def follow_up_cycle(service: Service[Deps]) -> None:
        while True:
            await asyncio.sleep(settings.ar_cycle_seconds)
            log.info("follow-up cycle", extra=await run_cycle(service.sessions, deps))

    return service

"""Wiring of the payments service."""

from pathlib import Path

from services.payments import api, handlers
from services.payments.era_inbox import EraInbox
from services.payments.posting import Lease, post_forever
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1
from shared.service import Api, Consumes, Declaration, Service
from shared.settings import ServiceSettings

DECLARATION = Declaration(
    name="payments",
    consumes=(Consumes(topics.CLAIM_SUBMITTED, ClaimSubmittedV1, handlers.on_claims_submitted),),
    publishes=frozenset({topics.PAYMENT_POSTED, topics.PATIENT_PAYMENT_POSTED, topics.AUDIT_RECORDED}),
    migrations_dir=Path(__file__).parent / "migrations",
    api=Api(api.router, api.PERMISSIONS),
)


def build(settings: ServiceSettings | None = None) -> Service[None]:
    settings = PaymentsSettings.of(settings)
    service = Service(DECLARATION, settings, None)
    inbox = EraInbox(settings.clearinghouse_dir)
    lease = Lease.of_this_process(settings.era_lease_seconds)

    @service.loop
    async def post_remittances(service: Service[None]) -> None:
        await post_forever(service, inbox, lease, settings.era_poll_seconds)

    return service

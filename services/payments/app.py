"""Wiring of the payments service."""

from pathlib import Path

from services.payments import api, handlers
from services.payments.era_inbox import EraInbox
from services.payments.posting import post_forever
from services.payments.settings import PaymentsSettings
from shared.service import Service


def build(settings: PaymentsSettings | None = None) -> Service:
    settings = settings or PaymentsSettings()
    service = Service("payments", settings, Path(__file__).parent / "migrations")
    handlers.register(service)
    service.api(api.router)
    inbox = EraInbox(settings.clearinghouse_dir)

    @service.loop
    async def post_remittances(service: Service) -> None:
        await post_forever(service, inbox, settings.era_poll_seconds)

    return service

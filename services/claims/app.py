"""Wiring of the claims service."""

from pathlib import Path

from services.claims import api, handlers
from services.claims.acknowledgements import AckInbox, read_acknowledgements_forever
from services.claims.domain.practice import load_chargemaster, load_practice
from services.claims.gateway import DirectoryDrop
from services.claims.settings import ClaimsSettings
from services.claims.submission import submit_forever
from shared.service import Service


def build(settings: ClaimsSettings | None = None) -> Service:
    settings = settings or ClaimsSettings()
    service = Service("claims", settings, Path(__file__).parent / "migrations")
    practice = load_practice(settings.practice_file)
    gateway = DirectoryDrop(settings.clearinghouse_dir)
    handlers.register(service, load_chargemaster(settings.chargemaster_file))
    service.api(api.router)

    @service.loop
    async def submit_claims(service: Service) -> None:
        await submit_forever(service, practice, gateway, settings.batch_max_claims, settings.batch_interval_seconds)

    @service.loop
    async def read_acknowledgements(service: Service) -> None:
        inbox = AckInbox(settings.clearinghouse_dir)
        await read_acknowledgements_forever(service, inbox, settings.ack_poll_seconds)

    return service

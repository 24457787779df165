"""Wiring of the ar_followup service."""

import asyncio
import logging
from pathlib import Path

from services.ar_followup import api, handlers
from services.ar_followup.followup import run_cycle
from services.ar_followup.settings import ArSettings
from services.ar_followup.status_desk import StatusDesk
from shared.service import Service
from shared.settings import ServiceSettings
from x12.x270 import Party

log = logging.getLogger(__name__)


def build(settings: ServiceSettings | None = None) -> Service:
    if not isinstance(settings, ArSettings):  # plain service settings: A/R's own take their defaults (RCM_AR_*)
        settings = ArSettings(**settings.model_dump()) if settings else ArSettings()
    service = Service("ar_followup", settings, Path(__file__).parent / "migrations")
    handlers.register(service)
    service.status_desk = StatusDesk(
        settings.clearinghouse_dir,
        settings.ar_sender_id,
        settings.ar_receiver_id,
        Party(settings.ar_provider_name, settings.ar_provider_npi),
    )
    service.api(api.router)

    @service.loop
    async def follow_up_cycle(service: Service) -> None:
        while True:
            await asyncio.sleep(settings.ar_cycle_seconds)
            log.info("follow-up cycle", extra=await run_cycle(service))

    return service

"""Wiring of the ar_followup service."""

from pathlib import Path

from services.ar_followup import api, handlers
from shared.service import Service
from shared.settings import ServiceSettings


def build(settings: ServiceSettings | None = None) -> Service:
    service = Service("ar_followup", settings or ServiceSettings(service_name="ar_followup"), Path(__file__).parent / "migrations")
    handlers.register(service)
    service.api(api.router)
    return service

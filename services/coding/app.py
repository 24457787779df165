"""Wiring of the coding service."""

from pathlib import Path

from services.coding import api, handlers
from shared.service import Service
from shared.settings import ServiceSettings


def build(settings: ServiceSettings | None = None) -> Service:
    service = Service("coding", settings or ServiceSettings(service_name="coding"), Path(__file__).parent / "migrations")
    handlers.register(service)
    service.api(api.router)
    return service

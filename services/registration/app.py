"""Wiring of the registration service."""

from pathlib import Path

from services.registration import api
from shared.service import Service
from shared.settings import ServiceSettings


def build(settings: ServiceSettings | None = None) -> Service:
    service = Service("registration", settings or ServiceSettings(service_name="registration"), Path(__file__).parent / "migrations")
    service.api(api.router)
    return service

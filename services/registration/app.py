"""Wiring of the registration service."""

from pathlib import Path

from services.registration import api, eligibility, handlers
from services.registration.domain.payers import load_directory
from services.registration.settings import RegistrationSettings
from shared.service import Service
from shared.settings import ServiceSettings


def build(settings: ServiceSettings | None = None) -> Service:
    if settings is None or not isinstance(settings, RegistrationSettings):
        base = settings.model_dump() if settings is not None else {}
        settings = RegistrationSettings(**base)
    service = Service("registration", settings, Path(__file__).parent / "migrations")
    payers = load_directory(settings.payer_directory_file)
    service.api(api.make_router(payers))
    handlers.register(service, payers)
    service.loop(eligibility.read_answers)
    return service

"""Wiring of the coding service."""

from pathlib import Path

from services.coding import api, handlers
from services.coding.catalog import CatalogHolder
from services.coding.settings import CodingSettings
from shared.service import Service
from shared.settings import ServiceSettings


def build(settings: ServiceSettings | None = None) -> Service:
    if not isinstance(settings, CodingSettings):
        settings = CodingSettings(**(settings.model_dump() if settings else {}))
    service = Service("coding", settings, Path(__file__).parent / "migrations")
    service.coding_catalog = CatalogHolder(settings)  # code sets and the CAC index, built once before consuming
    handlers.register(service, service.coding_catalog)
    service.api(api.router)
    return service

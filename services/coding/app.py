"""Wiring of the coding service: what it consumes and publishes, its code-set catalog, its API."""

from pathlib import Path

from services.coding import api, handlers
from services.coding.catalog import CatalogHolder
from services.coding.settings import CodingSettings
from shared.contracts import topics
from shared.contracts.events import EncounterDocumentedV1, PatientRegisteredV1
from shared.service import Api, Consumes, Declaration, Service
from shared.settings import ServiceSettings

DECLARATION = Declaration(
    name="coding",
    consumes=(
        Consumes(topics.PATIENT_REGISTERED, PatientRegisteredV1, handlers.on_patients_registered),
        Consumes(
            topics.ENCOUNTER_DOCUMENTED,
            EncounterDocumentedV1,
            handlers.on_encounters_documented,
            answer_invalid=handlers.answer_invalid,
        ),
    ),
    publishes=frozenset({topics.ENCOUNTER_CODED, topics.ENCOUNTER_REJECTED, topics.AUDIT_RECORDED}),
    migrations_dir=Path(__file__).parent / "migrations",
    api=Api(api.router, api.PERMISSIONS),
)


def build(settings: ServiceSettings | None = None) -> Service[handlers.Deps]:
    settings = CodingSettings.of(settings)
    # The code sets and the CAC index are built once, before the service consumes anything.
    service = Service(DECLARATION, settings, handlers.Deps(CatalogHolder(settings)))
    return service

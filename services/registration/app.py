"""Wiring of the registration service: what it consumes and publishes, its payer directory, its
API and the loop that reads eligibility answers."""

from pathlib import Path

from services.registration import api, eligibility, handlers
from services.registration.domain.payers import load_directory
from services.registration.settings import RegistrationSettings
from shared.contracts import topics
from shared.contracts.events import IntakeFhirV1
from shared.service import Api, Consumes, Declaration, Service
from shared.settings import ServiceSettings

DECLARATION = Declaration(
    name="registration",
    consumes=(
        Consumes(topics.INTAKE_FHIR, IntakeFhirV1, handlers.on_fhir_bundles, answer_invalid=handlers.answer_invalid),
    ),
    publishes=frozenset(
        {
            topics.PATIENT_REGISTERED,
            topics.ENCOUNTER_DOCUMENTED,
            topics.INTAKE_REJECTED,
            topics.ELIGIBILITY_CHECKED,
            topics.AUDIT_RECORDED,
        }
    ),
    migrations_dir=Path(__file__).parent / "migrations",
    api=Api(api.router, api.PERMISSIONS),
)


def build(settings: ServiceSettings | None = None) -> Service[handlers.Deps]:
    settings = RegistrationSettings.of(settings)
    service = Service(DECLARATION, settings, handlers.Deps(load_directory(settings.payer_directory_file)))
    service.loop(eligibility.read_answers)
    return service

"""Wiring of the claims service: what it consumes and publishes, its prices and grouping rules,
its API, and its two loops (submission to the clearinghouse, acknowledgements back from it)."""

import asyncio
from pathlib import Path

from services.claims import api, handlers
from services.claims.acknowledgements import arrivals, read_acknowledgements_forever
from services.claims.domain.practice import claim_filing_indicators, load_chargemaster, load_practice
from services.claims.gateway import (
    AckSource,
    ClearinghouseGateway,
    DirectoryAcks,
    DirectoryDrop,
    HttpAcks,
    HttpClearinghouse,
)
from services.claims.settings import ClaimsSettings
from services.claims.submission import submit_forever
from shared.contracts import topics
from shared.contracts.events import (
    ClaimCorrectionRequestedV1,
    EligibilityCheckedV1,
    EncounterCodedV1,
    PatientRegisteredV1,
    SecondaryClaimRequestedV1,
)
from shared.service import Api, Consumes, Declaration, Service
from shared.settings import ServiceSettings

DECLARATION = Declaration(
    name="claims",
    consumes=(
        Consumes(topics.PATIENT_REGISTERED, PatientRegisteredV1, handlers.on_patients_registered),
        Consumes(topics.ENCOUNTER_CODED, EncounterCodedV1, handlers.on_encounters_coded),
        Consumes(topics.ELIGIBILITY_CHECKED, EligibilityCheckedV1, handlers.on_eligibility_checked),
        Consumes(topics.CLAIM_CORRECTION_REQUESTED, ClaimCorrectionRequestedV1, handlers.on_corrections_requested),
        Consumes(topics.CLAIM_SECONDARY_REQUESTED, SecondaryClaimRequestedV1, handlers.on_secondaries_requested),
    ),
    # claim.submitted: submission.py (an 837P delivered); claim.acknowledged: acknowledgements.py (999, 277CA)
    publishes=frozenset({topics.CLAIM_SUBMITTED, topics.CLAIM_ACKNOWLEDGED, topics.AUDIT_RECORDED}),
    migrations_dir=Path(__file__).parent / "migrations",
    api=Api(api.router, api.PERMISSIONS),
)


def gateway_for(settings: ClaimsSettings) -> ClearinghouseGateway:
    if settings.clearinghouse_mode == "directory":
        return DirectoryDrop(settings.clearinghouse_dir)
    if not settings.clearinghouse_url:
        raise ValueError("RCM_CLEARINGHOUSE_URL is required when RCM_CLEARINGHOUSE_MODE is http")
    return HttpClearinghouse(
        settings.clearinghouse_url,
        settings.clearinghouse_api_key.get_secret_value(),
        timeout_seconds=settings.clearinghouse_timeout_seconds,
        attempts=settings.clearinghouse_attempts,
        backoff_seconds=settings.clearinghouse_backoff_seconds,
    )


def ack_source_for(settings: ClaimsSettings) -> AckSource:
    """Where the 999s and 277CAs come from: the same place the 837s go to."""
    if settings.clearinghouse_mode == "directory":
        return DirectoryAcks(settings.clearinghouse_dir)
    return HttpAcks(
        settings.clearinghouse_url,
        settings.clearinghouse_api_key.get_secret_value(),
        settings.clearinghouse_dir / "quarantine",
        page_size=settings.clearinghouse_ack_page_size,
        timeout_seconds=settings.clearinghouse_timeout_seconds,
        attempts=settings.clearinghouse_attempts,
        backoff_seconds=settings.clearinghouse_backoff_seconds,
    )


def build(settings: ServiceSettings | None = None) -> Service[handlers.Deps]:
    settings = ClaimsSettings.of(settings)
    deps = handlers.Deps(
        load_chargemaster(settings.chargemaster_file),
        settings.group_encounters,
        settings.payers_billing_each_encounter(),
        claim_filing_indicators(settings.payer_directory()),
    )
    service = Service(DECLARATION, settings, deps)
    practice = load_practice(settings.practice_file)
    gateway = gateway_for(settings)
    delivered = asyncio.Event()  # an 837P went out: its acknowledgements are awaited from now on

    @service.loop
    async def submit_claims(service: Service[handlers.Deps]) -> None:
        await submit_forever(
            service,
            practice,
            gateway,
            settings.batch_max_claims,
            settings.batch_interval_seconds,
            settings.grouping_window_seconds if settings.group_encounters else 0.0,
            delivered,
            settings.batch_spacing_seconds,
            deps.built,
        )

    @service.loop
    async def read_acknowledgements(service: Service[handlers.Deps]) -> None:
        source = ack_source_for(settings)
        try:
            poll, fallback = settings.ack_poll_seconds, settings.ack_fallback_seconds
            async with arrivals(service, source, poll, fallback, delivered) as wait:
                await read_acknowledgements_forever(service, source, wait)
        finally:
            await source.close()

    return service

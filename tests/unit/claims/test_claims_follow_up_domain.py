"""Replacement, void and secondary claims (services/claims/domain/follow_up.py), without a database."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.claims.domain.follow_up import corrected, correction_target, secondary_target, to_secondary
from services.claims.domain.scrubber import TIMELY_FILING_DAYS
from shared.contracts.events import ClaimCorrectionRequestedV1, SecondaryClaimRequestedV1
from tests.unit.claims.test_claims_assembly import CHARGEMASTER, DOS, original_claim, patient

TODAY = DOS + timedelta(days=1)
ORIGINAL_ID = uuid.UUID("6b1f1c1e-0d7c-4c59-9f1e-2a4b8c0d9e10")
SECONDARY = {"rank": "secondary", "payer_id": "SIMAETNA", "payer_name": "SIM AETNA", "member_id": "AET1234567"}


def correction_request(frequency_code: str = "7", changes: dict | None = None) -> ClaimCorrectionRequestedV1:
    return ClaimCorrectionRequestedV1.model_validate(
        dict(
            claim_id=ORIGINAL_ID,
            frequency_code=frequency_code,
            payer_claim_control_number="SIM000123",
            reason="CO-16",
            requested_by="biller1",
            requested_at=datetime.now(UTC),
            changes=changes,
        )
    )


def secondary_request() -> SecondaryClaimRequestedV1:
    return SecondaryClaimRequestedV1(
        claim_id=ORIGINAL_ID,
        primary_payer_id="SIMBC",
        primary_paid=Decimal("300.00"),
        primary_adjustments=[{"group_code": "PR", "reason_code": "1", "amount": Decimal("210.00")}],
        requested_at=datetime.now(UTC),
    )


def test_a_replacement_applies_the_changes_under_the_id_the_request_derives():
    request = correction_request(changes={"lines": [{"line_number": 3, "units": 5}]})
    made = corrected(request, original_claim(), CHARGEMASTER, TODAY)
    assert (made.kind, made.claim_id) == correction_target(request) and not made.held
    assert made.claim.frequency_code == "7" and made.claim.lines[2].charge == CHARGEMASTER["J3301"] * 5


def test_a_void_ignores_changes_and_a_repeated_request_makes_the_same_claim():
    request = correction_request("8", changes={"lines": [{"line_number": 9, "units": 2}]})
    made = corrected(request, original_claim(), CHARGEMASTER, TODAY)
    assert made.kind == "void" and made.findings == [] and made.claim.lines == original_claim().lines
    assert corrected(request, original_claim(), CHARGEMASTER, TODAY).claim_id == made.claim_id


def test_a_correction_of_an_unknown_or_unsent_claim_is_held():
    made = corrected(correction_request(), None, CHARGEMASTER, TODAY)
    assert made.claim is None and [f.code for f in made.findings] == ["original.unknown"]


def test_a_follow_up_past_timely_filing_is_built_but_held_by_the_scrubber():
    late = DOS + timedelta(days=TIMELY_FILING_DAYS + 1)
    made = corrected(correction_request(), original_claim(), CHARGEMASTER, late)
    assert made.claim is not None and made.held
    assert {f.code for f in made.findings} == {"timely_filing.expired"}  # one per line


def test_a_secondary_claim_bills_the_secondary_coverage_with_the_primarys_payment():
    with_secondary = patient().model_copy(
        update={"coverages": [*patient().coverages, patient(coverage=SECONDARY).coverages[0]]}
    )
    made = to_secondary(secondary_request(), original_claim(), with_secondary, DOS, TODAY)
    assert made.claim_id == secondary_target(secondary_request()) and made.kind == "secondary" and not made.held
    assert made.claim.payer.id == "SIMAETNA" and made.claim.payer_responsibility == "S"
    [primary] = made.claim.other_payers
    assert primary.paid == Decimal("300.00") and primary.payer.id == "SIMBC"


def test_no_secondary_coverage_on_the_date_of_service_is_a_hold():
    made = to_secondary(secondary_request(), original_claim(), patient(), DOS, TODAY)
    assert made.claim is None and [f.code for f in made.findings] == ["coverage.no_secondary"]
    unknown = to_secondary(secondary_request(), None, None, DOS, TODAY)
    assert [f.code for f in unknown.findings] == ["original.unknown"]


# ---- the EHR's corrections and voids of a billed encounter ----------------------------------


def test_an_ehr_correction_replaces_the_claim_with_the_encounters_as_they_stand():
    from services.claims.domain.follow_up import revised, revision_target
    from tests.unit.claims.test_claims_assembly import coded

    claim_id = revision_target(ORIGINAL_ID, "ENC-11-0000042", 2)
    now = coded(lines=(("99214", ["25"], 1, [1]), ("20610", ["RT"], 2, [1])), version=2, action="correct")
    made = revised(original_claim(), ORIGINAL_ID, "SIM000123", [now], patient(), CHARGEMASTER, claim_id, TODAY)
    assert (made.kind, made.claim_id, made.held) == ("replacement", claim_id, False)
    assert (made.claim.frequency_code, made.claim.payer_claim_control_number) == ("7", "SIM000123")
    assert [(line.procedure_code, line.units) for line in made.claim.lines] == [("99214", 1), ("20610", 2)]
    assert made.claim.total_charge == CHARGEMASTER["99214"] + 2 * CHARGEMASTER["20610"]
    assert made.claim.patient_control_number != original_claim().patient_control_number
    assert revision_target(ORIGINAL_ID, "ENC-11-0000042", 3) != claim_id  # one claim per version


def test_an_ehr_void_with_no_encounter_left_voids_the_claim_as_sent():
    from services.claims.domain.follow_up import revised, revision_target

    claim_id = revision_target(ORIGINAL_ID, "ENC-11-0000042", 2)
    made = revised(original_claim(), ORIGINAL_ID, "SIM000123", [], patient(), CHARGEMASTER, claim_id, TODAY)
    assert (made.kind, made.claim.frequency_code, made.claim.payer_claim_control_number) == ("void", "8", "SIM000123")
    assert made.claim.lines == original_claim().lines


def test_an_ehr_correction_that_cannot_be_billed_is_held_with_the_reason():
    from services.claims.domain.follow_up import held_revision, revised
    from tests.unit.claims.test_claims_assembly import coded

    unpriced = coded(lines=(("99499", [], 1, [1]),), version=2, action="correct")
    made = revised(original_claim(), ORIGINAL_ID, "SIM1", [unpriced], patient(), CHARGEMASTER, ORIGINAL_ID, TODAY)
    assert made.held and [f.code for f in made.findings] == ["price.missing"]
    assert [f.code for f in held_revision(ORIGINAL_ID).findings] == ["original.rejected"]

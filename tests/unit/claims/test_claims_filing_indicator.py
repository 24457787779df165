"""SBR09, the claim filing indicator, comes from the payer directory for every payer of a claim."""

import json
from datetime import UTC, datetime

from services.claims.domain.assembly import assemble
from services.claims.domain.follow_up import revised, to_secondary
from services.claims.domain.grouping import Billing
from services.claims.domain.practice import claim_filing_indicators, load_practice
from services.claims.submission import interchange_for
from shared.reference import PAYER_DIRECTORY
from tests.unit.claims.test_claims_assembly import CHARGEMASTER, DOS, coded, patient
from tests.unit.claims.test_claims_follow_up_domain import ORIGINAL_ID, SECONDARY, TODAY, secondary_request
from x12.claim import Claim
from x12.validate import validate_x12
from x12.x837p import parse_837p, render_837p

DIRECTORY = claim_filing_indicators(json.loads(PAYER_DIRECTORY.read_text())["payers"])
MEDICARE = {"payer_id": "SIMMCR", "payer_name": "SIM MEDICARE B", "member_id": "1EG4TE5MK73"}
MEDICAID = SECONDARY | {"payer_id": "SIMMCD", "payer_name": "SIM STATE MEDICAID", "member_id": "MCD000123"}


def _written(claim: Claim) -> str:
    text = render_837p(interchange_for(load_practice(), 7, [claim], datetime(2026, 3, 2, 17, tzinfo=UTC)))
    assert validate_x12(text) == []
    return text


def test_the_directory_gives_each_payer_its_plan():
    assert DIRECTORY == {"SIMBC": "12", "SIMAETNA": "HM", "SIMMCR": "MB", "SIMMCD": "MC"}
    assert claim_filing_indicators([{"payer_id": "X1"}]) == {}  # a payer without one is not guessed


def test_a_claim_to_medicare_says_mb_and_reads_back_so():
    claim = assemble(coded(), patient(coverage=MEDICARE), CHARGEMASTER, DIRECTORY).claim

    assert claim is not None and claim.payer.claim_filing_indicator == "MB"
    text = _written(claim)
    assert "SBR*P*18*GRP0007******MB~" in text
    assert parse_837p(text).claims[0].payer.claim_filing_indicator == "MB"


def test_a_payer_the_directory_does_not_name_is_billed_as_commercial():
    claim = assemble(coded(), patient(coverage={"payer_id": "OTHER1"}), CHARGEMASTER, DIRECTORY).claim
    assert claim is not None and claim.payer.claim_filing_indicator == "CI"


def test_the_billing_decision_passes_the_directory_to_assembly():
    billing = Billing(CHARGEMASTER, TODAY, filing_indicators=DIRECTORY)
    assert billing.check([coded()], patient()).claim.payer.claim_filing_indicator == "12"  # SIMBC, a PPO


def test_a_secondary_claim_keeps_each_payers_plan():
    original = assemble(coded(), patient(), CHARGEMASTER, DIRECTORY).claim
    with_medicaid = patient().model_copy(
        update={"coverages": [*patient().coverages, patient(coverage=MEDICAID).coverages[0]]}
    )

    made = to_secondary(secondary_request(), original, with_medicaid, DOS, TODAY, DIRECTORY)

    assert made.claim.payer.claim_filing_indicator == "MC"  # 2000B: the payer billed now
    assert made.claim.other_payers[0].payer.claim_filing_indicator == "12"  # 2320: the primary
    text = _written(made.claim)
    assert "SBR*S*18*GRP0007******MC~" in text and "SBR*P*18*GRP0007******12~" in text


def test_an_ehr_correction_bills_the_replacement_with_the_plan_first_billed():
    medicare = patient(coverage=MEDICARE)
    original = assemble(coded(), medicare, CHARGEMASTER, DIRECTORY).claim
    made = revised(original, ORIGINAL_ID, "SIM000123", [coded()], medicare, CHARGEMASTER, ORIGINAL_ID, TODAY)
    assert made.claim.frequency_code == "7" and made.claim.payer.claim_filing_indicator == "MB"


def test_the_claims_service_is_built_with_the_directorys_plans():
    from services.claims.app import build

    assert build().deps.filing_indicators == DIRECTORY

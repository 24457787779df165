"""Which claim bills which coded encounter (services/claims/domain/grouping.py), without a database."""

import uuid
from datetime import timedelta

from services.claims.domain.assembly import claim_id_for, grouping_key
from services.claims.domain.grouping import Arrival, Billing, OpenClaim, arrivals, keys, plan
from tests.unit.claims.test_claims_assembly import CHARGEMASTER, DOS, PATIENT_ID, coded, patient

BILLING = Billing(CHARGEMASTER, today=DOS + timedelta(days=1))
SIMBC = "SIMBC"  # the payer of patient()'s primary coverage


def visit(encounter_id: str, code: str = "99213", diagnoses=("I10",), lines: int = 1, **changes):
    return coded(lines=((code, [], 1, [1]),) * lines, diagnoses=diagnoses, encounter_id=encounter_id, **changes)


def arrived(*encounters, billing: Billing = BILLING) -> list[Arrival]:
    return arrivals([(e, f"corr-{e.encounter_id}") for e in encounters], {PATIENT_ID: patient()}, billing)


def billed(result) -> list[list[str]]:
    return [[e.encounter_id for e in bill.encounters] for bill in result.bills]


def stored(*encounters) -> OpenClaim:
    first = encounters[0]
    return OpenClaim(claim_id_for(first.encounter_id), grouping_key(first, SIMBC), "corr-stored", tuple(encounters))


def test_a_patients_encounters_of_one_day_go_on_one_new_claim_named_after_the_first():
    office, lab = visit("ENC-1", "99214", ("I10", "E119")), visit("ENC-2", "83036", ("E119",))
    result = plan(arrived(office, lab), [], BILLING)
    assert billed(result) == [["ENC-1", "ENC-2"]] and result.grown == [] and result.held == []
    [bill] = result.new
    assert bill.claim_id == claim_id_for("ENC-1") and bill.correlation_id == "corr-ENC-1"
    assert bill.key == grouping_key(office, SIMBC)
    assert [line.procedure_code for line in bill.assembly.claim.lines] == ["99214", "83036"]
    assert bill.assembly.claim.diagnoses == ("I10", "E119")


def test_another_date_or_provider_is_another_claim():
    other_day = visit("ENC-2", "83036", date_of_service=(DOS + timedelta(days=-1)).isoformat())
    other_place = visit("ENC-3", "83036", place_of_service="22")
    result = plan(arrived(visit("ENC-1"), other_day, other_place), [], BILLING)
    assert billed(result) == [["ENC-1"], ["ENC-2"], ["ENC-3"]]


def test_a_held_encounter_stays_apart_and_the_others_still_group():
    unpriced = visit("ENC-2", "99499")
    result = plan(arrived(visit("ENC-1"), unpriced, visit("ENC-3", "83036")), [], BILLING)
    assert billed(result) == [["ENC-1", "ENC-3"], ["ENC-2"]]
    [held] = result.held
    assert held.claim_id == claim_id_for("ENC-2") and held.key is None
    assert [f.code for f in held.assembly.findings] == ["price.missing"]


def test_a_held_first_encounter_opens_no_claim_for_the_next():
    result = plan(arrived(visit("ENC-1", "99499"), visit("ENC-2")), [], BILLING)
    assert billed(result) == [["ENC-1"], ["ENC-2"]] and [b.held for b in result.bills] == [True, False]


def test_an_encounter_that_would_make_the_claim_fail_the_scrubber_gets_its_own():
    """Alone each is clean; together the same code twice on one date is a duplicate-line edit."""
    result = plan(arrived(visit("ENC-1"), visit("ENC-2")), [], BILLING)
    assert billed(result) == [["ENC-1"], ["ENC-2"]] and result.held == []


def test_no_more_than_twelve_diagnoses_on_one_claim_the_next_encounter_joins_the_newest():
    first = visit("ENC-1", "99214", tuple(f"M{n:03d}" for n in range(100, 108)))
    second = visit("ENC-2", "83036", tuple(f"M{n:03d}" for n in range(200, 205)))  # 8 + 5 > 12
    third = visit("ENC-3", "36415", ("M200",))
    result = plan(arrived(first, second, third), [], BILLING)
    assert billed(result) == [["ENC-1"], ["ENC-2", "ENC-3"]]
    assert {bill.key for bill in result.bills} == {grouping_key(first, SIMBC)}


def test_no_more_than_fifty_lines_on_one_claim():
    many = coded(lines=tuple(("99213", ["76"], 1, [1]) for _ in range(30)), encounter_id="ENC-1")
    more = coded(lines=tuple(("83036", ["91"], 1, [1]) for _ in range(21)), encounter_id="ENC-2")
    assert billed(plan(arrived(many, more), [], BILLING)) == [["ENC-1"], ["ENC-2"]]
    fewer = coded(lines=tuple(("83036", ["91"], 1, [1]) for _ in range(20)), encounter_id="ENC-3")
    assert billed(plan(arrived(many, fewer), [], BILLING)) == [["ENC-1", "ENC-3"]]


def test_a_payer_that_wants_a_claim_each_gets_one_per_encounter():
    each = Billing(CHARGEMASTER, BILLING.today, billed_each=frozenset({SIMBC}))
    found = arrived(visit("ENC-1"), visit("ENC-2", "83036"), billing=each)
    assert keys(found) == set()
    assert billed(plan(found, [], each)) == [["ENC-1"], ["ENC-2"]]
    other_payer = Billing(CHARGEMASTER, BILLING.today, billed_each=frozenset({"SIMAETNA"}))
    found = arrived(visit("ENC-1"), visit("ENC-2", "83036"), billing=other_payer)
    assert billed(plan(found, [], other_payer)) == [["ENC-1", "ENC-2"]]


def test_grouping_switched_off_bills_each_encounter_alone():
    alone = Billing(CHARGEMASTER, BILLING.today, group_encounters=False)
    assert billed(plan(arrived(visit("ENC-1"), visit("ENC-2", "83036"), billing=alone), [], alone)) == [
        ["ENC-1"],
        ["ENC-2"],
    ]


def test_a_late_arrival_grows_the_stored_open_claim_of_its_key():
    early = visit("ENC-1", "99214")
    found = arrived(visit("ENC-2", "83036"))
    assert keys(found) == {grouping_key(early, SIMBC)}
    result = plan(found, [stored(early)], BILLING)
    assert result.new == [] and billed(result) == [["ENC-1", "ENC-2"]]
    [grown] = result.grown
    assert grown.stored and grown.claim_id == claim_id_for("ENC-1") and grown.correlation_id == "corr-stored"
    assert grown.assembly.claim.patient_control_number == stored(early).claim_id.hex[:20].upper()
    assert grown.assembly.claim.total_charge == CHARGEMASTER["99214"] + CHARGEMASTER["83036"]


def test_of_several_open_claims_of_one_key_the_newest_takes_the_late_arrival():
    full = stored(visit("ENC-1", "99214", tuple(f"M{n:03d}" for n in range(100, 112))))
    newer = stored(visit("ENC-2", "83036", ("M200",)))
    result = plan(arrived(visit("ENC-3", "36415", ("M200",))), [full, newer], BILLING)
    assert billed(result) == [["ENC-2", "ENC-3"]] and result.grown[0].claim_id == newer.claim_id


def test_a_late_arrival_that_does_not_fit_the_stored_claim_starts_its_own_and_the_next_joins_it():
    full = stored(visit("ENC-1", "99214", tuple(f"M{n:03d}" for n in range(100, 112))))
    late, later = visit("ENC-2", "83036", ("M200",)), visit("ENC-3", "36415", ("M200",))
    result = plan(arrived(late, later), [full], BILLING)
    assert billed(result) == [["ENC-2", "ENC-3"]] and result.grown == []


def test_encounters_whose_patient_is_unknown_keep_waiting():
    stranger = visit("ENC-2", patient_id=str(uuid.uuid4()))
    assert [a.coded.encounter_id for a in arrived(visit("ENC-1"), stranger)] == ["ENC-1"]


def test_a_coverage_the_payer_said_is_inactive_holds_the_claim():
    inactive = Billing(CHARGEMASTER, BILLING.today, inactive=frozenset({(PATIENT_ID, "primary", SIMBC)}))
    [arrival] = arrived(visit("ENC-1"), billing=inactive)
    assert arrival.key is None and [f.code for f in arrival.alone.findings] == ["eligibility.inactive"]
    secondary_only = Billing(CHARGEMASTER, BILLING.today, inactive=frozenset({(PATIENT_ID, "secondary", SIMBC)}))
    assert arrived(visit("ENC-1"), billing=secondary_only)[0].alone.claim is not None


def test_the_scrubbers_edits_hold_a_claim_with_a_known_defect():
    [arrival] = arrived(visit("ENC-1"), billing=Billing(CHARGEMASTER, today=DOS - timedelta(days=1)))
    assert [f.code for f in arrival.alone.findings] == ["date.future"]


def test_the_same_encounters_make_the_same_claim_whatever_order_the_partitions_delivered_them_in():
    office, lab, other_day = (
        visit("ENC-1", "99214", ("I10", "E119")),
        visit("ENC-2", "83036", ("E119",)),
        visit("ENC-3", "83036", date_of_service=(DOS + timedelta(days=-1)).isoformat()),
    )
    in_order, reversed_ = (
        plan(arrived(office, lab, other_day), [], BILLING),
        plan(arrived(other_day, lab, office), [], BILLING),
    )
    assert billed(reversed_) == billed(in_order) == [["ENC-1", "ENC-2"], ["ENC-3"]]
    assert [b.claim_id for b in reversed_.bills] == [b.claim_id for b in in_order.bills]
    assert [line.procedure_code for line in reversed_.new[0].assembly.claim.lines] == ["99214", "83036"]

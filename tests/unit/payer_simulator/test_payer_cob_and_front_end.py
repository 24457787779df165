"""The simulator's front end (277CA), contract denial rules by CARC and the secondary payer's
coordination of benefits: every answer valid under pyx12 and every 835 balanced."""

from datetime import date, datetime
from decimal import Decimal

from payer_simulator.claim_status import StatusBook, respond
from payer_simulator.domain.adjudication import adjudicate, coordinate, denial_reason, rule_denials
from payer_simulator.domain.contracts import DenialRule, load_contracts
from payer_simulator.respond import remit
from tests.unit.x12.test_x12_276_277_status import ENV
from x12.claim import Adjustment, Claim, Interchange837, OtherPayer, ServiceLine
from x12.samples import PAYERS, sample_claim, sample_interchange, sample_secondary_claim
from x12.validate import validate_x12
from x12.x270 import Party
from x12.x276 import StatusRequest, render_276
from x12.x277 import parse_277ca
from x12.x277_status import parse_277_status
from x12.x835 import parse_835
from x12.x837p import parse_837p, render_837p

D = Decimal
NOW = datetime(2026, 3, 3, 12, 0)
CONTRACTS = load_contracts()
NO_RANDOM = {k: c.model_copy(update={"random_denial_one_in": 0}) for k, c in CONTRACTS.items()}


def _interchange(*claims: Claim) -> Interchange837:
    base = sample_interchange(1)
    batch = base.transactions[0].model_copy(update={"claims": claims})
    return parse_837p(render_837p(base.model_copy(update={"transactions": (batch,)})))


def _lines(*codes: str) -> tuple[ServiceLine, ...]:
    return tuple(
        ServiceLine(
            line_number=i,
            procedure_code=code,
            units=D(1),
            charge=D("100.00"),
            diagnosis_pointers=(1,),
            service_date=date(2026, 1, 5),
            place_of_service="11",
            control_number=f"L{i}",
        )
        for i, code in enumerate(codes, start=1)
    )


def _claim(*codes: str, **update) -> Claim:
    lines = _lines(*codes)
    return sample_claim(0, payer=PAYERS[0]).model_copy(
        update={"lines": lines, "total_charge": D(100) * len(lines), "prior_authorization": None, **update}
    )


def test_denial_rules_by_carc():
    rules = (
        DenialRule(carc="16", codes=frozenset({"71046"}), without_prior_authorization=True),
        DenialRule(carc="50", codes=frozenset({"J1100"}), unless_diagnosis_prefixes=("M54",)),
        DenialRule(carc="97", codes=frozenset({"36415"}), bundled_with=frozenset({"99214"})),
        DenialRule(carc="29", filed_after_days=365),
    )
    contract = NO_RANDOM["SIMBC"].model_copy(update={"denial_rules": rules})
    claim = _claim("71046", "J1100", "36415", "99214")

    assert rule_denials(claim, contract, date(2026, 2, 1)) == {1: "16", 2: "50", 3: "97"}
    authorised = claim.model_copy(update={"prior_authorization": "AUTH1", "diagnoses": ("M545", "I10")})
    assert rule_denials(authorised, contract, date(2026, 2, 1)) == {3: "97"}
    assert set(rule_denials(authorised, contract, date(2027, 3, 1)).values()) == {"29", "97"}

    payment = adjudicate(claim, contract, D(0), "C1", date(2026, 2, 1)).payment
    denied = [s for s in payment.services if s.paid == 0 and s.adjustments[0].group == "CO"]
    assert [s.adjustments[0].reason for s in denied] == ["16", "50", "97"] and payment.status == "1"
    assert payment.paid > 0


def test_a_claim_whose_every_line_breaks_a_rule_is_denied_whole():
    contract = NO_RANDOM["SIMBC"].model_copy(update={"denial_rules": (DenialRule(carc="29", filed_after_days=90),)})
    payment = adjudicate(_claim("99213", "36415"), contract, D(0), "C1", date(2026, 6, 1)).payment
    assert payment.status == "4" and payment.paid == 0


def test_the_random_denial_can_be_turned_off_per_contract():
    pcn = next(p for p in (f"T{i}" for i in range(10_000)) if denial_reason(p))
    claim = _claim("99213", patient_control_number=pcn)
    assert adjudicate(claim, CONTRACTS["SIMBC"], D(0), "C1").payment.status == "4" or denial_reason(pcn) == "97"
    assert adjudicate(claim, NO_RANDOM["SIMBC"], D(0), "C1").payment.status == "1"


def test_front_end_rejects_unknown_members_in_the_277ca_and_pays_only_the_rest():
    unknown = _claim("99213", patient_control_number="PCNUNKNOWN1")
    unknown = unknown.model_copy(update={"subscriber": unknown.subscriber.model_copy(update={"member_id": "TERM123"})})
    good = _claim("99213", patient_control_number="PCNGOOD1")
    result = remit(_interchange(unknown, good), NO_RANDOM, {}, 1, NOW)

    [ack_text] = result.acknowledgments.values()
    assert validate_x12(ack_text) == []
    statuses = {c.patient_control_number: c for c in parse_277ca(ack_text).claims}
    assert not statuses["PCNUNKNOWN1"].accepted and statuses["PCNUNKNOWN1"].status_code == "164"
    assert statuses["PCNGOOD1"].accepted and statuses["PCNGOOD1"].payer_claim_control_number
    [remit_text] = result.by_payer.values()
    paid = [c for r in parse_835(remit_text).remittances for c in r.claims]
    assert [c.patient_control_number for c in paid] == ["PCNGOOD1"]
    assert paid[0].payer_claim_control_number == statuses["PCNGOOD1"].payer_claim_control_number
    assert result.rejected == 1 and result.isa_used == 2


def test_secondary_pays_what_the_primary_left_to_the_patient_and_balances():
    claim = sample_secondary_claim(4, lines=3)
    primary_left = sum(a.amount for line in claim.other_payers[0].lines for a in line.adjustments if a.group == "PR")
    deductible_met = {("SIMBC", claim.subscriber.member_id, 2026): D("500.00")}
    result = remit(_interchange(claim), NO_RANDOM, deductible_met, 1, NOW)

    [text] = result.by_payer.values()
    assert validate_x12(text) == []
    [payment] = [c for r in parse_835(text).remittances for c in r.claims]  # parse_835 checks the balance
    assert payment.status == "2" and D(0) < payment.paid <= primary_left
    for service in payment.services:
        oa = sum(a.amount for a in service.adjustments if a.group == "OA")
        pr = sum(a.amount for a in service.adjustments if a.group == "PR")
        assert service.charge == service.paid + oa + pr


def test_secondary_never_pays_more_than_its_normal_benefit():
    """Claim-level CAS only (no 2430): the primary left everything to the patient; the secondary pays
    what it would have paid as primary, and the patient keeps the rest."""
    claim = _claim(
        "99213",
        "71046",
        payer_responsibility="S",
        other_payers=(
            OtherPayer(
                responsibility="P",
                subscriber_first_name="A",
                subscriber_last_name="B",
                member_id="X1",
                payer=PAYERS[1],
                paid=D("0.00"),
                adjustments=(Adjustment(group="PR", reason="1", amount=D("200.00")),),
            ),
        ),
    )
    contract = NO_RANDOM["SIMBC"]
    alone = adjudicate(claim.model_copy(update={"payer_responsibility": "P", "other_payers": ()}), contract, D(0), "C")
    secondary = coordinate(claim, contract, D(0), "C").payment

    assert secondary.paid == alone.payment.paid
    assert secondary.patient_responsibility == D("200.00") - secondary.paid
    assert all(s.charge == s.paid + sum(a.amount for a in s.adjustments) for s in secondary.services)


def test_a_secondary_claim_without_the_primary_payment_is_rejected_up_front():
    claim = sample_secondary_claim(2)
    other = claim.other_payers[0].model_copy(update={"paid": None, "lines": (), "adjustments": ()})
    result = remit(_interchange(claim.model_copy(update={"other_payers": (other,)})), NO_RANDOM, {}, 1, NOW)

    [status] = parse_277ca(next(iter(result.acknowledgments.values()))).claims
    assert (status.category, status.status_code) == ("A7", "21") and not result.by_payer


def test_a_pended_member_s_claim_is_accepted_and_never_paid_and_a_276_hears_it_is_in_process(tmp_path):
    """The payer that never answers: the front end accepts the claim, no 835 carries it, and the status
    desk answers P1:20 (pending, in process) with the payer's claim number."""
    sitting = _claim("99213", patient_control_number="PCNPENDED1")
    sitting = sitting.model_copy(update={"subscriber": sitting.subscriber.model_copy(update={"member_id": "PEND77"})})
    good = _claim("99213", patient_control_number="PCNGOOD2")
    result = remit(_interchange(sitting, good), NO_RANDOM, {}, 1, NOW)

    [ack_text] = result.acknowledgments.values()
    statuses = {c.patient_control_number: c for c in parse_277ca(ack_text).claims}
    assert statuses["PCNPENDED1"].accepted and statuses["PCNPENDED1"].payer_claim_control_number
    [remit_text] = result.by_payer.values()
    assert [c.patient_control_number for r in parse_835(remit_text).remittances for c in r.claims] == ["PCNGOOD2"]
    [pended] = result.pended
    assert (pended.patient_control_number, pended.payer_claim_control_number, pended.charge) == (
        "PCNPENDED1",
        statuses["PCNPENDED1"].payer_claim_control_number,
        D("100.00"),
    )

    book = StatusBook(tmp_path / "status.sqlite")
    book.record(result.remitted, date(2026, 3, 3))
    book.record_pended(result.pended, date(2026, 3, 3))
    ask = StatusRequest(
        trace_number="t1",
        payer=Party("SIM BLUE PLAN", "SIMBC"),
        provider=Party("P", "1245319599"),
        member_id="PEND77",
        last_name="Q",
        first_name="A",
        patient_control_number="PCNPENDED1",
        charge=D("100.00"),
        service_from=date(2026, 1, 5),
        service_to=date(2026, 1, 5),
    )
    answer = parse_277_status(respond(render_276(ask, ENV), book, 9, datetime(2026, 4, 9)))
    assert (answer.code, answer.finalized, answer.effective, answer.payer_claim_control_number) == (
        "P1:20",
        False,
        date(2026, 3, 3),
        pended.payer_claim_control_number,
    )


def _paid_claims(result) -> list:
    return [c for text in result.by_payer.values() for r in parse_835(text).remittances for c in r.claims]


def test_a_replacement_reverses_the_earlier_payment_before_paying_again_and_a_void_only_reverses():
    original = _claim("99213", "71046", patient_control_number="PCNORIG1")
    first = remit(_interchange(original), NO_RANDOM, {}, 1, NOW)
    [paid_before] = _paid_claims(first)
    number = paid_before.payer_claim_control_number
    assert first.adjudicated == {number: paid_before}  # what the store keeps to reverse later

    replacement = original.model_copy(
        update={
            "patient_control_number": "PCNREPL1",
            "frequency_code": "7",
            "payer_claim_control_number": number,
            "prior_authorization": "AUTH1",
        }
    )
    second = remit(_interchange(replacement), NO_RANDOM, first.deductibles, 3, NOW, earlier=first.adjudicated)
    [text] = second.by_payer.values()
    assert validate_x12(text) == []
    taken_back, paid_again = _paid_claims(second)
    assert taken_back.status == "22" and taken_back.patient_control_number == "PCNORIG1"
    assert taken_back.payer_claim_control_number == number
    assert (taken_back.charge, taken_back.paid) == (-paid_before.charge, -paid_before.paid)
    assert [a.amount for s in taken_back.services for a in s.adjustments] == [
        -a.amount for s in paid_before.services for a in s.adjustments
    ]
    assert paid_again.patient_control_number == "PCNREPL1" and paid_again.frequency_code == "7"
    assert second.reversed == (number,) and second.paid == paid_again.paid - paid_before.paid
    # The deductible the original took was given back before the replacement took it again.
    assert second.deductibles == first.deductibles

    void = original.model_copy(
        update={"patient_control_number": "PCNVOID1", "frequency_code": "8", "payer_claim_control_number": number}
    )
    third = remit(_interchange(void), NO_RANDOM, first.deductibles, 5, NOW, earlier=first.adjudicated)
    [text] = third.by_payer.values()
    assert validate_x12(text) == []
    [only] = _paid_claims(third)
    assert only.status == "22" and third.adjudicated == {}
    # Nothing is paid this time: the amount taken back is carried forward (PLB FB), BPR is zero.
    [remittance] = parse_835(text).remittances
    assert remittance.payment.amount == 0 and [p.reason for p in remittance.provider_adjustments] == ["FB"]
    # A replacement of a payment already reversed (or never made) reverses nothing.
    assert [c.status for c in _paid_claims(remit(_interchange(replacement), NO_RANDOM, {}, 7, NOW, earlier={}))] == [
        "1"
    ]

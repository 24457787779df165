"""270/271 (005010X279A1): pyx12 has no map for them, so round trip and structure are checked."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.eligibility import respond
from x12.envelope import Envelope, read_interchange
from x12.errors import X12Error
from x12.x270 import Dependent, EligibilityRequest, Party, Subscriber, parse_270, read_270, render_270
from x12.x271 import parse_271, read_271

ENV = Envelope(
    sender_id="OPENRCM01",
    receiver_id="SIMCH",
    control_number=42,
    group_control_number=42,
    created=datetime(2026, 11, 30, 9, 15),
    usage="T",
    functional_id="HS",
    version="005010X279A1",
)


def request(member_id: str = "SIM123456", payer: str = "SIMBC") -> EligibilityRequest:
    return EligibilityRequest(
        trace_number="7f3a9c0e12",
        payer=Party("Sim Blue Plan", payer),
        provider=Party("Springfield Family Medicine", "1245319599"),
        subscriber=Subscriber(member_id, "Zoë", "Ñúñez-Øster", date(1984, 3, 17), "F"),
        service_date=date(2026, 11, 30),
    )


def test_270_round_trips_with_a_sound_envelope():
    text = render_270(request(), ENV)
    _, env = read_interchange(text)  # ISA/GS/ST/SE/GE/IEA counts and control numbers
    assert (env.functional_id, env.version, env.transactions[0].set_id) == ("HS", "005010X279A1", "270")
    assert [s[0] for s in env.transactions[0].segments] == [
        "BHT",
        "HL",
        "NM1",
        "HL",
        "NM1",
        "HL",
        "TRN",
        "NM1",
        "DMG",
        "DTP",
        "EQ",
    ]
    assert len(text.splitlines()[0]) == 106
    _, parsed = parse_270(text)
    assert parsed.subscriber.last_name == "NUNEZ-OSTER" and parsed.subscriber.first_name == "ZOE"
    assert (parsed.trace_number, parsed.subscriber.member_id, parsed.service_date) == (
        "7f3a9c0e12",
        "SIM123456",
        date(2026, 11, 30),
    )


@pytest.mark.parametrize(
    ("member_id", "payer", "active", "rejection"),
    [("SIM123456", "SIMBC", True, None), ("TERM0001", "SIMBC", False, None), ("SIM1", "NOSUCH", False, "72")],
)
def test_the_simulator_answers_every_270_with_a_271(member_id, payer, active, rejection):
    reply = respond(render_270(request(member_id, payer), ENV), load_contracts(), 7)
    _, env = read_interchange(reply)
    assert (env.sender_id, env.receiver_id, env.functional_id) == ("SIMCH", "OPENRCM01", "HB")
    answer = parse_271(reply)
    assert (answer.trace_number, answer.member_id, answer.active, answer.rejection_code) == (
        "7f3a9c0e12",
        member_id,
        active,
        rejection,
    )
    if active:
        assert (answer.copay, answer.deductible_remaining, answer.coinsurance) == (
            Decimal(25),
            Decimal(500),
            Decimal("0.2"),
        )


def test_broken_documents_are_x12_errors_not_crashes():
    text = render_270(request(), ENV)
    with pytest.raises(X12Error):
        parse_270(text.replace("HL*3*2*22*0", "HL*3*2*23*0"))
    with pytest.raises(X12Error):
        parse_271(text)  # a 270 is not a 271
    with pytest.raises(X12Error):
        parse_270(text.replace("SE*13", "SE*12"))
    with pytest.raises(X12Error):
        parse_270(text.replace("DMG*D8*19840317", "DMG*D8*17031984"))


CORPUS = Path(__file__).resolve().parents[2] / "conformance" / "valid"


def test_the_271_trace_is_the_echo_of_ours_even_after_the_payers_own():
    text = (CORPUS / "271" / "written-aaa-subscriber-not-found.x12").read_text()
    both = text.replace("TRN*2*TRACE0001*", "TRN*1*PAYER-OWN-9*9999999999~\nTRN*2*TRACE0001*").replace(
        "SE*12*", "SE*13*"
    )
    (answer,) = read_271(both)
    assert (answer.trace_number, answer.rejection_code, answer.level) == ("TRACE0001", "75", "22")


def test_a_270_about_a_dependent_is_read_with_the_subscribers_member_id():
    _, requests = read_270((CORPUS / "270" / "lfh-dependent-commercial-health-insurance.x12").read_text())
    (request,) = requests
    assert (request.subscriber.member_id, request.subscriber.birth_date) == ("00000000001", None)
    assert request.dependent == Dependent("JANE", "DOE", date(1970, 1, 1), "U")
    assert (request.trace_number, request.service_date, request.service_type) == (
        "930000000000",
        date(2013, 10, 31),
        "30",
    )

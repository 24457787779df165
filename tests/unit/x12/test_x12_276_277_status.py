"""276/277 claim status (005010X212): round trip, structure, and the simulator's answers from what
it adjudicated (its 835s), a denial and a claim it never saw."""

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest

from payer_simulator.claim_status import ClaimStatusDesk, StatusBook, respond
from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from x12.envelope import Envelope, read_interchange
from x12.errors import X12Error
from x12.samples import sample_interchange
from x12.x270 import Party
from x12.x276 import StatusRequest, parse_276, render_276
from x12.x277_status import parse_277_status
from x12.x835 import parse_835
from x12.x837p import parse_837p, render_837p

ENV = Envelope(
    sender_id="OPENRCM01",
    receiver_id="SIMCH",
    control_number=43,
    group_control_number=43,
    created=datetime(2026, 11, 30, 9, 15),
    usage="T",
    functional_id="HR",
    version="005010X212",
)


def request(pcn: str = "A1B2C3D4E5F6A7B8C9D0", payer_number: str | None = None) -> StatusRequest:
    return StatusRequest(
        trace_number="a7c1e9",
        payer=Party("Sim Blue Plan", "SIMBC"),
        provider=Party("Springfield Family Medicine", "1245319599"),
        member_id="SIM123456",
        last_name="Ñúñez",
        first_name="Zoë",
        patient_control_number=pcn,
        charge=Decimal("305.00"),
        service_from=date(2026, 11, 2),
        service_to=date(2026, 11, 2),
        payer_claim_control_number=payer_number,
    )


def test_276_round_trips_with_a_sound_envelope():
    text = render_276(request(payer_number="SIM123"), ENV)
    _, env = read_interchange(text)
    assert (env.functional_id, env.version, env.transactions[0].set_id) == ("HR", "005010X212", "276")
    assert [s[0] for s in env.transactions[0].segments] == [
        "BHT",
        "HL",
        "NM1",
        "HL",
        "NM1",
        "HL",
        "NM1",
        "HL",
        "NM1",
        "TRN",
        "REF",
        "REF",
        "AMT",
        "DTP",
    ]
    _, parsed = parse_276(text)
    assert parsed == StatusRequest(
        **{
            **request(payer_number="SIM123").__dict__,
            "last_name": "NUNEZ",
            "first_name": "ZOE",
            "payer": Party("SIM BLUE PLAN", "SIMBC"),
            "provider": Party("SPRINGFIELD FAMILY MEDICINE", "1245319599"),
        }
    )


def test_a_276_reference_the_guide_does_not_know_is_refused_and_none_is_allowed():
    text = render_276(request(), ENV)
    with pytest.raises(X12Error, match=r"REF at segment 12 \(loop 2200D\), element REF01: REF01 is not a qualifier"):
        parse_276(text.replace("REF*EJ*A1B2C3D4E5F6A7B8C9D0", "REF*XX*A1B2C3D4E5F6A7B8C9D0"))
    # REF*EJ is situational: without it the claim is read, the payer finds it by the rest.
    without = text.replace("REF*EJ*A1B2C3D4E5F6A7B8C9D0~\n", "").replace("SE*15*", "SE*14*")
    _, read = parse_276(without)
    assert (read.patient_control_number, read.trace_number) == ("", request().trace_number)


@pytest.fixture
def book(tmp_path):
    """A book holding every claim of a sample 837 the simulator adjudicated."""
    interchange = parse_837p(render_837p(sample_interchange(30, 2)))
    result = remit(interchange, load_contracts(), {}, 1, datetime(2026, 11, 3, 12, 0))
    book = StatusBook(tmp_path / "status.sqlite")
    book.record(result.remitted, date(2026, 11, 3))
    in_the_835s = [c for text in result.by_payer.values() for r in parse_835(text).remittances for c in r.claims]
    assert [(c.patient_control_number, c.status, c.paid) for c in result.remitted] == [
        (c.patient_control_number, c.status, c.paid) for c in in_the_835s
    ]  # the book holds what the 835s say, in their order
    return book, in_the_835s


def test_the_simulator_answers_paid_denied_and_unknown_claims(book):
    book, claims = book
    paid = next(c for c in claims if c.status == "1" and c.paid)
    denied = next(c for c in claims if c.status == "4")
    for claim, code, amount in ((paid, "F1:65", paid.paid), (denied, "F2:1", Decimal("0.00"))):
        reply = respond(render_276(request(claim.patient_control_number), ENV), book, 9, datetime(2026, 12, 9))
        _, env = read_interchange(reply)
        assert (env.sender_id, env.receiver_id, env.functional_id, env.transactions[0].set_id) == (
            "SIMCH",
            "OPENRCM01",
            "HN",
            "277",
        )
        answer = parse_277_status(reply)
        assert (answer.code, answer.paid, answer.finalized, answer.effective) == (code, amount, True, date(2026, 11, 3))
        assert (answer.trace_number, answer.payer_claim_control_number) == ("a7c1e9", claim.payer_claim_control_number)
    unknown = parse_277_status(respond(render_276(request("NOSUCHCLAIM"), ENV), book, 9, datetime(2026, 12, 9)))
    assert (unknown.code, unknown.finalized, unknown.paid, unknown.effective) == (
        "A4:35",
        False,
        None,
        date(2026, 12, 9),
    )


def test_the_desk_answers_files_and_parks_unreadable_ones(book, tmp_path):
    book, claims = book
    desk = ClaimStatusDesk(tmp_path / "ch", book)
    (desk.outbound / "q1.276.x12").write_text(render_276(request(claims[0].patient_control_number), ENV))
    (desk.outbound / "bad.276.x12").write_text("ISA*garbage~")
    desk.run(threading.Event(), once=True)
    assert parse_277_status((desk.inbound / "q1.277.x12").read_text()).finalized
    assert (desk.archive / "q1.276.x12").exists()
    assert (desk.rejected / "bad.276.x12").exists() and (desk.rejected / "bad.276.x12.reason.txt").exists()

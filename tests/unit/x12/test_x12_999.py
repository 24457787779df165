import pytest

from x12.envelope import peek_envelope
from x12.errors import X12Error
from x12.samples import sample_interchange
from x12.validate import validate_x12
from x12.x837p import render_837p
from x12.x999 import AckError, parse_999, render_999


def test_accepting_999_is_valid_and_acknowledges_every_transaction_set():
    received = sample_interchange(6, providers=3, control_number=31)
    text = render_999(received)

    assert validate_x12(text) == []
    ack = parse_999(text)
    assert (ack.sender_id, ack.receiver_id) == ("SIMCH", "OPENRCM")
    [group] = ack.groups
    assert group.accepted and group.group_control_number == 31 and group.functional_id == "HC"
    assert [t.control_number for t in group.transactions] == ["0001", "0002", "0003"]
    assert all(t.accepted for t in group.transactions)


def test_rejecting_999_is_valid_and_carries_the_errors():
    received = sample_interchange(4, providers=2)
    error = AckError(segment_id="CLM", position=21, loop_id="2300", transaction_control_number="0002")
    text = render_999(received, accepted=False, errors=[error])

    assert validate_x12(text) == []
    [group] = parse_999(text).groups
    assert not group.accepted and group.status == "R"
    first, second = group.transactions
    assert not first.accepted and first.errors == ()
    assert second.errors == (error,)


def test_a_999_can_answer_a_file_known_only_by_its_envelope():
    broken = render_837p(sample_interchange(2)).replace("SE*", "SE*9")
    text = render_999(peek_envelope(broken), accepted=False)

    assert validate_x12(text) == []
    assert not parse_999(text).groups[0].accepted


def test_parse_999_refuses_other_documents():
    with pytest.raises(X12Error, match="not FA 005010X231A1"):
        parse_999(render_837p(sample_interchange(1)))

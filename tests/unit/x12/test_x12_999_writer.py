"""The 999 we write for what the reading model found: one 999 transaction set per functional group
received, an IK3 per segment in error with its IK4s, IK5 per transaction set, AK9 per group; valid
for pyx12 and read back by our own 999 reader."""

from datetime import datetime

from x12.samples import sample_interchange
from x12.validate import validate_x12
from x12.x837p import read_837p, render_837p
from x12.x999 import acknowledge, parse_999

NOW = datetime(2026, 3, 3, 8, 0)


def two_groups(first: str, second: str) -> str:
    """One interchange holding the functional groups of two (ISA of the first, IEA counting two)."""

    def group(text: str) -> list[str]:
        lines = text.splitlines()
        return lines[1:-1]

    lines = first.splitlines()
    return "\n".join([lines[0], *group(first), *group(second), lines[-1].replace("IEA*1*", "IEA*2*")]) + "\n"


def ack_of(text: str) -> str:
    reading = read_837p(text)
    ack = acknowledge(reading.interchange, [s.raw for s in reading.sets], created=NOW)
    assert validate_x12(ack) == []
    return ack


def test_each_functional_group_is_answered_by_its_own_999_set():
    good = render_837p(sample_interchange(2, control_number=5))
    second = render_837p(sample_interchange(3, providers=3, control_number=6)).replace(
        "SBR*P*18*G0001", "SBR*Z*18*G0001"
    )

    ack = parse_999(ack_of(two_groups(good, second)))

    first_group, second_group = ack.groups
    assert (first_group.group_control_number, first_group.status, first_group.counts) == (5, "A", (1, 1, 1))
    assert (second_group.group_control_number, second_group.status, second_group.counts) == (6, "P", (3, 3, 2))
    [rejected] = [t for t in second_group.transactions if t.status == "R"]
    [error] = rejected.errors
    assert (error.segment_id, error.loop_id, error.code) == ("SBR", "2000", "8")
    assert [(e.position, e.code) for e in error.elements] == [(1, "7")]


def test_a_set_whose_trailer_miscounts_is_rejected_without_an_ik3():
    text = render_837p(sample_interchange(1)).replace("SE*26*0001", "SE*25*0001")

    ack = ack_of(text)

    assert "IK5*R*4~" in ack and "IK3" not in ack and "AK9*R*1*1*0~" in ack


def test_a_bad_code_is_copied_but_a_wrong_date_or_number_is_not():
    text = render_837p(sample_interchange(1))
    text = text.replace("SBR*P*18*", "SBR*Q*18*").replace("DMG*D8*19500101", "DMG*D8*19501301")
    text = text.replace("CLM*PCN00000000*125*", "CLM*PCN00000000*12S*")

    ack = ack_of(text)

    assert "IK4*1**7*Q~" in ack  # SBR01: a code
    assert "IK4*2**8~" in ack and "19501301" not in ack  # a birth date: patient data
    assert "IK4*2**6~" in ack and "12S" not in ack  # CLM02: a number, not a code

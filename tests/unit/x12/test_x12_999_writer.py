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
    assert (error.segment_id, error.loop_id, error.code) == ("SBR", None, "8")  # 2000B is no LS/LE loop: no IK303
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


def ik3s(ack: str) -> list[list[str]]:
    return [segment.split("*") for segment in ack.replace("\n", "").split("~") if segment.startswith("IK3*")]


def test_errors_in_the_guides_loops_leave_ik303_empty_as_pyx12_does():
    """IK303 (AN 1-4) names a loop bounded by LS/LE; the 837P has none, so errors in 2010BA, 2300 and
    2400 are placed by segment id and position alone (as pyx12's own 999 writer and the guide's example do)."""
    text = render_837p(sample_interchange(1))
    text = text.replace("DMG*D8*19500101*F", "DMG*D8*19500101*Q")  # 2010BA
    text = text.replace("*11:B:1*Y*A*Y*Y", "*11:B:1*Y*Q*Y*Y")  # 2300 CLM07
    text = text.replace("SV1*HC:99213*125*UN", "SV1*HC:99213*125*ZZ")  # 2400 SV103
    reading = read_837p(text)
    loops = {issue.segment_id: issue.loop for issue in reading.issues}
    assert loops == {"DMG": "2010BA", "CLM": "2300", "SV1": "2400"}  # the reader knows where they are

    ack = ack_of(text)  # valid for pyx12

    assert [(ik3[1], ik3[3]) for ik3 in ik3s(ack)] == [("DMG", ""), ("CLM", ""), ("SV1", "")]
    assert [e.loop_id for e in parse_999(ack).groups[0].transactions[0].errors] == [None, None, None]


def test_ik303_as_other_systems_write_it_is_read_whatever_its_length():
    body = """ST*999*0001*005010X231A1
AK1*HC*31*005010X222A1
AK2*837*0001*005010X222A1
IK3*CLM*22*2300*8
IK4*2*782*1
IK3*NM1*14*2010BA*8
IK4*9*67*1
IK3*REF*57**3
IK3*DTP*30* 2400 *8
IK4*3*1251*8
IK5*R*5
AK9*R*1*1*0
SE*13*0001""".replace("\n", "~")
    isa = "ISA*00*          *00*          *ZZ*SIMCH          *ZZ*OPENRCM        *260302*1000*^*00501*000000501*0*T*:"
    text = f"{isa}~GS*FA*SIMCH*OPENRCM*20260302*1000*501*X*005010X231A1~{body}~GE*1*501~IEA*1*000000501~"

    [transaction] = parse_999(text).groups[0].transactions

    assert [(e.segment_id, e.loop_id) for e in transaction.errors] == [
        ("CLM", "2300"),
        ("NM1", "2010BA"),
        ("REF", None),
        ("DTP", "2400"),
    ]


def test_an_error_inside_a_claim_names_the_claim_as_the_guides_ctx_does():
    """CTX*CLM01 after the IK3 says which claim of the set was wrong (X231A1 loop 2100, business unit
    identifier); an error outside any claim (the subscriber's DMG) names none."""
    text = render_837p(sample_interchange(2))
    text = text.replace("SV1*HC:99214*180*UN", "SV1*HC:99214*180*ZZ")  # the second claim's line, 2400
    text = text.replace("DMG*D8*19500101*F", "DMG*D8*19500101*Q", 1)  # 2010BA: no claim

    ack = ack_of(text)  # valid for pyx12

    segments = ack.replace("\n", "").split("~")
    sv1 = next(i for i, s in enumerate(segments) if s.startswith("IK3*SV1*"))
    dmg = next(i for i, s in enumerate(segments) if s.startswith("IK3*DMG*"))
    assert segments[sv1 + 1] == "CTX*CLM01:PCN00000001" and not segments[dmg + 1].startswith("CTX")
    errors = parse_999(ack).groups[0].transactions[0].errors
    assert {e.segment_id: e.claim for e in errors} == {"DMG": None, "SV1": "PCN00000001"}


def test_a_claim_named_in_ctx_by_another_system_is_read_beside_its_segment_context():
    body = """ST*999*0001*005010X231A1
AK1*HC*31*005010X222A1
AK2*837*0001*005010X222A1
IK3*REF*30**3
CTX*SITUATIONAL TRIGGER*CLM*22**5:3
CTX*CLM01:ACCT 77#12
IK3*NM1*14**8
IK4*9*67*1
IK5*R*5
AK9*R*1*1*0
SE*11*0001""".replace("\n", "~")
    isa = "ISA*00*          *00*          *ZZ*SIMCH          *ZZ*OPENRCM        *260302*1000*^*00501*000000501*0*T*:"
    text = f"{isa}~GS*FA*SIMCH*OPENRCM*20260302*1000*501*X*005010X231A1~{body}~GE*1*501~IEA*1*000000501~"

    [transaction] = parse_999(text).groups[0].transactions

    assert [(e.segment_id, e.claim) for e in transaction.errors] == [("REF", "ACCT 77#12"), ("NM1", None)]

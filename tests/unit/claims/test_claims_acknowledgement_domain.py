"""What a 999 says of the claims of each transaction set we sent (005010X231A1): an accepted set (IK5
A or E) goes on to adjudication, a rejected one (R, M, W, X) is rejected with its own IK3/IK4 reasons,
whatever the group's AK9 (A, E, P or R) says of the others. The 999s are written by hand per the guide."""

import pytest

from services.claims.domain.acknowledgement import batch_outcomes, claims_by_set, set_answers
from x12.errors import X12Error
from x12.samples import sample_interchange
from x12.validate import validate_x12
from x12.x837p import claim_numbers_by_set, render_837p
from x12.x999 import parse_999

# what we sent: interchange 31, two billing providers, so two transaction sets of two claims each
SENT = claim_numbers_by_set(render_837p(sample_interchange(4, providers=2, control_number=31)))


def a_999(*body: str) -> str:
    """A 999 interchange from the clearinghouse around these segments (AK1 to AK9)."""
    segments = ["ST*999*0001*005010X231A1", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return (
        "~\n".join(
            [
                "ISA*00*          *00*          *ZZ*SIMCH          *ZZ*OPENRCM        *260302*1000*^*00501*000000501*0*T*:",
                "GS*FA*SIMCH*OPENRCM*20260302*1000*501*X*005010X231A1",
                *segments,
                "GE*1*501",
                "IEA*1*000000501",
            ]
        )
        + "~\n"
    )


PARTIAL = a_999(
    "AK1*HC*31*005010X222A1",
    "AK2*837*0001*005010X222A1",
    "IK5*A",
    "AK2*837*0002*005010X222A1",
    "IK3*DMG*17**8",
    "IK4*3*1068*7",
    "IK5*R*5",
    "AK9*P*2*2*1",
)


def answers_of(text: str) -> tuple[dict[str, tuple], list[str]]:
    [outcome] = batch_outcomes(parse_999(text))
    answers, unknown = set_answers(outcome, SENT)
    return {a.control_number: (a.accepted, a.claims, a.reasons) for a in answers}, unknown


def test_what_we_sent_is_read_per_transaction_set():
    assert SENT == {"0001": ("PCN00000000", "PCN00000002"), "0002": ("PCN00000001", "PCN00000003")}


def test_the_claims_of_each_set_we_sent_are_found_by_their_st_and_clm_segments_as_the_reader_finds_them():
    sent = render_837p(sample_interchange(7, providers=3, control_number=32))
    other_separators = sent.replace("*", "|").replace("~", "!")  # as the ISA header says: any may be used
    for text in (sent, sent.replace("\n", ""), other_separators):
        assert claims_by_set(text) == claim_numbers_by_set(text)
    assert len(claims_by_set(sent)) == 3 and sum(map(len, claims_by_set(sent).values())) == 7
    with pytest.raises(X12Error):  # not an interchange: the reader says why
        claims_by_set("GS*HC~ST*837*0001~CLM*X*1~")


def test_a_partially_accepted_group_rejects_only_the_claims_of_its_rejected_set():
    assert validate_x12(PARTIAL) == []  # the hand-written 999 follows the guide

    answers, unknown = answers_of(PARTIAL)

    assert unknown == []
    assert answers["0001"] == (True, ("PCN00000000", "PCN00000002"), [])
    accepted, claims, [reason] = answers["0002"]
    assert (accepted, claims) == (False, ("PCN00000001", "PCN00000003"))
    assert (reason.code, reason.segment) == ("IK4:7", "DMG")
    assert reason.message == (
        "DMG03 (data element 1068) of segment DMG at position 17 in transaction set 0002: invalid code"
    )


def test_a_rejected_group_rejects_every_set_each_with_its_own_reasons():
    text = a_999(
        "AK1*HC*31*005010X222A1",
        "AK2*837*0001*005010X222A1",
        "IK3*NM1*8**8",
        "IK4*9*67*1",
        "IK3*ZZZ*14**1",
        "IK5*R*5",
        "AK2*837*0002*005010X222A1",
        "IK5*R*4",
        "AK9*R*2*2*0",
    )

    answers, _ = answers_of(text)

    first, second = answers["0001"], answers["0002"]
    assert not first[0] and [(r.code, r.segment) for r in first[2]] == [("IK4:1", "NM1"), ("IK3:1", "ZZZ")]
    assert first[2][0].message.startswith("NM109 (data element 67) of segment NM1 at position 8")
    assert "unrecognized segment" in first[2][1].message
    assert not second[0] and [(r.code, r.message) for r in second[2]] == [
        ("IK5:4", "transaction set 0002: segment count wrong")
    ]


def test_a_group_rejected_without_naming_its_sets_rejects_them_all_with_the_ak9_codes():
    answers, _ = answers_of(a_999("AK1*HC*31*005010X222A1", "AK9*R*2*0*0*4"))

    assert [(a[0], a[1]) for a in answers.values()] == [
        (False, ("PCN00000000", "PCN00000002")),
        (False, ("PCN00000001", "PCN00000003")),
    ]
    [reason] = answers["0001"][2]
    assert reason.code == "AK9:R" and reason.message == "the clearinghouse rejected the whole file (AK9 codes 4)"


@pytest.mark.parametrize("group, first, second", [("A", "A", "A"), ("E", "E", "A"), ("A", "A", None)])
def test_accepted_groups_accept_every_set_named_or_not(group, first, second):
    body = ["AK1*HC*31*005010X222A1", "AK2*837*0001*005010X222A1", f"IK5*{first}"]
    if second:
        body += ["AK2*837*0002*005010X222A1", f"IK5*{second}"]
    text = a_999(*body, f"AK9*{group}*2*2*2")

    answers, unknown = answers_of(text)

    assert unknown == [] and all(accepted and not reasons for accepted, _, reasons in answers.values())


def test_a_set_we_never_sent_answers_no_claim_and_is_reported():
    text = a_999(
        "AK1*HC*31*005010X222A1",
        "AK2*837*0001*005010X222A1",
        "IK5*A",
        "AK2*837*0007*005010X222A1",
        "IK3*CLM*19**8",
        "IK4*2*782*6",
        "IK5*R*5",
        "AK9*P*2*2*1",
    )

    answers, unknown = answers_of(text)

    assert unknown == ["0007"]
    assert sorted(answers) == ["0001", "0002"] and all(a[0] for a in answers.values())


def test_security_rejections_reject_the_set():
    text = a_999("AK1*HC*31*005010X222A1", "AK2*837*0001*005010X222A1", "IK5*X", "AK9*P*2*2*1")

    answers, _ = answers_of(text)

    assert answers["0001"][0] is False and answers["0002"][0] is True
    assert answers["0001"][2][0].code == "IK5:X"


def test_a_group_rejected_set_by_set_leaves_a_set_it_does_not_name_unanswered():
    text = a_999("AK1*HC*31*005010X222A1", "AK2*837*0002*005010X222A1", "IK5*R", "AK9*R*1*1*0")

    answers, unknown = answers_of(text)

    assert unknown == [] and list(answers) == ["0002"] and answers["0002"][0] is False


def test_a_reason_inside_a_claim_says_which_claim_the_clearinghouse_named():
    rejected = a_999(
        "AK1*HC*31*005010X222A1",
        "AK2*837*0001*005010X222A1",
        "IK3*SV1*40**8",
        "CTX*CLM01:PCN00000002",
        "IK4*1**7",
        "IK5*R*5",
        "AK9*R*1*1*0",
    )
    assert validate_x12(rejected) == []

    answers, _ = answers_of(rejected)

    accepted, claims, [reason] = answers["0001"]
    assert not accepted and claims == ("PCN00000000", "PCN00000002")  # the whole set goes back
    assert reason.message.startswith("SV101 of segment SV1 at position 40 of claim PCN00000002 ")

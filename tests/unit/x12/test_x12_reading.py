"""The X12 reading model (x12/reading.py) on a small guide: what is placed where, what is reported (with
position, loop, element and the 999 codes), and the envelope (separators, groups, TA1, trailers)."""

import pytest

from x12.errors import X12Error
from x12.reading import MANY, Guide, el, loop, read_envelope, read_sets, req, seg

# Header BGN (required), REF*AB (situational, twice at most); loop 1000 (at most 2) opened by N1*PR,
# holding N3 (required) and the DTM run 007/008 (any order); loop 2000 opened by LX, MNY amounts.
GUIDE = Guide(
    "005010XTEST",
    "999",
    "FA",
    (
        seg("BGN", "beginning", "R", 1, req(1, "purpose", "ID", "00 18"), req(2, "date", "DT")),
        seg("REF*AB", "reference", "S", 2, req(2, "reference")),
        loop(
            "1000",
            "party",
            "R",
            2,
            seg("N1*PR", "party name", "R", 1, req(2, "name")),
            seg("N3", "party address", "R", 1),
            seg("DTM*007", "effective date", "S", 1, req(2, "date", "DT")),
            seg("DTM*008", "expiry date", "S", 1, req(2, "date", "DT")),
        ),
        loop(
            "2000",
            "line",
            "S",
            MANY,
            seg("LX", "line number", "R", 1, req(1, "number", "N")),
            seg("MNY", "amount", "S", 1, req(1, "amount", "R"), el(2, "kind", "ID", "A B", component=1)),
        ),
    ),
)


def document(*body: str, elements: str = "*", components: str = ":", terminator: str = "~", version="005010XTEST"):
    isa = f"ISA*00*{'':10}*00*{'':10}*ZZ*{'SENDER':<15}*ZZ*{'RECEIVER':<15}*240315*1200*^*00501*000000001*0*T*:~"
    segments = [
        f"GS*FA*SENDER*RECEIVER*20240315*1200*1*X*{version}",
        f"ST*999*0001*{version}",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    text = isa + "\n" + "".join(s + "~\n" for s in segments)
    return text.replace("*", elements).replace(":", components).replace("~", terminator)


GOOD = ("BGN*00*20240315", "N1*PR*PAYER", "N3*1 MAIN ST", "LX*1", "MNY*10.50*A")


def issues(*body: str) -> list[tuple]:
    _, (read,) = read_sets(document(*body), GUIDE)
    return [(i.segment_id, i.position, i.loop, i.ik3, i.element, i.component, i.ik4) for i in read.issues]


def test_a_file_that_follows_the_guide_is_walked_into_its_loops():
    _, (read,) = read_sets(document(*GOOD), GUIDE)
    assert read.issues == ()
    assert [s.id for s in read.root.segments] == ["BGN"]
    (party,) = read.root.children("1000")
    (line,) = read.root.children("2000")
    assert [s.id for s in party.segments] == ["N1", "N3"] and party.opener[2] == "PAYER"
    assert (line.opener.position, line.seg("MNY")[1], line.seg("MNY").loop) == (5, "10.50", "2000")


def test_situational_segments_are_kept_and_one_positions_variants_come_in_any_order():
    body = ("BGN*00*20240315", "REF*AB*X1", "N1*PR*PAYER", "N3*1 MAIN ST", "DTM*008*20241231", "DTM*007*20240101")
    assert issues(*body) == []
    _, (read,) = read_sets(document(*body), GUIDE)
    (party,) = read.root.children("1000")
    assert [(s.id, s[1]) for s in party.segments[2:]] == [("DTM", "008"), ("DTM", "007")]
    assert read.root.seg("REF", "AB")[2] == "X1"


def test_a_missing_required_segment_is_named_where_it_should_be():
    assert issues("BGN*00*20240315", "N1*PR*PAYER", "LX*1") == [("N3", 4, "1000", "3", None, None, None)]
    assert issues("N1*PR*PAYER", "N3*A") == [("BGN", 2, None, "3", None, None, None)]


def test_a_missing_loop_opener_is_the_error_and_the_loop_is_read_anyway():
    # N1*PR is gone: its N3 cannot be placed before it, but what follows reads as the loop it was.
    assert issues("BGN*00*20240315", "N3*1 MAIN ST", "DTM*007*20240101", "LX*1") == [
        ("N1", 3, "1000", "3", None, None, None)
    ]


def test_unknown_and_misplaced_segments_are_reported_never_skipped():
    assert issues("BGN*00*20240315", "N1*PR*PAYER", "ZZZ*1", "N3*A") == [("ZZZ", 4, "1000", "1", None, None, None)]
    assert issues(*GOOD[:3], "BGN*00*20240315", *GOOD[3:]) == [("BGN", 5, "1000", "7", None, None, None)]


def test_maximum_use_and_maximum_repeat():
    refs = ("BGN*00*20240315", "REF*AB*1", "REF*AB*2", "REF*AB*3", "N1*PR*A", "N3*A")
    assert issues(*refs) == [("REF", 5, None, "5", None, None, None)]
    parties = ("BGN*00*20240315", "N1*PR*A", "N3*A", "N1*PR*B", "N3*B", "N1*PR*C", "N3*C")
    assert issues(*parties) == [("N1", 7, "1000", "4", None, None, None)]


def test_a_qualifier_the_guide_does_not_list_is_an_element_error():
    assert issues("BGN*00*20240315", "REF*ZZ*1", "N1*PR*A", "N3*A") == [("REF", 3, None, "8", 1, None, "7")]


def test_element_errors_name_the_element_and_what_is_wrong():
    assert issues("BGN**20241301", "N1*PR*A", "N3*A", "LX*one", "MNY*1O*C") == [
        ("BGN", 2, None, "8", 1, None, "1"),  # required
        ("BGN", 2, None, "8", 2, None, "8"),  # not a date
        ("LX", 5, "2000", "8", 1, None, "6"),  # not a whole number
        ("MNY", 6, "2000", "8", 1, None, "6"),  # not a number
        ("MNY", 6, "2000", "8", 2, 1, "7"),  # not a code the guide allows (a composite's first component)
    ]


def test_trailer_errors_are_the_sets():
    text = document(*GOOD).replace("SE*7*0001", "SE*9*0002")
    _, (read,) = read_sets(text, GUIDE)
    assert [(i.segment_id, i.position, i.element, i.ik5) for i in read.issues] == [("SE", 7, 1, "4"), ("SE", 7, 2, "3")]


def test_a_segment_id_glued_to_its_first_element_is_reported_and_read_as_meant():
    # LX1 is LX*1 with its separator lost: an unknown segment, but what follows still reads in place.
    assert issues(*GOOD[:3], "LX1", "MNY*10.50*A") == [("LX1", 5, "2000", "1", None, None, None)]


def test_separators_come_from_the_isa_and_every_group_and_ta1_is_read():
    text = document(*GOOD, elements="|", components=">", terminator="\n")
    interchange, (read,) = read_sets(text, GUIDE)
    assert (interchange.separators.element, interchange.separators.component, read.issues) == ("|", ">", ())
    first = document(*GOOD)
    second_group = "GS*FA*SENDER*RECEIVER*20240315*1200*2*X*005010XTEST~\nST*999*0002~\nSE*2*0002~\nGE*1*2~\n"
    two = first.replace("IEA*1*", second_group + "IEA*2*")
    with_ta1 = two.replace("~\nGS*", "~\nTA1*000000007*240315*1100*A*000~\nGS*", 1)
    interchange = read_envelope(with_ta1)
    assert [g.control_number for g in interchange.groups] == [1, 2]
    assert [(a.control_number, a.code) for a in interchange.acks] == [("000000007", "A")]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t.replace("SENDER         *", "SENDER *", 1), "ISA06 must be 15 characters"),
        (lambda t: t.replace("IEA*1*", "IEA*2*"), "IEA does not count"),
        (lambda t: t.replace("GE*1*1", "GE*1*9"), "GE does not count"),
        (lambda t: t.replace("GS*FA", "GS*HP"), "functional group 1 is HP"),
        (lambda t: t.replace("GE*1*1~\n", ""), "no GE trailer"),
        (lambda t: t[3:], "does not start with a complete ISA"),
        (lambda t: t[: t.index("ST*")] + "GE*0*1~\n" + t[t.index("IEA*") :], "holds no transaction set"),
    ],
)
def test_a_broken_envelope_refuses_the_interchange(damage, message):
    with pytest.raises(X12Error, match=message):
        read_sets(damage(document(*GOOD)), GUIDE)

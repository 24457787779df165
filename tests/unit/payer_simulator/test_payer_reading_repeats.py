"""The payer reads the same service line again and again (x12/x837p/known.py keeps lines it has
validated): a line seen before must read as it would alone, in any claim."""

from x12.samples import sample_interchange
from x12.x837p import read_837p, render_837p

# Two claims billing the same line (99213, 125.00 on 2026-01-05, line control number L0-1), the second
# at another place of service (CLM05-1 22), which its line takes as SV105 is empty.
SAME_LINE_TWICE = (
    render_837p(sample_interchange(2))
    .replace("CLM*PCN00000001*180***11:B:1", "CLM*PCN00000001*125***22:B:1")
    .replace("SV1*HC:99214*180*UN*1***1~", "SV1*HC:99213*125*UN*1***1~")
    .replace("DTP*472*D8*20260106~", "DTP*472*D8*20260105~")
    .replace("REF*6R*L1-1~", "REF*6R*L0-1~")
)


def test_a_line_seen_before_takes_its_claims_place_of_service():
    for _ in range(2):  # the second reading finds both lines known
        first, second = (c.claim for c in read_837p(SAME_LINE_TWICE).claims)
        assert first is not None and second is not None
        assert (first.lines[0].place_of_service, second.lines[0].place_of_service) == ("11", "22")
        assert first.lines[0].model_copy(update={"place_of_service": "22"}) == second.lines[0]


def test_a_line_invalid_alone_is_a_finding_of_each_claim_it_is_in():
    text = SAME_LINE_TWICE.replace("SV1*HC:99213*", "SV1*HC:9921*")
    for _ in range(2):
        claims = read_837p(text).claims
        assert [c.claim for c in claims] == [None, None]
        for claim in claims:
            found = [(f.issue.segment_id, f.issue.reason.split(": ")[-1]) for f in claim.findings]
            assert found == [
                ("CLM", "tuple should have at least 1 item after validation, not 0"),
                ("SV1", "value error, an HC procedure code (CPT or HCPCS) has 5 characters"),
            ]

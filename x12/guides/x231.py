"""999 implementation acknowledgment, 005010X231A1: per transaction set received (AK2), the segment
errors (IK3, with IK4 element errors and CTX context) and the set's verdict (IK5); the group's verdict
and counts (AK9)."""

from x12.reading import MANY, Guide, el, loop, req, seg

VERSION = "005010X231A1"
SEGMENT_ERRORS = "1 2 3 4 5 6 7 8 I4 I6 I7 I8 I9"
ELEMENT_ERRORS = "1 2 3 4 5 6 7 8 9 10 12 13 I10 I11 I12 I13 I6 I9"
SET_ERRORS = "1 2 3 4 5 6 7 8 9 10 11 12 13 15 16 17 18 19 23 24 25 26 27 I5 I6"
GROUP_ERRORS = "1 2 3 4 5 6 10 11 12 13 14 15 16 17 18 19 23 24 25 26"

GUIDE = Guide(
    VERSION,
    "999",
    "FA",
    (
        seg(
            "AK1",
            "functional group response header",
            "R",
            1,
            req(1, "functional identifier code"),
            req(2, "group control number", "N"),
            req(3, "version identifier"),
        ),
        loop(
            "2000",
            "transaction set response header",
            "S",
            MANY,
            seg(
                "AK2",
                "transaction set response header",
                "R",
                1,
                req(1, "transaction set identifier"),
                req(2, "control number"),
            ),
            loop(
                "2100",
                "error identification",
                "S",
                MANY,
                seg(
                    "IK3",
                    "error identification",
                    "R",
                    1,
                    req(1, "segment id code"),
                    req(2, "segment position in transaction set", "N"),
                    el(4, "implementation segment syntax error code", "ID", SEGMENT_ERRORS),
                ),
                seg("CTX", "segment context or business unit identifier (CLM01)", "S", 10),
                loop(
                    "2110",
                    "implementation data element note",
                    "S",
                    MANY,
                    seg(
                        "IK4",
                        "implementation data element note",
                        "R",
                        1,
                        req(1, "position in segment", "N", component=1),
                        req(3, "implementation data element syntax error code", "ID", ELEMENT_ERRORS),
                    ),
                    seg("CTX", "element context", "S", 10),
                ),
            ),
            seg(
                "IK5",
                "transaction set response trailer",
                "R",
                1,
                req(1, "transaction set acknowledgment code", "ID", "A E M R W X"),
                *(el(n, "implementation transaction set syntax error code", "ID", SET_ERRORS) for n in range(2, 7)),
            ),
        ),
        seg(
            "AK9",
            "functional group response trailer",
            "R",
            1,
            req(1, "functional group acknowledge code", "ID", "A E M P R W X"),
            req(2, "number of transaction sets included", "N"),
            req(3, "number of received transaction sets", "N"),
            req(4, "number of accepted transaction sets", "N"),
            *(el(n, "functional group syntax error code", "ID", GROUP_ERRORS) for n in range(5, 10)),
        ),
    ),
)

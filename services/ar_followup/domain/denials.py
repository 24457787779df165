"""Denials by CARC category, and the action each category calls for. Our own short categories
over the code numbers (the official CARC descriptions are X12's and are not shipped). Pure."""

from dataclasses import dataclass
from decimal import Decimal

from shared.contracts.events import Adjustment, PaymentPostedV1

ZERO = Decimal("0.00")
# Reasons that are the contract working as agreed (CO 45, 253, 94, 131, 144), or coordination of
# benefits working as agreed (23: the prior payer's adjudication, on a secondary's claim): not a denial.
ROUTINE = frozenset({"45", "253", "94", "131", "144", "23"})

CATEGORIES: dict[str, frozenset[str]] = {
    # the claim was wrong or incomplete: send a corrected replacement (frequency 7)
    "correctable": frozenset(
        {
            "4",
            "5",
            "6",
            "7",
            "8",
            "9",
            "10",
            "11",
            "16",
            "31",
            "125",
            "140",
            "146",
            "181",
            "182",
            "189",
            "199",
            "208",
            "A1",
        }
    ),
    "medical_necessity": frozenset({"50", "55", "56", "150", "151", "152", "167", "96"}),
    "bundling": frozenset({"97", "234", "236", "B15", "59"}),
    "other_payer_primary": frozenset({"22", "109", "24", "B11"}),
    "timely_filing": frozenset({"29"}),
    "authorization": frozenset({"15", "62", "197", "198"}),
    "eligibility": frozenset({"26", "27", "33", "177", "200"}),
    "duplicate": frozenset({"18"}),
}
# What resolving each category means; "correct" publishes claim.correction-requested, "write_off" books
# an adjustment with the category as reason, the others are a person's work with the payer.
ACTIONS: dict[str, str] = {
    "correctable": "correct",
    "medical_necessity": "appeal",
    "bundling": "review_bundling",
    "other_payer_primary": "bill_other_payer",
    "timely_filing": "write_off",
    "authorization": "appeal",
    "eligibility": "verify_coverage",
    "duplicate": "close",
    "other": "review",
}


def category(carc: str) -> str:
    for name, codes in CATEGORIES.items():
        if carc in codes:
            return name
    return "other"


@dataclass(frozen=True)
class Denial:
    category: str
    carc_codes: tuple[str, ...]
    amount: Decimal  # what the payer refused, the money this follow-up can win back


def _denied_adjustments(posting: PaymentPostedV1) -> list[Adjustment]:
    adjustments = [*posting.claim_adjustments, *(a for line in posting.lines for a in line.adjustments)]
    return [
        a for a in adjustments if a.group_code in ("CO", "OA", "PI") and a.reason_code not in ROUTINE and a.amount > 0
    ]


def denial(posting: PaymentPostedV1) -> Denial | None:
    """The denial a posting carries (whole claim, or some lines), by the category of its largest CARC."""
    refused = _denied_adjustments(posting)
    if not refused:
        if posting.denied:  # a denial that names no reason still needs a person
            return Denial(
                "other", tuple(posting.carc_codes), posting.amounts.contractual + posting.amounts.other_adjustments
            )
        return None
    by_code: dict[str, Decimal] = {}
    for adjustment in refused:
        by_code[adjustment.reason_code] = by_code.get(adjustment.reason_code, ZERO) + adjustment.amount
    main = max(by_code, key=lambda code: (by_code[code], code))
    return Denial(category(main), tuple(sorted(by_code)), sum(by_code.values(), ZERO))

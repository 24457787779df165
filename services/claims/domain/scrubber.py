"""The scrubber: what a payer's front end would reject, checked before the claim is sent. Pure.

Each edit that fails gives a finding: the field, what is wrong and how to fix it. A claim with any
finding is held in the work queue and never sent. (Form checks, e.g. NPI check digits, separator
characters, pointers, totals, already refuse to build a claim at all; these are the rules across
fields and dates that a well-formed claim can still break.)"""

from collections import Counter
from datetime import date

from shared.contracts.events import Finding
from x12.claim import Claim, ServiceLine

TIMELY_FILING_DAYS = 365  # the common commercial limit; payers may be stricter
REPEAT_MODIFIERS = frozenset({"59", "76", "77", "91", "XE", "XS", "XP", "XU", "RT", "LT"})
E_M_CODES = frozenset(f"992{n:02d}" for n in range(2, 16))


def _finding(field: str, code: str, problem: str, fix: str) -> Finding:
    return Finding(field=field, code=code, message=f"{problem}; fix: {fix}")


def scrub(claim: Claim, today: date, timely_filing_days: int = TIMELY_FILING_DAYS) -> list[Finding]:
    findings: list[Finding] = []
    for i, line in enumerate(claim.lines):
        findings += _dates(claim, f"lines[{i}]", line, today, timely_filing_days)
        findings += _charge_and_modifiers(claim, f"lines[{i}]", line)
    return findings + _duplicates(claim) + _coordination_and_referral(claim)


def _dates(claim: Claim, where: str, line: ServiceLine, today: date, timely_filing_days: int) -> list[Finding]:
    findings = []
    if line.service_date > today:
        findings.append(
            _finding(
                f"{where}.service_date",
                "date.future",
                "the service date is in the future",
                "bill the visit once it has happened",
            )
        )
    elif (today - line.service_date).days > timely_filing_days:
        findings.append(
            _finding(
                f"{where}.service_date",
                "timely_filing.expired",
                f"more than {timely_filing_days} days since the service",
                "send proof of timely filing or write the charge off",
            )
        )
    people = [("subscriber", claim.subscriber.birth_date)]
    if claim.patient:
        people.append(("patient", claim.patient.birth_date))
    for who, born in people:
        if born is not None and born > line.service_date:
            findings.append(
                _finding(
                    f"{who}.birth_date",
                    "birth_date.after_service",
                    "born after the date of service",
                    f"correct the {who}'s birth date",
                )
            )
    return findings


def _charge_and_modifiers(claim: Claim, where: str, line: ServiceLine) -> list[Finding]:
    findings = []
    if line.charge <= 0:
        findings.append(
            _finding(f"{where}.charge", "charge.zero", "a line without a charge", "price the code in the chargemaster")
        )
    if line.procedure_code in E_M_CODES and "25" in line.modifiers and len(claim.lines) == 1:
        findings.append(
            _finding(
                f"{where}.modifiers",
                "modifier.25_alone",
                "modifier 25 on a visit billed without another procedure",
                "remove modifier 25 or add the procedure it separates the visit from",
            )
        )
    return findings


def _duplicates(claim: Claim) -> list[Finding]:
    seen = Counter((line.procedure_code, line.modifiers, line.service_date) for line in claim.lines)
    return [
        _finding(
            f"lines[{i}].procedure_code",
            "line.duplicate",
            "the same code twice on one date without a repeat or distinct-service modifier",
            "merge the lines into units, or add 76, 77, 91 or 59/X{EPSU}",
        )
        for i, line in enumerate(claim.lines)
        if seen[(line.procedure_code, line.modifiers, line.service_date)] > 1
        and not REPEAT_MODIFIERS & set(line.modifiers)
    ]


def _coordination_and_referral(claim: Claim) -> list[Finding]:
    findings = []
    if claim.payer_responsibility != "P" and all(o.paid is None for o in claim.other_payers):
        findings.append(
            _finding(
                "other_payers",
                "cob.primary_unpaid",
                "a secondary claim without the primary's payment",
                "post the primary's 835 first",
            )
        )
    rendering, referring = claim.rendering_provider, claim.referring_provider
    if rendering and referring and rendering.npi == referring.npi:
        findings.append(
            _finding(
                "referring_provider.npi",
                "referring.self",
                "the provider refers to themself",
                "leave the referring provider out",
            )
        )
    return findings

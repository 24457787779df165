"""What people type into the console's forms, read into the services' request bodies; each problem is
named by the field it is about, so the form can say it next to that field."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.console.domain.formatting import parse_amount

Form = Mapping[str, str]
SPLIT = re.compile(r"[\s,;]+")
PROCEDURE = re.compile(r"^[A-Z0-9]{5}$")
MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
ICD = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
AUTHORIZATION = re.compile(r"^[A-Za-z0-9-]{1,50}$")


@dataclass
class Read:
    """A form read: the body for the service, and the problems by field (empty: send it)."""

    body: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def words(text: str | None) -> list[str]:
    return [w for w in SPLIT.split((text or "").strip().upper()) if w]


def diagnoses(text: str | None, read: Read, name: str = "diagnoses") -> list[str]:
    codes = words(text)
    wrong = [c for c in codes if not ICD.match(c)]
    if wrong:
        read.problems[name] = f"not ICD-10-CM codes: {', '.join(wrong)} (e.g. E11.9)"
    elif not codes:
        read.problems[name] = "name at least one diagnosis"
    elif len(codes) > 12:
        read.problems[name] = "at most 12 diagnoses on a claim"
    return codes


def _numbers(text: str | None, read: Read, name: str, low: int, high: int) -> list[int]:
    values = words(text)
    if not all(v.isdigit() and low <= int(v) <= high for v in values):
        read.problems[name] = f"whole numbers from {low} to {high}"
        return []
    return [int(v) for v in values]


def line(form: Form, n: int, read: Read, diagnoses_count: int) -> dict[str, Any] | None:
    """Service line n of a form (fields line-n-code, -modifiers, -units, -pointers); None when left empty."""
    code = (form.get(f"line-{n}-code") or "").strip().upper()
    if not code:
        return None
    if not PROCEDURE.match(code):
        read.problems[f"line-{n}-code"] = "a CPT or HCPCS code: 5 letters or digits"
    modifiers = words(form.get(f"line-{n}-modifiers"))
    if len(modifiers) > 4 or not all(MODIFIER.match(m) for m in modifiers):
        read.problems[f"line-{n}-modifiers"] = "up to 4 two-character modifiers, e.g. 25 59"
    units = _numbers(form.get(f"line-{n}-units") or "1", read, f"line-{n}-units", 1, 999)
    pointers = _numbers(form.get(f"line-{n}-pointers"), read, f"line-{n}-pointers", 1, max(diagnoses_count, 1))
    if not pointers and f"line-{n}-pointers" not in read.problems:
        read.problems[f"line-{n}-pointers"] = "point at 1 to 4 diagnoses by their number, e.g. 1 2"
    elif len(pointers) > 4:
        read.problems[f"line-{n}-pointers"] = "at most 4 pointers"
    return {"procedure_code": code, "modifiers": modifiers, "units": units[0] if units else 1,
            "diagnosis_pointers": pointers}  # fmt: skip


def amendment(form: Form, rows: int) -> Read:
    """The coder's amendment: coding's POST /v1/work-queue/{id}/amend body."""
    read = Read()
    codes = diagnoses(form.get("diagnoses"), read)
    lines = [found for n in range(1, rows + 1) if (found := line(form, n, read, len(codes))) is not None]
    if not lines:
        read.problems["line-1-code"] = "bill at least one service line"
    read.body = {"diagnoses": codes, "service_lines": lines, **_note(form)}
    return read


def changes(form: Form, billed: Sequence[Mapping[str, Any]], billed_diagnoses: Sequence[str],
            billed_authorization: str | None) -> Read:  # fmt: skip
    """A correction or a fix: only what differs from what was billed (claims' ClaimChanges)."""
    read = Read()
    found: dict[str, Any] = {}
    codes = diagnoses(form.get("diagnoses"), read) if form.get("diagnoses") else list(billed_diagnoses)
    if form.get("diagnoses") and [c.replace(".", "") for c in codes] != [c.replace(".", "") for c in billed_diagnoses]:
        found["diagnoses"] = codes
    authorization = (form.get("prior_authorization") or "").strip()
    if authorization and authorization != (billed_authorization or ""):
        if AUTHORIZATION.match(authorization):
            found["prior_authorization"] = authorization
        else:
            read.problems["prior_authorization"] = "letters, digits and dashes, at most 50"
    lines = [_line_change(form, before, read, len(codes)) for before in billed]
    if changed := [change for change in lines if change]:
        found["lines"] = changed
    read.body = found
    return read


def _line_change(form: Form, before: Mapping[str, Any], read: Read, diagnoses_count: int) -> dict[str, Any]:
    n = int(before["line_number"])
    entered = line(form, n, read, diagnoses_count)
    if entered is None:
        return {}
    change = {key: entered[key] for key in ("procedure_code", "modifiers", "units", "diagnosis_pointers")
              if entered[key] != _as_entered(key, before.get(key))}  # fmt: skip
    return {"line_number": n, **change} if change else {}


def _as_entered(key: str, value: Any) -> Any:
    if key == "units":
        return int(float(value or 1))
    if key in ("modifiers", "diagnosis_pointers"):
        return list(value or [])
    return value


def write_off(form: Form) -> Read:
    read = Read()
    amount = parse_amount(form.get("amount") or "")
    if amount is None or amount <= 0:
        read.problems["amount"] = "an amount in dollars and cents above zero, e.g. 125.00"
    reason = form.get("reason_code") or ""
    party = form.get("party") or "insurance"
    read.body = {"party": party, "amount": str(amount), "reason_code": reason, **_note(form)}
    return read


def patient_payment(form: Form) -> Read:
    read = Read()
    amount = parse_amount(form.get("amount") or "")
    if amount is None or amount <= 0:
        read.problems["amount"] = "an amount in dollars and cents above zero, e.g. 40.00"
    method = form.get("method") or ""
    if method not in ("cash", "check", "card", "ach", "other"):
        read.problems["method"] = "choose how the patient paid"
    reference = (form.get("reference") or "").strip()
    if reference and not re.match(r"^[A-Za-z0-9 ._/-]{1,60}$", reference):
        read.problems["reference"] = "letters, digits, spaces and . _ / - only (a check number, the card's last 4)"
    claim = (form.get("claim_id") or "").strip()
    read.body = {"amount": str(amount), "method": method, **({"reference": reference} if reference else {}),
                 **({"claim_id": claim} if claim else {})}  # fmt: skip
    return read


def _note(form: Form) -> dict[str, str]:
    note = (form.get("note") or "").strip()
    return {"note": note[:200]} if note else {}

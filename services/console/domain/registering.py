"""The front desk's "Register a patient" form, read into registration's POST /v1/patients body (the
patient and their primary coverage), and registration's refusals put back next to the fields they are
about. One table says where each form field goes in the body and, in words, what it takes: registration
checks the body (it is the authority); the console only tidies what people type."""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.console.domain.forms import Form, Read

Path = tuple[str | int, ...]
COVERAGE: Path = ("coverages", 0)
SUBSCRIBER: Path = (*COVERAGE, "subscriber")
IDENTIFIER = "letters, digits and dashes, at most 30"
TEXT = "at most 60 characters"


@dataclass(frozen=True)
class Field:
    path: Path  # where the value goes in the body
    rule: str  # what it takes, said when registration refuses what was typed


FIELDS = {
    "facility": Field(("facility",), IDENTIFIER),
    "mrn": Field(("mrn",), f"the chart number: {IDENTIFIER}"),
    "last_name": Field(("patient", "last_name"), TEXT),
    "first_name": Field(("patient", "first_name"), TEXT),
    "birth_date": Field(("patient", "birth_date"), "a date, e.g. 1980-04-30"),
    "sex": Field(("patient", "sex"), "choose female, male or unknown"),
    "phone": Field(("patient", "phone"), "10 to 15 digits, e.g. 312 555 0142"),
    "line1": Field(("patient", "address", "line1"), TEXT),
    "line2": Field(("patient", "address", "line2"), TEXT),
    "city": Field(("patient", "address", "city"), TEXT),
    "state": Field(("patient", "address", "state"), "the state's two letters, e.g. IL"),
    "postal_code": Field(("patient", "address", "postal_code"), "a ZIP code of 5 or 9 digits"),
    "payer_id": Field((*COVERAGE, "payer_id"), "choose the payer from the list"),
    "member_id": Field((*COVERAGE, "member_id"), f"as on the card: {IDENTIFIER}"),
    "group_number": Field((*COVERAGE, "group_number"), f"as on the card: {IDENTIFIER}"),
    "plan_name": Field((*COVERAGE, "plan_name"), TEXT),
    "effective_date": Field((*COVERAGE, "effective_date"), "a date, e.g. 2025-01-01"),
    "relationship": Field((*COVERAGE, "relationship"), "choose how the patient is related to the subscriber"),
    "subscriber_last_name": Field((*SUBSCRIBER, "last_name"), TEXT),
    "subscriber_first_name": Field((*SUBSCRIBER, "first_name"), TEXT),
    "subscriber_birth_date": Field((*SUBSCRIBER, "birth_date"), "a date, e.g. 1975-09-12"),
    "subscriber_sex": Field((*SUBSCRIBER, "sex"), "choose female, male or unknown"),
}
BY_PATH = {f.path: name for name, f in FIELDS.items()}
# Places registration names that are no single field: said next to the field that settles them.
ALIASES = {SUBSCRIBER: "subscriber_last_name", ("coverages",): "payer_id", COVERAGE: "payer_id"}
TIDY: dict[str, Callable[[str], str]] = {
    "state": str.upper,
    "postal_code": lambda text: re.sub(r"[\s-]", "", text),
    "phone": lambda text: re.sub(r"[\s().-]", "", text),
}


def registration(form: Form, payers: Mapping[str, str]) -> Read:
    """The body of POST /v1/patients: demographics and the primary coverage. `payers` is the payer
    directory (id -> name); a subscriber is sent only when the patient is not the insured."""
    typed = {name: TIDY.get(name, str)((form.get(name) or "").strip()) for name in FIELDS}
    read = Read()
    payer = typed["payer_id"]
    if payer and payer not in payers:
        read.problems["payer_id"] = FIELDS["payer_id"].rule
    insured_self = (typed["relationship"] or "self") == "self"
    body: dict[str, Any] = {"patient": {"address": {}}, "coverages": [{"rank": "primary", "relationship": "self"}]}
    for name, value in typed.items():
        if value and not (insured_self and FIELDS[name].path[:3] == SUBSCRIBER):
            _put(body, FIELDS[name].path, value)
    coverage = body["coverages"][0]
    if payer in payers:
        coverage["payer_name"] = payers[payer]
    if "subscriber" in coverage:  # the subscriber lives with the patient: their address is the patient's
        coverage["subscriber"]["address"] = body["patient"]["address"]
    read.body = body
    return read


def _put(body: dict[str, Any], path: Path, value: str) -> None:
    here: Any = body
    for step in path[:-1]:
        here = here[step] if isinstance(step, int) else here.setdefault(step, {})
    here[path[-1]] = value


def problems(detail: Any) -> dict[str, str]:
    """Registration's 422 (FastAPI's list of {loc, msg, type}) as messages by form field; what belongs
    to no field is under "form". The first problem of a field is the one shown."""
    found: dict[str, str] = {}
    for entry in detail if isinstance(detail, list) else [detail]:
        name, message = _problem(entry)
        if name == "form" and "form" in found:
            found["form"] += f"; {message}"
        found.setdefault(name, message)
    return found


def _problem(entry: Any) -> tuple[str, str]:
    if not isinstance(entry, dict):
        return "form", str(entry)
    loc: Path = tuple(step for step in entry.get("loc", ()) if step != "body")
    if loc[: len(SUBSCRIBER) + 1] == (*SUBSCRIBER, "address"):
        loc = ("patient", *loc[len(SUBSCRIBER) :])  # the subscriber's address is the patient's
    message = str(entry.get("msg") or "not accepted")
    if loc in ALIASES:
        return ALIASES[loc], message
    if loc not in BY_PATH:
        return "form", f"{'.'.join(map(str, loc))}: {message}" if loc else message
    name = BY_PATH[loc]
    if entry.get("type") == "missing":
        return name, "required"
    # registration's own rules say it in words ("is in the future"); a schema's pattern does not
    return name, message if entry.get("type") == "value_error" else FIELDS[name].rule


def payer_choices(payers: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The payer directory as the form's choices, saying which payers answer no eligibility request."""
    return [("", "choose the payer")] + [
        (p["payer_id"], p["name"] if p.get("accepts_eligibility") else f"{p['name']} (no eligibility requests)")
        for p in payers
    ]


def holds_mrn(patient: Mapping[str, Any], facility: str, mrn: str) -> bool:
    """Whether registration knows this patient by this MRN at this facility (any case, as it matches)."""
    wanted = (facility.upper(), mrn.upper())
    known: Iterable[Mapping[str, Any]] = [patient, *patient.get("mrns", ())]
    return any((str(k.get("facility", "")).upper(), str(k.get("mrn", "")).upper()) == wanted for k in known)


def outcome(answer: Mapping[str, Any]) -> tuple[str, str]:
    """What the front desk is told after registration answered (a new patient, or one it already knew)."""
    if answer.get("matched_by") is None:
        return "Patient registered.", "Their account is below: check eligibility or take a payment here."
    how = "the same MRN" if answer["matched_by"] == "mrn" else "the same name, birth date and member id"
    if answer.get("changed"):
        return f"This patient was already registered ({how}).", "Their registration was updated with what you entered."
    return f"This patient was already registered ({how}).", "Nothing changed: their account is below."

"""Registration rules. Pure: no I/O.

A registration names its patient by a medical record number at a facility. Two registrations are
the same person when they share (facility, MRN), or when they share name + date of birth + a
coverage's member id (the same person registered at another facility, or by another system)."""

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from shared.contracts.events import Contract, Coverage, Person

RANKS = ("primary", "secondary", "tertiary")
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,30}$")]


class Registration(Contract):
    """What the front desk (or a scheduling system) submits."""

    facility: Identifier = "MAIN"
    mrn: Identifier
    patient: Person
    coverages: list[Coverage] = Field(min_length=1, max_length=3)

    def content(self) -> dict[str, Any]:
        """The comparable content: a re-registration that changes nothing is not a new version.
        Identifiers are not content: the same person seen at a second facility is not a change."""
        return self.model_dump(mode="json", include={"patient", "coverages"})


@dataclass(frozen=True)
class FieldError:
    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"

    def as_fastapi(self) -> dict[str, Any]:
        """The shape FastAPI uses for its own 422s, so clients parse one format."""
        return {"type": self.type, "loc": ["body", *self.loc], "msg": self.msg}


def problems(
    registration: Registration, known_payers: Collection[str] | None = None, today: date | None = None
) -> list[FieldError]:
    """Rules across fields that the schema alone cannot say, each with the path it is about."""
    today = today or date.today()
    errors: list[FieldError] = []
    if registration.patient.birth_date > today:
        errors.append(FieldError(("patient", "birth_date"), "is in the future"))
    ranks = [c.rank for c in registration.coverages]
    seen: set[str] = set()
    for index, coverage in enumerate(registration.coverages):
        where = ("coverages", index)
        if coverage.rank in seen:
            errors.append(FieldError((*where, "rank"), f"{coverage.rank} appears more than once"))
        seen.add(coverage.rank)
        position = RANKS.index(coverage.rank)
        if position and RANKS[position - 1] not in ranks:
            errors.append(FieldError((*where, "rank"), f"{coverage.rank} coverage without a {RANKS[position - 1]} one"))
        if known_payers is not None and coverage.payer_id not in known_payers:
            errors.append(FieldError((*where, "payer_id"), "not in the payer directory"))
        if coverage.relationship != "self" and coverage.subscriber is None:
            errors.append(FieldError((*where, "subscriber"), "required when relationship is not self"))
        if coverage.subscriber is not None and coverage.subscriber.birth_date > today:
            errors.append(FieldError((*where, "subscriber", "birth_date"), "is in the future"))
        if coverage.end_date and coverage.end_date < coverage.effective_date:
            errors.append(FieldError((*where, "end_date"), "is before effective_date"))
    if "primary" not in ranks:
        errors.append(FieldError(("coverages",), "a primary coverage is required"))
    return errors


def fold(text: str) -> str:
    """Names as people type them: accents, case, spaces and punctuation do not tell people apart."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


IdentifierKind = Literal["mrn", "member"]


def identity_keys(registration: Registration) -> list[tuple[IdentifierKind, str]]:
    """Every key that identifies this person, strongest first: (facility, MRN), then name + date
    of birth + member id for each coverage."""
    person = registration.patient
    keys: list[tuple[IdentifierKind, str]] = [("mrn", f"{registration.facility.upper()}|{registration.mrn.upper()}")]
    for coverage in registration.coverages:
        keys.append(
            (
                "member",
                "|".join(
                    (
                        fold(person.last_name),
                        fold(person.first_name),
                        person.birth_date.isoformat(),
                        coverage.member_id.upper(),
                    )
                ),
            )
        )
    return list(dict.fromkeys(keys))


def changes(previous: dict[str, Any], current: dict[str, Any]) -> list[Literal["patient", "coverages"]]:
    return [part for part in ("patient", "coverages") if previous.get(part) != current.get(part)]

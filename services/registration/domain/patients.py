"""Registration rules. Pure: no I/O."""

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.events import Contract, Coverage, Person


class Registration(Contract):
    """What the front desk (or a scheduling system) submits."""

    mrn: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,30}$")]
    patient: Person
    coverages: list[Coverage] = Field(min_length=1, max_length=3)

    @model_validator(mode="after")
    def _consistent(self) -> "Registration":
        ranks = [c.rank for c in self.coverages]
        if len(set(ranks)) != len(ranks):
            raise ValueError("coverages: each rank (primary, secondary, tertiary) at most once")
        if "primary" not in ranks:
            raise ValueError("coverages: a primary coverage is required")
        if self.patient.birth_date > date.today():
            raise ValueError("patient.birth_date: in the future")
        for coverage in self.coverages:
            if coverage.relationship != "self" and coverage.subscriber is None:
                raise ValueError(f"coverages[{coverage.rank}].subscriber: required when relationship is not self")
            if coverage.end_date and coverage.end_date < coverage.effective_date:
                raise ValueError(f"coverages[{coverage.rank}].end_date: before effective_date")
        return self

    def content(self) -> dict:
        """The comparable content: a re-registration that changes nothing is not a new version."""
        return self.model_dump(mode="json")

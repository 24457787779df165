"""Constrained field types shared by the 837P, 835 and 999 models."""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from x12.npi import npi_is_valid

# No separator characters (* : ^ ~) and no line breaks may reach a rendered segment.
_SAFE = r"^[^*:^~\r\n]*$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=_SAFE)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30, pattern=r"^[A-Za-z0-9\-. ]+$")
]
State = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Zip = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}([0-9]{4})?$")]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")]
TaxId = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
ProcedureCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5}$")]
Modifier = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
# ICD-10-CM without the dot; whether it is billable on the date of service is the coder's check.
Diagnosis = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z]{1,5}$")]


def _check_npi(value: str) -> str:
    if not npi_is_valid(value):
        raise ValueError("not a valid NPI (10 digits, Luhn check over 80840)")
    return value


Npi = Annotated[str, AfterValidator(_check_npi)]
# Cents at most; negative amounts are allowed (reversals, refunds).
Money = Annotated[Decimal, Field(max_digits=15, decimal_places=2)]


class Model(BaseModel):
    """Immutable and strict about unknown fields, so typos fail loudly."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Model):
    line1: Text
    line2: Text | None = None
    city: Text
    state: State
    zip: Zip

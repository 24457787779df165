"""The professional claim interchange (837P) as immutable models."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from x12.types import (
    Address,
    Code,
    Diagnosis,
    Model,
    Modifier,
    Money,
    Npi,
    Phone,
    ProcedureCode,
    TaxId,
    Text,
)

PlaceOfService = Annotated[str, Field(pattern=r"^[0-9]{2}$")]


class Submitter(Model):
    name: Text
    id: Code  # ETIN assigned by the clearinghouse
    contact_name: Text
    contact_phone: Phone


class Receiver(Model):
    name: Text
    id: Code


class BillingProvider(Model):
    organization_name: Text
    npi: Npi
    tax_id: TaxId  # EIN
    taxonomy_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{9}X$")]
    address: Address


class Subscriber(Model):
    member_id: Code
    first_name: Text
    last_name: Text
    birth_date: date
    sex: Literal["M", "F", "U"]
    address: Address
    group_number: Code | None = None
    # Only "18" (self) for now; a dependent patient (loop 2000C) will add a patient model beside it.
    relationship_code: Literal["18"] = "18"


class Payer(Model):
    name: Text
    id: Code
    # SBR09 / CLP06: CI commercial, MB Medicare part B, MC Medicaid, BL Blue Cross, HM HMO...
    claim_filing_indicator: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")] = "CI"


class RenderingProvider(Model):
    npi: Npi
    first_name: Text
    last_name: Text


class ServiceLine(Model):
    line_number: Annotated[int, Field(ge=1, le=50)]
    procedure_code: ProcedureCode  # CPT or HCPCS, sent with the HC qualifier
    modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    units: Annotated[Decimal, Field(gt=0, max_digits=8, decimal_places=3)]
    charge: Annotated[Money, Field(ge=0)]
    diagnosis_pointers: Annotated[tuple[Annotated[int, Field(ge=1, le=12)], ...], Field(min_length=1, max_length=4)]
    service_date: date
    place_of_service: PlaceOfService
    control_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,50}$")]  # REF*6R, echoed in the 835


class Claim(Model):
    patient_control_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,20}$")]  # CLM01
    subscriber: Subscriber
    payer: Payer
    total_charge: Annotated[Money, Field(ge=0)]
    place_of_service: PlaceOfService
    # 1 original; 7 replacement and 8 void need the payer's claim control number (REF*F8).
    frequency_code: Literal["1", "7", "8"] = "1"
    payer_claim_control_number: Code | None = None
    diagnoses: Annotated[tuple[Diagnosis, ...], Field(min_length=1, max_length=12)]  # first is principal
    rendering_provider: RenderingProvider | None = None
    prior_authorization: Code | None = None
    lines: Annotated[tuple[ServiceLine, ...], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _consistent(self) -> "Claim":
        if sum(line.charge for line in self.lines) != self.total_charge:
            raise ValueError("total_charge must equal the sum of the line charges")
        if any(p > len(self.diagnoses) for line in self.lines for p in line.diagnosis_pointers):
            raise ValueError("a diagnosis pointer points past the last diagnosis")
        if (self.frequency_code != "1") != (self.payer_claim_control_number is not None):
            raise ValueError("frequency codes 7 and 8, and only they, need payer_claim_control_number")
        return self


class ProviderClaims(Model):
    """The claims of one billing provider: one 837 transaction set."""

    billing_provider: BillingProvider
    claims: Annotated[tuple[Claim, ...], Field(min_length=1)]


class Interchange837(Model):
    sender_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9]+$")]
    receiver_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9]+$")]
    control_number: Annotated[int, Field(ge=1, le=999_999_999)]  # ISA13
    group_control_number: Annotated[int, Field(ge=1, le=999_999_999)]  # GS06
    created: datetime
    usage: Literal["T", "P"] = "P"
    submitter: Submitter
    receiver: Receiver
    transactions: Annotated[tuple[ProviderClaims, ...], Field(min_length=1)]

    @field_validator("created")
    @classmethod
    def _to_the_minute(cls, value: datetime) -> datetime:
        return value.replace(second=0, microsecond=0)  # ISA and GS carry minutes only

    @property
    def claims(self) -> tuple[Claim, ...]:
        return tuple(claim for t in self.transactions for claim in t.claims)


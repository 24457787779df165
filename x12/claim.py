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


# PAT01 / SBR02 individual relationship: 01 spouse, 19 child, 20 employee, 21 unknown, 39 organ
# donor, 40 cadaver donor, 53 life partner, G8 other. "18" (self) is written as SBR02 in loop 2000B.
Relationship = Literal["01", "19", "20", "21", "39", "40", "53", "G8"]


class Patient(Model):
    """Loop 2000C: the patient when they are not the subscriber (a dependent)."""

    relationship_code: Relationship
    first_name: Text
    last_name: Text
    birth_date: date
    sex: Literal["M", "F", "U"]
    address: Address


class Payer(Model):
    name: Text
    id: Code
    # SBR09 / CLP06: CI commercial, MB Medicare part B, MC Medicaid, BL Blue Cross, HM HMO...
    claim_filing_indicator: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")] = "CI"


class RenderingProvider(Model):
    npi: Npi
    first_name: Text
    last_name: Text
    taxonomy_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{9}X$")] | None = None  # PRV*PE


class ReferringProvider(Model):
    """Loop 2310A (NM1*DN): the provider who sent the patient; some payers require it for specialists."""

    npi: Npi
    first_name: Text
    last_name: Text


Responsibility = Literal["P", "S", "T"]  # SBR01: which payer this is for the claim: primary, secondary, tertiary
# CAS group codes: contractual, patient responsibility, other, payer initiated (CR is retired in 5010).
AdjustmentGroup = Literal["CO", "PR", "OA", "PI"]


class Adjustment(Model):
    """A CAS triple: what the other payer took off the charge, and why (a CARC)."""

    group: AdjustmentGroup
    reason: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
    amount: Money


class OtherPayerLine(Model):
    """Loop 2430: how the other payer adjudicated one of our lines (SVD, CAS, DTP*573)."""

    line_number: Annotated[int, Field(ge=1, le=50)]  # the claim line it answers
    paid: Money
    adjustments: tuple[Adjustment, ...] = ()


class OtherPayer(Model):
    """Loops 2320/2330A/2330B: another payer on this claim. On a secondary claim, the primary with
    what it paid (AMT*D) and its claim-level adjustments (CAS), so the next payer can coordinate."""

    responsibility: Responsibility
    relationship_code: Literal["18", "01", "19", "20", "21", "39", "40", "53", "G8"] = "18"  # subscriber to patient
    group_number: Code | None = None
    subscriber_first_name: Text
    subscriber_last_name: Text
    member_id: Code
    payer: Payer  # its claim filing indicator is this loop's SBR09
    paid: Money | None = None  # None: that payer has not adjudicated (yet)
    adjustments: tuple[Adjustment, ...] = ()
    adjudication_date: date | None = None  # DTP*573; required with line adjudication
    payer_claim_control_number: Code | None = None  # REF*F8 in 2330B
    lines: tuple[OtherPayerLine, ...] = ()

    @model_validator(mode="after")
    def _adjudicated(self) -> "OtherPayer":
        if (self.adjustments or self.lines) and self.paid is None:
            raise ValueError("adjustments and line adjudication need the paid amount")
        if self.lines and self.adjudication_date is None:
            raise ValueError("line adjudication needs the adjudication date")
        return self


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
    patient: Patient | None = None  # None: the subscriber is the patient
    payer: Payer
    payer_responsibility: Responsibility = "P"  # SBR01 of 2000B: is the payer we send to primary or not
    other_payers: Annotated[tuple[OtherPayer, ...], Field(max_length=10)] = ()
    total_charge: Annotated[Money, Field(ge=0)]
    place_of_service: PlaceOfService
    # 1 original; 7 replacement and 8 void need the payer's claim control number (REF*F8).
    frequency_code: Literal["1", "7", "8"] = "1"
    payer_claim_control_number: Code | None = None
    diagnoses: Annotated[tuple[Diagnosis, ...], Field(min_length=1, max_length=12)]  # first is principal
    referring_provider: ReferringProvider | None = None
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
        if self.payer_responsibility != "P" and not self.other_payers:
            raise ValueError("a secondary or tertiary claim needs the other payer (loop 2320)")
        if {o.responsibility for o in self.other_payers} & {self.payer_responsibility}:
            raise ValueError("an other payer cannot hold the responsibility of the payer billed")
        numbers = {line.line_number for line in self.lines}
        if any(line.line_number not in numbers for o in self.other_payers for line in o.lines):
            raise ValueError("other payer line adjudication points at a line the claim does not have")
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

"""The electronic remittance advice (835) as immutable models.

Signs follow the 835: an adjustment's amount is what it takes off the charge,
a provider adjustment (PLB) takes money off the payment, and a reversal
(CLP02 22) repeats the original claim with every amount negated.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from x12.types import Address, Code, Model, Modifier, Money, Npi, Phone, ProcedureCode, TaxId, Text

GroupCode = Literal["CO", "PR", "OA", "PI"]  # contractual, patient, other, payer initiated
CarcCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
RarcCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]  # remittance advice remark code (N130, M15, MA01)
# CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-21 forwarded, 22 reversal, 23 not our claim
ClaimStatus = Literal["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]
PaymentMethod = Literal["CHK", "ACH", "NON"]
# CLP06, the 835's own list (not the 837's SBR09): 12 PPO, HM HMO, MB Medicare B, MC Medicaid...
ClaimFilingIndicator = Literal[
    "12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"
]


class Adjustment(Model):
    group: GroupCode
    reason: CarcCode
    amount: Money
    quantity: Decimal | None = None


class ServicePayment(Model):
    procedure_code: ProcedureCode
    modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    charge: Money
    paid: Money
    units: Annotated[Decimal, Field(max_digits=8, decimal_places=3)] = Decimal(1)
    service_date: date | None = None
    # Rendered one CAS per group code, so keep the adjustments of a group together.
    adjustments: tuple[Adjustment, ...] = ()
    control_number: str | None = None  # REF*6R: the 837 line item control number
    allowed: Money | None = None  # AMT*B6
    remark_codes: tuple[RarcCode, ...] = ()  # LQ*HE
    # SVC06/SVC07: what was billed when the payer paid another code (bundling) or split one line (unbundling)
    original_procedure_code: ProcedureCode | None = None
    original_modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    original_units: Annotated[Decimal, Field(max_digits=8, decimal_places=3)] | None = None


class Patient(Model):
    last_name: Text
    first_name: Text | None = None
    member_id: Code


class ClaimPayment(Model):
    patient_control_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,38}$")]
    status: ClaimStatus
    charge: Money
    paid: Money
    patient_responsibility: Money = Decimal(0)
    claim_filing_indicator: ClaimFilingIndicator
    payer_claim_control_number: Code
    place_of_service: Annotated[str, Field(pattern=r"^[0-9]{2}$")] | None = None  # CLP08
    frequency_code: Annotated[str, Field(pattern=r"^[0-9]$")] | None = None  # CLP09
    patient: Patient
    adjustments: tuple[Adjustment, ...] = ()
    services: tuple[ServicePayment, ...] = ()
    remark_codes: tuple[RarcCode, ...] = ()  # MOA03-07 (professional) or MIA05/20-23 (institutional)
    statement_from: date | None = None  # DTM*232
    statement_to: date | None = None  # DTM*233
    received_date: date | None = None  # DTM*050: when the payer received the claim
    coverage_amount: Money | None = None  # AMT*AU
    interest: Money | None = None  # AMT*I: prompt-pay interest, included in CLP04


class ProviderAdjustment(Model):
    """PLB: a provider-level amount; positive takes money off this payment."""

    provider_id: Code  # NPI or tax id of the payee
    fiscal_period_end: date
    reason: Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]  # e.g. WO overpayment recovery, L6 interest
    reference: Code | None = None
    amount: Money


class BankAccount(Model):
    routing_number: Annotated[str, Field(pattern=r"^[0-9]{9}$")]
    account_number: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,35}$")]


class Payment(Model):
    """BPR and TRN: how much, how and when the money moved, and its trace number."""

    amount: Money
    method: PaymentMethod
    date: date
    trace_number: Code  # check or EFT trace number: the key to match the money in the bank
    payer_tax_id: TaxId  # TRN03 is "1" followed by it
    payer_bank: BankAccount | None = None  # ACH only
    payee_bank: BankAccount | None = None  # ACH only
    payer_company_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{10}$")] | None = None  # BPR10, ACH only

    @model_validator(mode="after")
    def _ach_needs_banks(self) -> "Payment":
        is_ach = self.method == "ACH"
        if is_ach != (
            self.payer_bank is not None and self.payee_bank is not None and self.payer_company_id is not None
        ):
            raise ValueError("ACH payments, and only they, carry both bank accounts and the payer company id")
        return self


class RemitPayer(Model):
    name: Text
    id: Code  # REF*2U: the payer id the claim was sent to
    address: Address
    contact_name: Text  # PER*BL, technical contact
    contact_phone: Phone


class Payee(Model):
    name: Text
    npi: Npi
    tax_id: TaxId | None = None


class Remittance(Model):
    """One 835 transaction set: one payment to one payee."""

    payment: Payment
    payer: RemitPayer
    payee: Payee
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()


class Interchange835(Model):
    sender_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9]+$")]
    receiver_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9]+$")]
    control_number: Annotated[int, Field(ge=1, le=999_999_999)]
    group_control_number: Annotated[int, Field(ge=1, le=999_999_999)]
    created: datetime
    usage: Literal["T", "P"] = "P"
    remittances: Annotated[tuple[Remittance, ...], Field(min_length=1)]

    @field_validator("created")
    @classmethod
    def _to_the_minute(cls, value: datetime) -> datetime:
        return value.replace(second=0, microsecond=0)  # ISA and GS carry minutes only

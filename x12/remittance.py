"""The electronic remittance advice (835) as immutable models.

Signs follow the 835: an adjustment's amount is what it takes off the charge,
a provider adjustment (PLB) takes money off the payment, and a reversal
(CLP02 22) repeats the original claim with every amount negated.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from x12.types import Model, Modifier, Money, Phone, TaxId, Text

GroupCode = Literal["CO", "PR", "OA", "PI"]  # contractual, patient, other, payer initiated
CarcCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
# What other systems write in free-form identifiers: any character but the separators, 1 to 80.
Identifier = Annotated[str, Field(pattern=r"^[^*:^~\r\n]{1,80}$")]
# SVC01-2: a HCPCS/CPT code (HC), an NDC (N4, 11 digits), a revenue code (NU), a HIPPS code (HP)...
ServiceCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,48}$")]
RarcCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]  # remittance advice remark code (N130, M15, MA01)
# CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-21 forwarded, 22 reversal, 23 not our claim
ClaimStatus = Literal["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]
# BPR04: check, automated clearing house, financial institution option, federal wire transfer, no payment
PaymentMethod = Literal["CHK", "ACH", "BOP", "FWT", "NON"]
# CLP06, the 835's own list (not the 837's SBR09): 12 PPO, HM HMO, MB Medicare B, MC Medicaid...
ClaimFilingIndicator = Literal[
    "12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"
]


class Adjustment(Model):
    group: GroupCode
    reason: CarcCode
    amount: Money
    quantity: Decimal | None = None


class Reference(Model):
    """A qualified value kept as read: REF (qualifier REF01), AMT (AMT01), QTY (QTY01)."""

    qualifier: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,3}$")]
    value: Identifier


class Amount(Model):
    qualifier: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,3}$")]
    amount: Money


class Quantity(Model):
    qualifier: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,3}$")]
    quantity: Decimal


class Party(Model):
    """An NM1 of a claim payment other than the patient: insured (IL), corrected name (74), rendering
    provider (82), crossover carrier (TT), corrected priority payer (PR), other subscriber (GB)."""

    role: Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]
    entity: Literal["1", "2"] = "1"  # NM102: 1 person, 2 organization
    name: Identifier | None = None  # last or organization name
    first_name: Identifier | None = None
    id_qualifier: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$")] | None = None  # XX = NPI, MI, FI...
    identifier: Identifier | None = None


class Contact(Model):
    """A PER: its function (BL technical, CX business, IC web site), a name, and its numbers by qualifier
    (TE phone, EM e-mail, FX fax, UR web address, EX extension)."""

    function: Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]
    name: Identifier | None = None
    numbers: tuple[Reference, ...] = ()


class ServicePayment(Model):
    procedure_qualifier: Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")] = "HC"  # SVC01-1: HC, N4 (NDC), NU...
    procedure_code: ServiceCode
    modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    description: Identifier | None = None  # SVC01-7
    charge: Money
    paid: Money
    units: Annotated[Decimal, Field(max_digits=8, decimal_places=3)] = Decimal(1)
    service_date: date | None = None  # DTM*472, or DTM*150 when the line covers a period
    service_date_to: date | None = None  # DTM*151
    revenue_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,48}$")] | None = None  # SVC04
    # Rendered one CAS per group code, so keep the adjustments of a group together.
    adjustments: tuple[Adjustment, ...] = ()
    control_number: str | None = None  # REF*6R: the 837 line item control number
    allowed: Money | None = None  # AMT*B6
    remark_codes: tuple[RarcCode, ...] = ()  # LQ*HE
    # SVC06/SVC07: what was billed when the payer paid another code (bundling) or split one line (unbundling)
    original_procedure_qualifier: Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")] | None = None
    original_procedure_code: ServiceCode | None = None
    original_modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    original_units: Annotated[Decimal, Field(max_digits=8, decimal_places=3)] | None = None
    references: tuple[Reference, ...] = ()  # REF other than 6R (service identification, rendering provider)
    amounts: tuple[Amount, ...] = ()  # AMT other than B6
    quantities: tuple[Quantity, ...] = ()  # QTY
    pharmacy_codes: tuple[Identifier, ...] = ()  # LQ*RX: NCPDP reject/payment codes


class Patient(Model):
    """NM1*QC; its name and id are situational (the insured's NM1*IL may carry the member id)."""

    last_name: Identifier | None = None
    first_name: Identifier | None = None
    member_id: Identifier | None = None
    id_qualifier: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$")] | None = None  # NM108 when not MI: 34, HN, II, MR


class ClaimPayment(Model):
    patient_control_number: Annotated[str, Field(pattern=r"^[^*:^~\r\n]{1,38}$")]  # CLM01 as billed
    status: ClaimStatus
    charge: Money
    paid: Money
    patient_responsibility: Money = Decimal(0)
    claim_filing_indicator: ClaimFilingIndicator
    payer_claim_control_number: Identifier
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
    coverage_expiration: date | None = None  # DTM*036
    parties: tuple[Party, ...] = ()  # NM1 other than the patient: IL, 74, 82, TT, PR, GB
    inpatient: tuple[str, ...] | None = None  # MIA01..MIA24 as read (institutional adjudication)
    outpatient: tuple[str, ...] | None = None  # MOA01..MOA09 as read (professional/outpatient adjudication)
    references: tuple[Reference, ...] = ()  # REF: other claim identification, rendering provider ids
    amounts: tuple[Amount, ...] = ()  # AMT other than AU and I
    quantities: tuple[Quantity, ...] = ()  # QTY
    contacts: tuple[Contact, ...] = ()  # PER*CX
    findings: tuple[str, ...] = ()  # business findings of the reader (e.g. an NPI whose check digit fails)

    def party(self, role: str) -> Party | None:
        return next((p for p in self.parties if p.role == role), None)


class ProviderAdjustment(Model):
    """PLB: a provider-level amount; positive takes money off this payment."""

    provider_id: Identifier  # NPI or tax id of the payee
    fiscal_period_end: date
    reason: Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]  # e.g. WO overpayment recovery, L6 interest
    reference: Identifier | None = None
    amount: Money


class ProviderSummary(Model):
    """One 2000 loop: LX, and the TS3/TS2 totals of the claims under it (institutional payers)."""

    header_number: Annotated[str, Field(pattern=r"^[0-9]{1,6}$")]
    provider_id: Identifier | None = None  # TS301
    facility_code: Identifier | None = None  # TS302
    fiscal_period_end: date | None = None  # TS303
    claim_count: Decimal | None = None  # TS304
    total_charge: Money | None = None  # TS305
    summary: tuple[str, ...] = ()  # TS3 as read
    supplemental: tuple[str, ...] = ()  # TS2 as read
    claims: int = 0  # claim payments in this loop


class BankAccount(Model):
    routing_number: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{3,12}$")]  # ABA (01) or Canadian (04)
    account_number: Annotated[str, Field(pattern=r"^[0-9A-Za-z\-]{1,35}$")]


class Payment(Model):
    """BPR and TRN: how much, how and when the money moved, and its trace number."""

    amount: Money
    method: PaymentMethod
    date: date
    trace_number: Identifier  # TRN02, check or EFT trace number: the key to match the money in the bank
    payer_tax_id: TaxId | None = None  # when TRN03 is "1" followed by the payer's EIN
    payer_identifier: Identifier | None = None  # TRN03 when it is anything else
    payer_bank: BankAccount | None = None  # ACH (and BOP, FWT when given)
    payee_bank: BankAccount | None = None
    payer_company_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,10}$")] | None = None  # BPR10
    handling_code: Annotated[str, Field(pattern=r"^[CDHIPUX]$")] = "I"  # BPR01: I remittance with payment...
    credit: bool = True  # BPR03 C (D: the payer takes money back)

    @model_validator(mode="after")
    def _ach_needs_banks(self) -> "Payment":
        has_banks = self.payer_bank is not None and self.payee_bank is not None
        if self.method == "ACH" and not (has_banks and self.payer_company_id is not None):
            raise ValueError("an ACH payment carries both bank accounts and the payer company id")
        return self

    @property
    def payer_key(self) -> str:
        """Who paid, as TRN03 says it (stored payments from before TRN03 was kept have the tax id)."""
        return self.payer_identifier or ("1" + self.payer_tax_id if self.payer_tax_id else "")


class PostalAddress(Model):
    """N3/N4 as other systems write them (N402/N403 are situational: foreign addresses). An x12.types
    Address is taken as one (from its attributes)."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    line1: Identifier
    line2: Identifier | None = None
    city: Identifier
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    zip: Annotated[str, Field(pattern=r"^[0-9A-Za-z ]{3,15}$")] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")] | None = None


class RemitPayer(Model):
    name: Text
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-. ]{0,30}$")] = ""  # REF*2U (situational): the payer id
    address: PostalAddress
    contact_name: Text | None = None  # the first PER*BL, technical contact
    contact_phone: Phone | None = None
    contact_url: Identifier | None = None  # PER*BL*...*UR: some payers give only a web address
    identifier: Identifier | None = None  # N104 (N103 XV: the CMS plan id)
    references: tuple[Reference, ...] = ()  # REF other than 2U: EO, HI, NF
    contacts: tuple[Contact, ...] = ()  # PER other than the first BL (unless it says more than the fields above)


class Payee(Model):
    """N1*PE: who is paid, identified by NPI (N103 XX), tax id (FI) or CMS plan id (XV). Whether an NPI's
    check digit holds is a finding of the reader, not a reason to refuse the remittance."""

    name: Text
    npi: Annotated[str, Field(pattern=r"^[0-9]{10}$")] | None = None
    tax_id: TaxId | None = None  # N104 when FI (hyphen dropped), or REF*TJ
    id_qualifier: Literal["XX", "FI", "XV"] = "XX"
    id_code: Identifier | None = None  # N104 when it is neither the NPI nor a 9-digit tax id (XV plan id...)
    address: PostalAddress | None = None
    references: tuple[Reference, ...] = ()  # REF other than TJ: PQ, 0B, D3

    @model_validator(mode="after")
    def _identified(self) -> "Payee":
        if not self.identifier:
            raise ValueError(f"a payee identified by {self.id_qualifier} needs that identifier")
        return self

    @property
    def identifier(self) -> str:
        """N104: what N103 says identifies the payee."""
        if self.id_qualifier == "XX":
            return self.npi or ""
        return self.id_code or (self.tax_id if self.id_qualifier == "FI" else None) or ""


class Remittance(Model):
    """One 835 transaction set: one payment to one payee."""

    payment: Payment
    payer: RemitPayer
    payee: Payee
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    production_date: date | None = None  # DTM*405
    receiver_id: Identifier | None = None  # REF*EV
    version_id: Identifier | None = None  # REF*F2
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None  # CUR02
    provider_summaries: tuple[ProviderSummary, ...] = ()  # each 2000 loop (LX) that carries TS3 or TS2
    findings: tuple[str, ...] = ()  # business findings of the reader (the payee's NPI check digit)


class Interchange835(Model):
    sender_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[^*:^~\r\n]+$")]
    receiver_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[^*:^~\r\n]+$")]
    control_number: Annotated[int, Field(ge=1, le=999_999_999)]
    group_control_number: Annotated[int, Field(ge=1, le=999_999_999)]
    created: datetime
    usage: Literal["T", "P"] = "P"
    remittances: Annotated[tuple[Remittance, ...], Field(min_length=1)]

    @field_validator("created")
    @classmethod
    def _to_the_minute(cls, value: datetime) -> datetime:
        return value.replace(second=0, microsecond=0)  # ISA and GS carry minutes only

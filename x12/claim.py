"""The professional claim interchange (837P) as immutable models.

The models hold what the 005010X222A1 guide allows, as read or as built here: situational parts are
optional, qualifiers are kept beside their values (HI ABK/BK, SV103 UN/MJ, SV101 HC/IV..., REF*EI/SY),
and segments this platform does not model are kept (`Kept`) to be written back where the guide has them.
Business rules (sums, pointers, code sets by date, NPI check digits) are the validators' and the
reader's findings: a claim that breaks one is rejected on its own, not the file it came in."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from x12.npi import npi_is_valid
from x12.types import Address, Code, Model, Modifier, Money, Phone, Text

PlaceOfService = Annotated[str, Field(pattern=r"^[0-9]{2}$")]
Taxonomy = Annotated[str, Field(pattern=r"^[0-9A-Z]{10}$")]  # NUCC provider taxonomy code
EntityType = Literal["1", "2"]  # NM102: 1 person, 2 organization
# An NPI as sent: whether its check digit holds is a finding on the claim (x12.npi), not a reason to drop it.
Npi = Annotated[str, Field(pattern=r"^[0-9]{10}$")]
# CLM01: any X12 text up to 38 characters (spaces and # included); the guide asks for 20 at most.
PatientControlNumber = Annotated[str, Field(pattern=r"^[^*:^~\r\n]{1,38}$")]
# A tax id as sent, with or without its hyphens: EIN 12-3456789 (REF*EI) or SSN 123-45-6789 (REF*SY).
ProviderTaxId = Annotated[str, Field(pattern=r"^([0-9]{9}|[0-9]{2}-[0-9]{7}|[0-9]{3}-[0-9]{2}-[0-9]{4})$")]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[^*:^~\r\n]+$")]
# ICD-10-CM (ABK/ABF) or ICD-9-CM (BK/BF) without the dot; which one, and whether it fits the date of
# service, is the claim's check.
DiagnosisCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,7}$")]
ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z]{1,5}")
ICD9 = re.compile(r"[0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4}")
ICD10_FROM = date(2015, 10, 1)  # dates of service from this day are coded in ICD-10-CM

# A kept segment: its id, then its elements as read, components joined by ":" (repetitions by "^").
KeptSegment = Annotated[
    tuple[Annotated[str, StringConstraints(max_length=264, pattern=r"^[^*~\r\n]*$")], ...], Field(min_length=1)
]


class Kept(Model):
    """Segments read and not modelled, written back where the guide has them: segments of loop `loop`,
    or one whole loop inside it (its first segment opens it)."""

    loop: Annotated[str, Field(pattern=r"^[0-9]{4}[A-Z]{0,2}$")]
    segments: Annotated[tuple[KeptSegment, ...], Field(min_length=1)]


class Submitter(Model):
    name: Text
    id: Code  # ETIN assigned by the clearinghouse
    contact_name: Text | None = None
    contact_phone: Phone | None = None  # PER*IC TE; any other contact is kept as read
    entity_type: EntityType = "2"
    first_name: Text | None = None
    kept: tuple[Kept, ...] = ()


class Receiver(Model):
    name: Text
    id: Code


class BillingProvider(Model):
    organization_name: Text  # NM103: the organization's or the person's last name
    npi: Npi | None = None  # NM109 (XX); a provider without one is identified by its tax id
    tax_id: ProviderTaxId  # REF02 as sent; compare with `tax_id_digits`
    taxonomy_code: Taxonomy | None = None  # PRV*BI, situational
    address: Address | None  # None: an address read that this model cannot hold, kept as read
    tax_id_qualifier: Literal["EI", "SY"] = "EI"
    entity_type: EntityType = "2"
    first_name: Text | None = None
    middle_name: Text | None = None
    suffix: Text | None = None
    kept: tuple[Kept, ...] = ()

    @property
    def tax_id_digits(self) -> str:
        return self.tax_id.replace("-", "")


class Subscriber(Model):
    member_id: Code
    first_name: Text | None = None
    last_name: Text
    birth_date: date | None = None  # 2010BA DMG, situational (required when the subscriber is the patient)
    sex: Literal["M", "F", "U"] | None = None
    address: Address | None = None  # 2010BA N3/N4, situational likewise
    group_number: Code | None = None  # SBR03
    group_name: Text | None = None  # SBR04
    middle_name: Text | None = None
    suffix: Text | None = None
    entity_type: EntityType = "1"
    id_qualifier: Literal["MI", "II"] = "MI"


# PAT01 / SBR02 individual relationship: 01 spouse, 19 child, 20 employee, 21 unknown, 39 organ
# donor, 40 cadaver donor, 53 life partner, G8 other. "18" (self) is written as SBR02 in loop 2000B.
Relationship = Literal["01", "19", "20", "21", "39", "40", "53", "G8"]


class Patient(Model):
    """Loop 2000C: the patient when they are not the subscriber (a dependent)."""

    relationship_code: Relationship
    first_name: Text | None = None
    last_name: Text
    birth_date: date
    sex: Literal["M", "F", "U"]
    address: Address | None  # None: an address read that this model cannot hold, kept as read
    middle_name: Text | None = None
    suffix: Text | None = None
    deceased: date | None = None  # PAT06 (PAT05 D8)
    weight: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)] | None = None  # PAT08 pounds (PAT07 01)
    pregnant: bool = False  # PAT09 Y


class Payer(Model):
    name: Text
    id: Code
    # SBR09: CI commercial, MB Medicare part B, MC Medicaid, BL Blue Cross, HM HMO, 12 PPO...
    claim_filing_indicator: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")] | None = "CI"
    id_qualifier: Literal["PI", "XV"] = "PI"  # NM108: payer id, or CMS national plan id


class RenderingProvider(Model):
    npi: Npi | None = None
    first_name: Text | None = None
    last_name: Text
    taxonomy_code: Taxonomy | None = None  # PRV*PE
    entity_type: EntityType = "1"
    middle_name: Text | None = None
    suffix: Text | None = None


class ReferringProvider(Model):
    """Loop 2310A (NM1*DN, or P3 the primary care provider): who sent the patient; named, with an NPI
    when the referring provider has one."""

    npi: Npi | None = None
    first_name: Text | None = None
    last_name: Text
    role: Literal["DN", "P3"] = "DN"
    middle_name: Text | None = None
    suffix: Text | None = None


# SBR01: which payer this is for the claim: P primary, S secondary, T tertiary; A..H payers 4 to 11, U unknown.
Responsibility = Literal["P", "S", "T", "A", "B", "C", "D", "E", "F", "G", "H", "U"]
# CAS group codes: contractual, patient responsibility, other, payer initiated, correction (CR, kept as read).
AdjustmentGroup = Literal["CO", "PR", "OA", "PI", "CR"]


class Adjustment(Model):
    """A CAS triple: what the other payer took off the charge, and why (a CARC)."""

    group: AdjustmentGroup
    reason: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
    amount: Money
    quantity: Annotated[Decimal, Field(max_digits=15, decimal_places=3)] | None = None


class Attachment(Model):
    """A PWK: paperwork that goes with the claim or line, its report type, how it is sent, its control number."""

    report_type: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]  # PWK01, e.g. OZ support data, 03 report
    transmission: Literal["AA", "BM", "EL", "EM", "FT", "FX"]  # PWK02: available on request, mail, e-mail, fax...
    control_number: Reference | None = None  # PWK06 (PWK05 = AC)


class OtherPayerLine(Model):
    """Loop 2430: how the other payer adjudicated one of our lines (SVD, CAS, DTP*573)."""

    line_number: Annotated[int, Field(ge=1, le=50)]  # the claim line it answers
    paid: Money
    adjustments: tuple[Adjustment, ...] = ()
    adjudication_date: date | None = None  # 2430 DTP*573; None: the other payer's claim-level date
    procedure: tuple[Annotated[str, Field(pattern=r"^[^*:^~\r\n]*$")], ...] = ()  # SVD03 when read; () the line's
    units: Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=3)] | None = None  # SVD05; None the line's
    bundled_line: Annotated[int, Field(ge=1)] | None = None  # SVD06
    kept: tuple[Kept, ...] = ()


class OtherPayer(Model):
    """Loops 2320/2330A/2330B: another payer on this claim. On a secondary claim, the primary with
    what it paid (AMT*D) and its claim-level adjustments (CAS), so the next payer can coordinate."""

    responsibility: Responsibility
    relationship_code: Literal["18", "01", "19", "20", "21", "39", "40", "53", "G8"] = "18"  # subscriber to patient
    group_number: Code | None = None
    subscriber_first_name: Text | None = None
    subscriber_last_name: Text
    member_id: Code
    payer: Payer  # its claim filing indicator is this loop's SBR09
    paid: Money | None = None  # None: that payer has not adjudicated (yet)
    adjustments: tuple[Adjustment, ...] = ()
    adjudication_date: date | None = None  # 2330B DTP*573
    payer_claim_control_number: Code | None = None  # REF*F8 in 2330B
    lines: tuple[OtherPayerLine, ...] = ()
    group_name: Text | None = None  # SBR04
    insurance_type: Annotated[str, Field(pattern=r"^[0-9]{2}$")] | None = None  # SBR05
    non_covered: Money | None = None  # AMT*A8
    remaining_patient_liability: Money | None = None  # AMT*EAF
    benefits_assigned: Literal["Y", "N", "W"] = "Y"  # OI03
    patient_signature_source: Literal["P"] | None = None  # OI04
    release_of_information: Literal["Y", "I"] = "Y"  # OI06
    subscriber_entity_type: EntityType = "1"
    subscriber_middle_name: Text | None = None
    subscriber_suffix: Text | None = None
    member_id_qualifier: Literal["MI", "II"] = "MI"
    kept: tuple[Kept, ...] = ()

    @model_validator(mode="after")
    def _adjudicated(self) -> "OtherPayer":
        if (self.adjustments or self.lines) and self.paid is None:
            raise ValueError("adjustments and line adjudication need the paid amount")
        if any(line.adjudication_date is None for line in self.lines) and self.adjudication_date is None:
            raise ValueError("line adjudication needs the adjudication date")
        return self


class Drug(Model):
    """Loop 2410: the drug given with the line (LIN, CTP)."""

    qualifier: Literal["N4", "EN", "EO", "HI", "ON", "UK", "UP"] = "N4"  # LIN02: N4 an NDC in 5-4-2 form
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,48}$")]  # LIN03
    quantity: Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]  # CTP04
    unit: Literal["F2", "GR", "ME", "ML", "UN"]  # CTP05-1: international unit, gram, milligram, millilitre, unit


class ServiceLine(Model):
    line_number: Annotated[int, Field(ge=1, le=50)]
    procedure_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,48}$")]  # SV101-2; HC: CPT or HCPCS
    modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    units: Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]
    charge: Annotated[Money, Field(ge=0)]
    diagnosis_pointers: Annotated[tuple[Annotated[int, Field(ge=1, le=12)], ...], Field(min_length=1, max_length=4)]
    service_date: date
    place_of_service: PlaceOfService
    control_number: Reference | None = None  # REF*6R, echoed in the 835
    procedure_qualifier: Literal["HC", "ER", "IV", "WK"] = "HC"  # SV101-1
    description: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^*:^~\r\n]+$")] | None = (
        None  # SV101-7
    )
    unit_basis: Literal["UN", "MJ"] = "UN"  # SV103: units, or minutes (anesthesia)
    service_date_to: date | None = None  # DTP*472 RD8: the last day of a period
    emergency: bool = False  # SV109 Y
    epsdt: bool = False  # SV111 Y
    family_planning: bool = False  # SV112 Y
    copay_exempt: bool = False  # SV115 0
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=10)] = ()  # PWK
    drug: Drug | None = None  # loop 2410
    kept: tuple[Kept, ...] = ()

    @model_validator(mode="after")
    def _coded(self) -> "ServiceLine":
        if self.procedure_qualifier == "HC" and len(self.procedure_code) != 5:
            raise ValueError("an HC procedure code (CPT or HCPCS) has 5 characters")
        if self.service_date_to is not None and self.service_date_to < self.service_date:
            raise ValueError("the service period ends before it begins")
        return self


class Claim(Model):
    patient_control_number: PatientControlNumber  # CLM01
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
    diagnoses: Annotated[tuple[DiagnosisCode, ...], Field(min_length=1, max_length=12)]  # first is principal
    referring_provider: ReferringProvider | None = None
    rendering_provider: RenderingProvider | None = None
    prior_authorization: Code | None = None
    lines: Annotated[tuple[ServiceLine, ...], Field(min_length=1, max_length=50)]
    diagnosis_qualifier: Literal["ABK", "BK"] = "ABK"  # HI01-1: ICD-10-CM, or ICD-9-CM (before 2015-10-01)
    insurance_type: Annotated[str, Field(pattern=r"^[0-9]{2}$")] | None = None  # SBR05 (Medicare secondary)
    signature_on_file: Literal["Y", "N"] = "Y"  # CLM06
    assignment: Literal["A", "B", "C"] = "A"  # CLM07: accepts assignment, or not
    benefits_assigned: Literal["Y", "N", "W"] = "Y"  # CLM08: pay the provider
    release_of_information: Literal["Y", "I"] = "Y"  # CLM09
    patient_signature_source: Literal["P"] | None = None  # CLM10
    related_causes: Annotated[tuple[Literal["AA", "EM", "OA"], ...], Field(max_length=2)] = ()  # CLM11-1/2
    accident_state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None  # CLM11-4
    accident_country: Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")] | None = None  # CLM11-5
    special_program: Literal["02", "03", "05", "09"] | None = None  # CLM12
    delay_reason: Literal["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "15"] | None = None  # CLM20
    patient_paid: Money | None = None  # AMT*F5
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=10)] = ()  # PWK
    kept: tuple[Kept, ...] = ()

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
        pattern = ICD10 if self.diagnosis_qualifier == "ABK" else ICD9
        if not all(pattern.fullmatch(code) for code in self.diagnoses):
            kind = "ICD-10-CM (ABK)" if self.diagnosis_qualifier == "ABK" else "ICD-9-CM (BK)"
            raise ValueError(f"a diagnosis code is not an {kind} code as its qualifier says")
        return self

    @property
    def code_set_problem(self) -> str | None:
        """Why the diagnosis code set does not fit the dates of service, or None."""
        first = min(line.service_date for line in self.lines)
        last = max(line.service_date_to or line.service_date for line in self.lines)
        return code_set_problem(self.diagnosis_qualifier, first, last)


def invalid_npis(claim: Claim) -> list[str]:
    """The claim's fields holding an NPI whose check digit fails (a payer rejects such a claim)."""
    named = {"rendering_provider": claim.rendering_provider, "referring_provider": claim.referring_provider}
    return [f"{field}.npi" for field, who in named.items() if who and who.npi and not npi_is_valid(who.npi)]


def code_set_problem(qualifier: str, first: date, last: date) -> str | None:
    """ICD-9-CM (BK) codes services before 2015-10-01, ICD-10-CM (ABK) those from then on."""
    if qualifier == "BK" and last >= ICD10_FROM:
        return "ICD-9-CM diagnosis codes (BK) on a service from 2015-10-01, when ICD-10-CM is required"
    if qualifier == "ABK" and first < ICD10_FROM:
        return "ICD-10-CM diagnosis codes (ABK) on a service before 2015-10-01, when ICD-9-CM is required"
    return None


class ProviderClaims(Model):
    """The claims of one billing provider (loop 2000A): one 837 transaction set when written here."""

    billing_provider: BillingProvider
    claims: Annotated[tuple[Claim, ...], Field(min_length=1)]


class Interchange837(Model):
    sender_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9][A-Za-z0-9 .\-]*$")]
    receiver_id: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9][A-Za-z0-9 .\-]*$")]
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

"""Pydantic contracts of every event. Additive changes only within a version; a breaking change
is a new model with a new version suffix. JSON Schemas are exported to shared/contracts/schemas."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import core_schema

MONEY_PATTERN = r"^-?\d+\.\d{2}$"
CENT = Decimal("0.01")


MONEY_TEXT = r"^-?\d{1,10}\.\d{2}$"  # the pattern within max_digits=12, decimal_places=2
MONEY_ERROR = 'money is a string with two decimal places, e.g. "195.00" or "-12.50" (at most 12 digits)'


def _money_schema(_source: Any, _handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """On the wire (JSON) money is a string with exactly two decimals, nothing else: "195" or 195.0
    would pass a lax reader and break the next one. In Python a Decimal (or int) is taken as is and
    held in cents (never -0.00). Either way the value is a Decimal of exactly two places, so it is
    written as its own str() inside pydantic-core: no Python frame per amount read from the wire or
    written to it, where a payment.posted carries a score of them ("-0.00" read is written back as is)."""
    as_text = core_schema.str_schema(pattern=MONEY_TEXT, strict=True)
    wire = core_schema.chain_schema([as_text, core_schema.no_info_plain_validator_function(Decimal)])
    python = core_schema.chain_schema(
        [
            core_schema.decimal_schema(max_digits=12, decimal_places=2),
            core_schema.no_info_plain_validator_function(_in_cents),
        ]
    )
    return core_schema.json_or_python_schema(
        json_schema=core_schema.custom_error_schema(wire, custom_error_type="money", custom_error_message=MONEY_ERROR),
        python_schema=python,
        serialization=core_schema.to_string_ser_schema(when_used="json"),
    )


ZERO = Decimal("0.00")


def _in_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT) or ZERO  # 5 -> 5.00, 36.600 -> 36.60; never -0.00


Money = Annotated[
    Decimal,
    GetPydanticSchema(_money_schema),
    WithJsonSchema(
        {"type": "string", "pattern": MONEY_PATTERN, "examples": ["195.00", "0.00", "-12.50"]},
    ),
]
"""US dollars: a decimal string with two places on the wire ("195.00", "0.00", "-12.50"), a
Decimal in Python. Every amount of every contract is this type."""
Percent = Annotated[Money, Field(ge=0, le=100)]
"""A percentage (0..100) written the way money is: "20.00"."""
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Npi = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
IcdCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=8)]
ProcedureCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=5)]
Modifier = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
PlaceOfService = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
PayerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,80}$")]


class Contract(BaseModel):
    """An event (or a part of one). Built in Python it refuses unknown fields (a producer's typo fails
    at once); read from a topic, it is read the way its class says (see `tolerant_reader`, `read_json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerant_reader: ClassVar[bool] = True
    """Read with unknown properties ignored (at every depth), and published as an open JSON Schema (no
    `additionalProperties: false`): the contracts OpenRCM's services publish to each other and to
    analysts, so a new optional property (an additive release) does not break readers of the previous
    one. False for the inbound contracts other systems write, read as their model's config says."""

    @classmethod
    def read_json(cls, value: bytes | str) -> Self:
        """A record's value read strictly ("2" is not an integer, "195" is not money), unknown
        properties ignored when the contract is a tolerant reader's, else as its config says."""
        return cls.model_validate_json(value, strict=True, extra="ignore" if cls.tolerant_reader else None)


# ---- shared parts ---------------------------------------------------------------------------


class Address(Contract):
    line1: Text
    line2: Text | None = None
    city: Text
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{5}(\d{4})?$")]


class Person(Contract):
    first_name: Text
    last_name: Text
    birth_date: date
    sex: Literal["M", "F", "U"]
    address: Address
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{10,15}$")] | None = Field(
        default=None, description="Digits only, optionally with a leading + (E.164 style)."
    )


class Coverage(Contract):
    rank: Literal["primary", "secondary", "tertiary"]
    payer_id: PayerId
    payer_name: Text
    member_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,30}$")]
    group_number: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,30}$")] | None = None
    plan_name: Text | None = None
    relationship: Literal["self", "spouse", "child", "other"] = "self"
    subscriber: Person | None = None  # required when relationship is not "self"
    effective_date: date
    end_date: date | None = None


class RenderingProvider(Contract):
    npi: Npi
    first_name: Text
    last_name: Text
    # Additive in v1:
    taxonomy_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{9}X$")] | None = Field(
        default=None, description="NUCC taxonomy (837P PRV*PE), when the payer needs the rendering specialty."
    )


class ReferringProvider(Contract):
    """Who referred the patient (837P loop 2310A): specialists' claims often need it."""

    npi: Npi
    first_name: Text
    last_name: Text


# ---- registration ---------------------------------------------------------------------------


class PatientRegisteredV1(Contract):
    """A patient and their coverages as registration knows them. Carries PHI: internal topic."""

    patient_id: UUID
    version: int = Field(ge=1, description="Increases with every change of this patient.")
    mrn: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,30}$")]
    patient: Person
    coverages: list[Coverage] = Field(min_length=1, max_length=3)
    registered_at: datetime
    facility: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,30}$")] = Field(
        default="MAIN", description="The facility whose medical record number `mrn` is."
    )
    changes: list[Literal["patient", "coverages"]] = Field(
        default_factory=list, description="What changed since the previous version; empty for version 1."
    )


# ---- intake (documented contract for EHRs and other systems) --------------------------------


class DocumentedDiagnosis(Contract):
    code: IcdCode = Field(description="ICD-10-CM, with or without the dot, e.g. E11.9 or E119.")
    description: str | None = Field(default=None, max_length=250)


class DocumentedProcedure(Contract):
    code: ProcedureCode = Field(description="CPT or HCPCS Level II code.")
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: int = Field(default=1, ge=1, le=999)
    diagnosis_pointers: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=4)

    @field_validator("diagnosis_pointers")
    @classmethod
    def _pointers_in_range(cls, pointers: list[int]) -> list[int]:
        if any(not 1 <= p <= 12 for p in pointers):
            raise ValueError("diagnosis pointers are 1-based positions, 1..12")
        return pointers


Statement = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=250)]
MdmLevel = Literal["minimal", "low", "moderate", "high"]


class MedicalDecisionMaking(Contract):
    """The three elements of medical decision making (AMA 2021 office/outpatient E/M)."""

    problems: MdmLevel
    data: MdmLevel
    risk: MdmLevel


EncounterAction = Literal["original", "correct", "void"]


class EncounterDocumentedV1(Contract):
    """What an EHR publishes when a visit is documented (inbound contract v1)."""

    tolerant_reader: ClassVar[bool] = False  # written by other systems: an unknown property is refused

    encounter_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
    patient_id: UUID
    date_of_service: date
    place_of_service: PlaceOfService = "11"
    rendering_provider: RenderingProvider
    billing_provider_npi: Npi | None = None
    referring_provider: ReferringProvider | None = None  # additive in v1
    # Documentation for computer-assisted coding (optional; additive in v1).
    diagnosis_statements: list[Statement] = Field(
        default_factory=list, max_length=24, description="Assessment lines as the provider wrote them, e.g. 'HTN'."
    )
    procedure_statements: list[Statement] = Field(default_factory=list, max_length=50)
    problem_list: list[Statement] = Field(
        default_factory=list, max_length=50, description="The patient's active problems (context, not coded by itself)."
    )
    patient_type: Literal["new", "established"] | None = Field(default=None, description="For the E/M code family.")
    total_time_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="Provider's total time on the date of the encounter."
    )
    mdm: MedicalDecisionMaking | None = None
    # Additive in v1 (contracts 1.1): corrections and voids. Declared before the codes: a void needs none.
    version: int = Field(
        default=1,
        ge=1,
        le=1_000_000,
        description="The EHR's version of this encounter: 1 when first documented, one more for each correction "
        "or void. A version at or below the one already received is not applied (answered on encounter.rejected).",
    )
    action: EncounterAction = Field(
        default="original",
        description="original: first documentation; correct: this version replaces the earlier one (re-coded, and "
        "a replacement claim (frequency 7) when it was billed); void: the visit is withdrawn (a void claim "
        "(frequency 8) when it was billed). A changed re-send without `correct` is refused "
        "(encounter.already_coded).",
    )
    diagnoses: list[DocumentedDiagnosis] = Field(
        default_factory=list,
        max_length=12,
        validate_default=True,
        description="Codes the EHR chose; may be empty when diagnosis_statements say it.",
    )
    procedures: list[DocumentedProcedure] = Field(
        default_factory=list,
        max_length=50,
        validate_default=True,
        description="May be empty when the documentation supports an E/M level.",
    )
    prior_authorization: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,50}$")] | None = None
    notes: str | None = Field(default=None, max_length=20000)

    @field_validator("diagnoses")
    @classmethod
    def _diagnoses_or_statements(
        cls, diagnoses: list[DocumentedDiagnosis], info: ValidationInfo
    ) -> list[DocumentedDiagnosis]:
        if not diagnoses and not info.data.get("diagnosis_statements") and info.data.get("action") != "void":
            raise ValueError("diagnoses or diagnosis_statements are required")
        return diagnoses

    @field_validator("procedures")
    @classmethod
    def _procedures_or_documentation(
        cls, procedures: list[DocumentedProcedure], info: ValidationInfo
    ) -> list[DocumentedProcedure]:
        documented = [info.data.get(f) for f in ("procedure_statements", "total_time_minutes", "mdm")]
        if not procedures and not any(documented) and info.data.get("action") != "void":
            raise ValueError("procedures, procedure_statements, total_time_minutes or mdm are required")
        return procedures


# ---- coding ---------------------------------------------------------------------------------


class CodedServiceLine(Contract):
    line_number: int = Field(ge=1, le=50)
    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: int = Field(ge=1, le=999)
    diagnosis_pointers: list[int] = Field(min_length=1, max_length=4)


class EncounterCodedV1(Contract):
    """Coding's verdict that an encounter can be billed: its ICD-10-CM diagnoses and its service lines.
    Published automatically or by a coder; a correction or void of the EHR comes as a later version."""

    encounter_id: str
    patient_id: UUID
    date_of_service: date
    place_of_service: PlaceOfService
    rendering_provider: RenderingProvider
    billing_provider_npi: Npi | None = None
    referring_provider: ReferringProvider | None = None  # additive in v1
    diagnoses: list[IcdCode] = Field(
        min_length=1, max_length=12, description="ICD-10-CM without dots, principal first."
    )
    service_lines: list[CodedServiceLine] = Field(min_length=1, max_length=50)
    prior_authorization: str | None = None
    # Additive in v1 (contracts 1.1): the EHR's corrections and voids, as coding passes them on.
    version: int = Field(default=1, ge=1, description="The encounter.documented version these codes are of.")
    action: EncounterAction = Field(
        default="original",
        description="original: first coding; correct: replaces an earlier version's codes (bill a replacement when "
        "that was billed); void: the EHR withdrew the encounter; diagnoses and service_lines are the codes voided.",
    )
    coded_by: str = Field(description="'auto' or the coder's subject (the sign-in token's sub).")
    coded_at: datetime
    coded_by_name: str | None = Field(default=None, max_length=255, description="The coder's display name (additive).")


class Finding(Contract):
    field: str = Field(description="Path of the offending field, e.g. diagnoses[1].code.")
    code: str = Field(description="Stable machine-readable reason, e.g. icd.not_billable.")
    message: str


class EncounterRejectedV1(Contract):
    """Why an encounter was not coded, for its sender: each finding names the field and a stable code.
    Also the answer to a changed re-send without the correction marker (encounter.already_coded)."""

    encounter_id: str
    patient_id: UUID | None = None
    stage: Literal["coding"] = "coding"
    findings: list[Finding] = Field(min_length=1)
    rejected_at: datetime


# ---- FHIR intake (inbound from other systems) and its rejections -----------------------------


class IntakeFhirV1(Contract):
    """A FHIR R4 Bundle (JSON) with one Patient, 1..3 Coverages and at most one Encounter, as
    published to intake.fhir. Registration reads it with fhir.resources (R4B); see the README."""

    model_config = ConfigDict(extra="allow", frozen=True)
    tolerant_reader: ClassVar[bool] = False  # the whole Bundle is kept (extra="allow"); registration reads it

    resourceType: Literal["Bundle"]


class IntakeRejectedV1(Contract):
    """Why an intake record was refused, for its sender. `intake_id` is the refused record's ce_id."""

    intake_id: UUID
    source_topic: str
    bundle_id: str | None = None
    findings: list[Finding] = Field(min_length=1)
    rejected_at: datetime


class EligibilityCheckedV1(Contract):
    """A payer's 271 answer to registration's 270 for one coverage. Claims should not be built on a
    coverage whose latest check says active=false. Carries no names, birth dates or member ids."""

    check_id: UUID
    patient_id: UUID
    coverage_rank: Literal["primary", "secondary", "tertiary"]
    payer_id: PayerId
    service_date: date
    active: bool
    plan_name: str | None = None
    copay: Money | None = None
    deductible_remaining: Money | None = None
    coinsurance_percent: Percent | None = None
    rejection_code: str | None = Field(default=None, description="AAA03 when the payer could not answer, e.g. 72.")
    checked_at: datetime


# ---- claims ---------------------------------------------------------------------------------


ClaimKind = Literal["original", "replacement", "void", "secondary"]


class SubmittedLine(Contract):
    line_number: int
    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list)
    units: int
    charge: Money


class ClaimSubmittedV1(Contract):
    """A claim went to the clearinghouse in an 837P: what it bills, to whom, for how much, and which
    claim it replaces, voids or follows (kind, original_claim_id)."""

    claim_id: UUID
    patient_control_number: str = Field(max_length=20, description="CLM01; the 835 echoes it in CLP01.")
    encounter_id: str = Field(description="The first encounter the claim bills (see encounter_ids).")
    patient_id: UUID
    payer_id: PayerId
    payer_name: str
    date_of_service: date
    total_charge: Money
    lines: list[SubmittedLine] = Field(min_length=1)
    interchange_control_number: int
    file_name: str
    submitted_at: datetime
    kind: ClaimKind = Field(
        default="original", description="replacement/void: frequency code 7/8; secondary: billed to the next payer."
    )
    original_claim_id: UUID | None = Field(default=None, description="The claim this one replaces, voids or follows.")
    # Additive in v1:
    encounter_ids: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Every encounter this claim bills, first = encounter_id: encounters of one patient, date, "
        "payer and provider are billed on one claim. Empty from senders older than this field.",
    )


# ---- payments (the analysts' contract: no direct patient identifiers) -----------------------

GroupCode = Literal["CO", "PR", "OA", "PI", "CR"]


class Adjustment(Contract):
    group_code: GroupCode
    reason_code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,5}$")]
    amount: Money


class PostedLine(Contract):
    line_number: int | None = Field(description="Our claim line; None when the payer's line did not match one.")
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    charge: Money
    paid: Money
    adjustments: list[Adjustment] = Field(default_factory=list)
    remark_codes: list[str] = Field(default_factory=list)
    billed_procedure_code: str | None = Field(
        default=None, description="SVC06: the code we billed when the payer paid another (bundling/unbundling)."
    )
    service_date: date | None = None


class AmountsByCategory(Contract):
    charge: Money
    paid: Money
    contractual: Money = Field(description="CO adjustments: written off under contract or denial.")
    deductible: Money = Field(description="PR-1")
    coinsurance: Money = Field(description="PR-2")
    copay: Money = Field(description="PR-3")
    other_patient_responsibility: Money = Field(description="PR with any other reason")
    other_adjustments: Money = Field(description="OA, PI and CR adjustments")


class PaymentPostedV1(Contract):
    """One posting of a payer's claim payment. Analysts' contract: keep it free of identifiers."""

    posting_id: UUID
    claim_id: UUID
    payer_id: str
    payer_name: str
    claim_status_code: str = Field(description="CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 22 reversal ...")
    denied: bool
    payer_claim_control_number: str | None = None
    payment_method: str = Field(description="BPR04: CHK, ACH, NON ...")
    check_or_eft_number: str = Field(description="TRN02")
    payment_date: date | None = None
    date_of_service: date | None = None
    amounts: AmountsByCategory
    claim_adjustments: list[Adjustment] = Field(default_factory=list)
    lines: list[PostedLine] = Field(default_factory=list)
    carc_codes: list[str] = Field(default_factory=list, description="Every CARC on the claim and its lines.")
    rarc_codes: list[str] = Field(
        default_factory=list, description="Every RARC (MOA/MIA and LQ) on the claim and its lines."
    )
    posted_at: datetime
    # Additive in v1:
    outcome: Literal["paid", "denied", "reversed", "not_our_claim", "predetermination"] = Field(
        default="paid",
        description="CLP02 in words: 1/2/3/19/20/21 paid (maybe 0.00), 4 denied, 22 reversed, "
        "23 not our claim, 25 predetermination.",
    )
    forwarded_to_another_payer: bool = Field(default=False, description="CLP02 19, 20, 21 or 23 (crossover).")
    claim_frequency_code: str | None = Field(default=None, description="CLP09: 1 original, 7 replacement ...")
    statement_from: date | None = Field(default=None, description="DTM*232")
    statement_to: date | None = Field(default=None, description="DTM*233")
    received_by_payer: date | None = Field(default=None, description="DTM*050")
    unmatched_lines: int = Field(default=0, description="Payer lines that matched none of ours (in the work queue).")
    # Additive in v1 (contracts 1.1): what an analyst needs to count each encounter's money once.
    claim_kind: ClaimKind | None = Field(
        default=None,
        description="The kind of the claim paid (claim.submitted's kind): a secondary claim's posting repeats the "
        "primary's charge; a replacement's charge replaces the original's (whose reversal takes it back).",
    )
    original_claim_id: UUID | None = Field(
        default=None, description="For a replacement, void or secondary claim: the claim it follows."
    )
    encounter_ids: list[str] = Field(default_factory=list, max_length=50, description="The encounters the claim bills.")
    charge_is_new: bool | None = Field(
        default=None,
        description="True when amounts.charge counts here: a posting of an original or replacement claim (a "
        "reversal's negative charge takes one back); false when it repeats a charge another posting counts (a "
        "secondary payer's claim). Charges once = the sum of amounts.charge where charge_is_new.",
    )


class PatientPaymentApplication(Contract):
    claim_id: UUID
    amount: Money = Field(description="Applied to this claim's patient balance; negative when a refund takes it back.")


class PatientPaymentPostedV1(Contract):
    """Money a patient paid (kind payment, amount > 0) or got back (kind refund, amount < 0), and how it was
    applied to their claims' patient balances. For A/R; carries the internal patient id, no name or member id."""

    payment_id: UUID
    patient_id: UUID
    kind: Literal["payment", "refund"]
    refund_of: UUID | None = Field(default=None, description="The payment a refund gives money back from.")
    amount: Money
    method: Literal["cash", "check", "card", "ach", "other"]
    reference: str | None = Field(default=None, max_length=60, description="Check number or card authorization.")
    applications: list[PatientPaymentApplication] = Field(default_factory=list)
    unapplied: Money = Field(description="The patient's credit left on this payment after this event.")
    received_at: datetime


# ---- acknowledgements and follow-up requests between claims and A/R --------------------------


class AckReason(Contract):
    code: str = Field(max_length=30, description="999 IK3/IK4 error code, or 277CA STC category:status.")
    message: str = Field(max_length=300)
    segment: str | None = Field(default=None, max_length=10)


class ClaimAcknowledgedV1(Contract):
    """The clearinghouse (999) or the payer's front end (277CA) accepted or rejected a claim."""

    claim_id: UUID
    accepted: bool
    source: Literal["999", "277CA"]
    reasons: list[AckReason] = Field(default_factory=list)
    payer_claim_control_number: str | None = None
    acknowledged_at: datetime


class LineChange(Contract):
    """A change to one line of a claim being corrected; what is left None stays as sent."""

    line_number: int = Field(ge=1, le=50)
    procedure_code: ProcedureCode | None = None
    modifiers: list[Modifier] | None = Field(default=None, max_length=4)
    units: int | None = Field(default=None, ge=1, le=999)
    diagnosis_pointers: list[int] | None = Field(default=None, min_length=1, max_length=4)


class ClaimChanges(Contract):
    """What a corrected replacement claim changes; anything left None stays as the payer saw it."""

    prior_authorization: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,50}$")] | None = None
    diagnoses: list[IcdCode] | None = Field(
        default=None, min_length=1, max_length=12, description="Replaces the whole list, principal first."
    )
    lines: list[LineChange] = Field(default_factory=list, max_length=50)


class ClaimCorrectionRequestedV1(Contract):
    """A/R asks claims for a corrected replacement (frequency 7) or a void (8) of a claim."""

    claim_id: UUID
    frequency_code: Literal["7", "8"] = "7"
    payer_claim_control_number: str = Field(max_length=50)
    reason: str = Field(max_length=300, description="Why, e.g. the CARC and its category.")
    requested_by: str = Field(max_length=64, description="The subject (token sub) of the person who asked.")
    requested_at: datetime
    # Additive in v1:
    changes: ClaimChanges | None = Field(default=None, description="The corrected data (frequency 7 only).")
    requested_by_name: str | None = Field(default=None, max_length=255, description="Their display name.")


class SecondaryClaimRequestedV1(Contract):
    """A/R asks claims to bill the next payer once the primary has paid (coordination of benefits)."""

    claim_id: UUID
    primary_payer_id: str
    primary_payer_claim_control_number: str | None = None
    primary_paid: Money
    primary_paid_date: date | None = None
    primary_adjustments: list[Adjustment] = Field(default_factory=list)
    requested_at: datetime


# ---- A/R: patient statements ------------------------------------------------------------------


class StatementIssuedV1(Contract):
    """A/R issued a patient statement. The document (a PDF) is referenced, never carried: no names
    or addresses on the topic, only the patient id, the amounts and the dunning stage."""

    statement_id: UUID
    patient_id: UUID
    stage: Literal["first", "reminder_30", "reminder_60", "reminder_90", "final_notice", "collections", "plan"]
    balance: Money = Field(description="What the patient owes in all.")
    amount_due: Money = Field(description="What this statement asks for (a plan's installment, or the balance).")
    claim_ids: list[UUID] = Field(default_factory=list, max_length=500)
    document: str = Field(max_length=300, description="Where the PDF is kept (A/R's statements store).")
    issued_on: date
    issued_at: datetime


# ---- the audit trail: who touched which patient's data ------------------------------------------


class AuditRecordedV1(Contract):
    """A service recorded an access to patient data in its audit_log, in FHIR AuditEvent terms.

    Ids only: no names, no addresses; the row itself stays in the service's database."""

    audit_id: int = Field(description="The row's id in the observer's audit_log.")
    observer: str = Field(max_length=64, description="The service that recorded it (AuditEvent.source.observer).")
    recorded: datetime
    action: Literal["C", "R", "U", "D", "E"]
    subtype: str = Field(
        max_length=40, description="The interaction: read, search-type, create, update, or an operation."
    )
    outcome: Literal["0", "4", "8", "12"]
    purpose_of_use: str = Field(max_length=16, description="HL7 v3 PurposeOfUse, e.g. HPAYMT.")
    agent_who: str = Field(max_length=255, description="The token's subject.")
    agent_client: str | None = Field(default=None, max_length=255, description="The application used (azp).")
    agent_machine: bool = False
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    patient_id: str | None = Field(default=None, max_length=64)
    entity_query: str | None = Field(
        default=None, max_length=500, description="A search's filters as asked (ids and dates only), URL-encoded."
    )


EVENT_MODELS: dict[str, type[Contract]] = {
    "patient.registered.v1": PatientRegisteredV1,
    "encounter.documented.v1": EncounterDocumentedV1,
    "encounter.coded.v1": EncounterCodedV1,
    "encounter.rejected.v1": EncounterRejectedV1,
    "intake.fhir.v1": IntakeFhirV1,
    "intake.rejected.v1": IntakeRejectedV1,
    "eligibility.checked.v1": EligibilityCheckedV1,
    "claim.submitted.v1": ClaimSubmittedV1,
    "payment.posted.v1": PaymentPostedV1,
    "patient-payment.posted.v1": PatientPaymentPostedV1,
    "claim.acknowledged.v1": ClaimAcknowledgedV1,
    "claim.correction-requested.v1": ClaimCorrectionRequestedV1,
    "claim.secondary-requested.v1": SecondaryClaimRequestedV1,
    "statement.issued.v1": StatementIssuedV1,
    "audit.recorded.v1": AuditRecordedV1,
}
EVENT_NAMESPACE = "org.openrcm"
# The release of the published contracts (schemas, AsyncAPI, the openrcm-contracts package). Bump
# the minor version for additive changes; a breaking change is a new event version (".v2") instead.
CONTRACTS_VERSION = "1.3.0"


def event_type(name: str) -> str:
    """'claim.submitted.v1' -> 'org.openrcm.claim.submitted.v1'"""
    return f"{EVENT_NAMESPACE}.{name}"


def schema_id(name: str) -> str:
    """The $id of an event's JSON Schema, also its ce_dataschema: 'urn:openrcm:schema:claim.submitted.v1'."""
    return f"urn:openrcm:schema:{name}"


def name_of(model: type[Contract]) -> str:
    for name, candidate in EVENT_MODELS.items():
        if candidate is model:
            return name
    raise KeyError(model.__name__)


def normalize_icd(code: str) -> str:
    return re.sub(r"[.\s]", "", code).upper()

"""Every topic of the platform. Keys are the aggregate id named beside each topic."""

ENCOUNTER_DOCUMENTED = "encounter.documented"  # inbound from EHRs; key: encounter id
PATIENT_REGISTERED = "patient.registered"  # key: patient id
ENCOUNTER_CODED = "encounter.coded"  # key: patient id (a patient's encounters in order, grouped onto claims)
ENCOUNTER_REJECTED = "encounter.rejected"  # coding refused the encounter; key: encounter id
CLAIM_SUBMITTED = "claim.submitted"  # key: claim id
PAYMENT_POSTED = "payment.posted"  # the analysts' topic; key: claim id
PATIENT_PAYMENT_POSTED = "patient-payment.posted"  # patient payments and refunds -> A/R; key: patient id
INTAKE_FHIR = "intake.fhir"  # FHIR R4 bundles from other systems -> registration; key: bundle or patient id
INTAKE_REJECTED = "intake.rejected"  # registration refused an intake record; key: the record's ce_id
ELIGIBILITY_CHECKED = "eligibility.checked"  # a payer's 271 for one coverage; key: patient id
CLAIM_ACKNOWLEDGED = "claim.acknowledged"  # 999 / 277CA accepted or rejected a claim; key: claim id
CLAIM_CORRECTION_REQUESTED = "claim.correction-requested"  # A/R -> claims: replace or void; key: claim id
CLAIM_SECONDARY_REQUESTED = "claim.secondary-requested"  # A/R -> claims: bill the next payer; key: claim id
STATEMENT_ISSUED = "statement.issued"  # A/R issued a patient statement (PDF by reference); key: patient id
AUDIT_RECORDED = "audit.recorded"  # every service: an access to patient data was recorded (ids only); key: patient id

DEAD_LETTER_SUFFIX = ".dlt"

EVENT_TOPICS = (
    ENCOUNTER_DOCUMENTED,
    PATIENT_REGISTERED,
    ENCOUNTER_CODED,
    ENCOUNTER_REJECTED,
    CLAIM_SUBMITTED,
    PAYMENT_POSTED,
    PATIENT_PAYMENT_POSTED,
    INTAKE_FHIR,
    INTAKE_REJECTED,
    ELIGIBILITY_CHECKED,
    CLAIM_ACKNOWLEDGED,
    CLAIM_CORRECTION_REQUESTED,
    CLAIM_SECONDARY_REQUESTED,
    STATEMENT_ISSUED,
    AUDIT_RECORDED,
)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


ALL_TOPICS = EVENT_TOPICS + tuple(dead_letter_topic(t) for t in EVENT_TOPICS)

"""One example of every event as it travels (the JSON value of the Kafka record), plus the EHR's
correction and void of an encounter. The AsyncAPI catalogue shows them; the contract tests check
each against its exported JSON Schema and its model. Sample data only: no real person."""

import json
from typing import Any

from .events import EVENT_MODELS, Contract

PATIENT = "9a1c6a0e-2b8e-4a37-9d1c-6c1f5a0b7e21"
CLAIM = "3f1e0c52-8d4b-5b6a-9c1d-2e3f4a5b6c7d"
REPLACEMENT = "7b2d9e14-5c3a-5f8e-8a1b-0c2d3e4f5a6b"
ENCOUNTER = "EHR-2026-000123"
PROVIDER = {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"}
ADDRESS = {"line1": "12 Oak St", "city": "Springfield", "state": "IL", "postal_code": "62704"}
WHEN = "2026-11-27T15:04:05.123000Z"
AMOUNTS = {
    "charge": "265.00",
    "paid": "148.40",
    "contractual": "60.00",
    "deductible": "0.00",
    "coinsurance": "36.60",
    "copay": "20.00",
    "other_patient_responsibility": "0.00",
    "other_adjustments": "0.00",
}

DOCUMENTED = {
    "encounter_id": ENCOUNTER,
    "patient_id": PATIENT,
    "date_of_service": "2026-11-27",
    "place_of_service": "11",
    "rendering_provider": PROVIDER,
    "diagnoses": [{"code": "E11.9"}, {"code": "I10"}],
    "procedures": [
        {"code": "99214", "units": 1, "diagnosis_pointers": [1, 2]},
        {"code": "83036", "units": 1, "diagnosis_pointers": [1]},
    ],
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "patient.registered.v1": {
        "patient_id": PATIENT,
        "version": 1,
        "mrn": "MRN-000123",
        "facility": "MAIN",
        "patient": {
            "first_name": "Ada",
            "last_name": "Quill",
            "birth_date": "1961-04-05",
            "sex": "F",
            "address": ADDRESS,
        },
        "coverages": [
            {
                "rank": "primary",
                "payer_id": "SIMAETNA",
                "payer_name": "SIMULATED CARE PLAN",
                "member_id": "SIM100200300",
                "group_number": "GRP0001",
                "relationship": "self",
                "effective_date": "2024-01-01",
            }
        ],
        "registered_at": WHEN,
        "changes": [],
    },
    "encounter.documented.v1": DOCUMENTED,
    "encounter.coded.v1": {
        "encounter_id": ENCOUNTER,
        "patient_id": PATIENT,
        "date_of_service": "2026-11-27",
        "place_of_service": "11",
        "rendering_provider": PROVIDER,
        "diagnoses": ["E119", "I10"],
        "service_lines": [
            {"line_number": 1, "procedure_code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]},
            {"line_number": 2, "procedure_code": "83036", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
        ],
        "coded_by": "auto",
        "coded_at": WHEN,
    },
    "encounter.rejected.v1": {
        "encounter_id": ENCOUNTER,
        "patient_id": PATIENT,
        "stage": "coding",
        "findings": [
            {
                "field": "diagnoses[0].code",
                "code": "icd.not_billable",
                "message": "E11 is a category, not a billable code; fix: send the full code, e.g. E11.9",
            }
        ],
        "rejected_at": WHEN,
    },
    "intake.fhir.v1": {"resourceType": "Bundle", "type": "collection", "entry": []},
    "intake.rejected.v1": {
        "intake_id": "11111111-2222-4333-8444-555555555555",
        "source_topic": "intake.fhir",
        "bundle_id": "bundle-42",
        "findings": [
            {"field": "entry.2.resource.payor", "code": "intake.value_error", "message": "the payer is required"}
        ],
        "rejected_at": WHEN,
    },
    "eligibility.checked.v1": {
        "check_id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
        "patient_id": PATIENT,
        "coverage_rank": "primary",
        "payer_id": "SIMAETNA",
        "service_date": "2026-11-27",
        "active": True,
        "plan_name": "GOLD PPO",
        "copay": "20.00",
        "deductible_remaining": "250.00",
        "coinsurance_percent": "20.00",
        "checked_at": WHEN,
    },
    "claim.submitted.v1": {
        "claim_id": CLAIM,
        "patient_control_number": "3F1E0C528D4B5B6A9C1D",
        "encounter_id": ENCOUNTER,
        "encounter_ids": [ENCOUNTER],
        "patient_id": PATIENT,
        "payer_id": "SIMAETNA",
        "payer_name": "SIMULATED CARE PLAN",
        "date_of_service": "2026-11-27",
        "total_charge": "265.00",
        "lines": [
            {"line_number": 1, "procedure_code": "99214", "modifiers": [], "units": 1, "charge": "195.00"},
            {"line_number": 2, "procedure_code": "83036", "modifiers": [], "units": 1, "charge": "70.00"},
        ],
        "interchange_control_number": 42,
        "file_name": "837P-000000042.x12",
        "submitted_at": WHEN,
        "kind": "original",
    },
    "payment.posted.v1": {
        "posting_id": "0c1d2e3f-4a5b-5c6d-8e7f-8091a2b3c4d5",
        "claim_id": CLAIM,
        "payer_id": "SIMAETNA",
        "payer_name": "SIMULATED CARE PLAN",
        "claim_status_code": "1",
        "denied": False,
        "payer_claim_control_number": "SIM4F2A9C0D1E2B3C4",
        "payment_method": "ACH",
        "check_or_eft_number": "SIMAETNA0000000070",
        "payment_date": "2026-12-10",
        "date_of_service": "2026-11-27",
        "amounts": AMOUNTS,
        "claim_adjustments": [],
        "lines": [
            {
                "line_number": 1,
                "procedure_code": "99214",
                "charge": "195.00",
                "paid": "108.40",
                "adjustments": [
                    {"group_code": "CO", "reason_code": "45", "amount": "40.00"},
                    {"group_code": "PR", "reason_code": "2", "amount": "26.60"},
                    {"group_code": "PR", "reason_code": "3", "amount": "20.00"},
                ],
                "service_date": "2026-11-27",
            },
            {
                "line_number": 2,
                "procedure_code": "83036",
                "charge": "70.00",
                "paid": "40.00",
                "adjustments": [
                    {"group_code": "CO", "reason_code": "45", "amount": "20.00"},
                    {"group_code": "PR", "reason_code": "2", "amount": "10.00"},
                ],
                "service_date": "2026-11-27",
            },
        ],
        "carc_codes": ["2", "3", "45"],
        "rarc_codes": [],
        "posted_at": WHEN,
        "outcome": "paid",
        "claim_frequency_code": "1",
        "claim_kind": "original",
        "encounter_ids": [ENCOUNTER],
        "charge_is_new": True,
    },
    "patient-payment.posted.v1": {
        "payment_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "patient_id": PATIENT,
        "kind": "payment",
        "amount": "56.60",
        "method": "card",
        "reference": "AUTH-778812",
        "applications": [{"claim_id": CLAIM, "amount": "56.60"}],
        "unapplied": "0.00",
        "received_at": WHEN,
    },
    "claim.acknowledged.v1": {
        "claim_id": CLAIM,
        "accepted": True,
        "source": "277CA",
        "reasons": [],
        "payer_claim_control_number": "SIM4F2A9C0D1E2B3C4",
        "acknowledged_at": WHEN,
    },
    "claim.correction-requested.v1": {
        "claim_id": CLAIM,
        "frequency_code": "7",
        "payer_claim_control_number": "SIM4F2A9C0D1E2B3C4",
        "reason": "CARC 16 (correctable): prior authorization missing",
        "requested_by": "biller1",
        "requested_at": WHEN,
        "changes": {"prior_authorization": "AUTH12345", "lines": []},
    },
    "claim.secondary-requested.v1": {
        "claim_id": CLAIM,
        "primary_payer_id": "SIMAETNA",
        "primary_payer_claim_control_number": "SIM4F2A9C0D1E2B3C4",
        "primary_paid": "148.40",
        "primary_paid_date": "2026-12-10",
        "primary_adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "60.00"}],
        "requested_at": WHEN,
    },
    "statement.issued.v1": {
        "statement_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
        "patient_id": PATIENT,
        "stage": "first",
        "balance": "56.60",
        "amount_due": "56.60",
        "claim_ids": [CLAIM],
        "document": "statements/2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e.pdf",
        "issued_on": "2026-12-11",
        "issued_at": WHEN,
    },
    "audit.recorded.v1": {
        "audit_id": 1042,
        "observer": "registration",
        "recorded": WHEN,
        "action": "R",
        "subtype": "read",
        "outcome": "0",
        "purpose_of_use": "HPAYMT",
        "agent_who": "3c1b7a52-0d4e-4f6a-9b8c-7d6e5f4a3b2c",
        "agent_client": "openrcm-console",
        "entity_type": "Patient",
        "entity_id": PATIENT,
        "patient_id": PATIENT,
    },
}

# More than one example of an event: what an EHR sends to correct or void an encounter it sent.
MORE_EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "encounter.documented.v1": {
        "correction": DOCUMENTED
        | {"version": 2, "action": "correct", "diagnoses": [{"code": "E11.9"}, {"code": "I10"}, {"code": "E78.5"}]},
        "void": DOCUMENTED | {"version": 3, "action": "void"},
    },
    "claim.submitted.v1": {
        "replacement": EXAMPLES["claim.submitted.v1"]
        | {
            "claim_id": REPLACEMENT,
            "patient_control_number": "7B2D9E145C3A5F8E8A1B",
            "kind": "replacement",
            "original_claim_id": CLAIM,
        },
    },
}


def examples_of(name: str) -> dict[str, dict[str, Any]]:
    """Every example of one event by title ('default' first)."""
    return {"default": EXAMPLES[name], **MORE_EXAMPLES.get(name, {})}


def example(name: str, title: str = "default") -> Contract:
    """An example as its model, read the strict way a consumer reads the wire."""
    return EVENT_MODELS[name].model_validate_json(json.dumps(examples_of(name)[title]), strict=True)

"""Checks a documented encounter's codes before anything is billed. Pure: no I/O."""

import re
from datetime import date

import simple_icd_10_cm as icd

from shared.contracts.events import (
    CodedServiceLine,
    EncounterDocumentedV1,
    Finding,
    normalize_icd,
)

# CPT Category I (5 digits), Category II/III (4 digits + F/T); HCPCS Level II (letter + 4 digits).
PROCEDURE_FORM = re.compile(r"^(\d{5}|\d{4}[FT]|[A-V]\d{4})$")


def icd_findings(position: int, raw_code: str) -> list[Finding]:
    code = normalize_icd(raw_code)
    where = f"diagnoses[{position}].code"
    if not icd.is_valid_item(code) or icd.is_chapter_or_block(code):
        return [Finding(field=where, code="icd.unknown", message="not an ICD-10-CM code in the loaded release")]
    if not icd.is_leaf(code):
        return [Finding(field=where, code="icd.not_billable", message="header code: code to the highest specificity")]
    return []


def check_encounter(encounter: EncounterDocumentedV1, today: date) -> list[Finding]:
    findings: list[Finding] = []
    if encounter.date_of_service > today:
        findings.append(Finding(field="date_of_service", code="dos.future", message="date of service is in the future"))
    for position, diagnosis in enumerate(encounter.diagnoses):
        findings += icd_findings(position, diagnosis.code)
    codes = [normalize_icd(d.code) for d in encounter.diagnoses]
    if len(set(codes)) != len(codes):
        findings.append(Finding(field="diagnoses", code="icd.duplicate", message="a diagnosis is listed twice"))
    for position, procedure in enumerate(encounter.procedures):
        where = f"procedures[{position}]"
        if not PROCEDURE_FORM.match(procedure.code.upper()):
            findings.append(Finding(field=f"{where}.code", code="procedure.form",
                                    message="not a CPT (5 digits) or HCPCS Level II (letter + 4 digits) code"))
        if any(p > len(encounter.diagnoses) for p in procedure.diagnosis_pointers):
            findings.append(Finding(field=f"{where}.diagnosis_pointers", code="pointer.range",
                                    message="points past the last diagnosis"))
    return findings


def service_lines(encounter: EncounterDocumentedV1) -> list[CodedServiceLine]:
    return [
        CodedServiceLine(
            line_number=number,
            procedure_code=procedure.code.upper(),
            modifiers=procedure.modifiers,
            units=procedure.units,
            diagnosis_pointers=procedure.diagnosis_pointers,
        )
        for number, procedure in enumerate(encounter.procedures, start=1)
    ]

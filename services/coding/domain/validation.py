"""Checks a documented encounter's codes before anything is billed: the problems only the sender
can fix (codes that do not exist or are not billable on the date of service, malformed
procedures, pointers past the last diagnosis, a future date). Any finding here rejects the
encounter (encounter.rejected). Pure: no I/O."""

import re
from datetime import date
from functools import cache

from services.coding.domain.codesets import CodeSets
from shared.contracts.events import (
    CodedServiceLine,
    DocumentedProcedure,
    EncounterDocumentedV1,
    Finding,
    normalize_icd,
)

# CPT Category I (5 digits), Category II/III (4 digits + F/T); HCPCS Level II (letter + 4 digits).
PROCEDURE_FORM = re.compile(r"^(\d{5}|\d{4}[FT]|[A-V]\d{4})$")


@cache
def default_code_sets() -> CodeSets:
    return CodeSets()


def icd_findings(position: int, raw_code: str, day: date, codes: CodeSets) -> list[Finding]:
    code = normalize_icd(raw_code)
    where = f"diagnoses[{position}].code"
    release = codes.icd_on(day)
    if not release.exists(code):
        if any(other.exists(code) for other in codes.icd_releases):
            return [
                Finding(
                    field=where,
                    code="icd.invalid_on_dos",
                    message=f"not valid on the date of service (ICD-10-CM release {release.name})",
                )
            ]
        return [Finding(field=where, code="icd.unknown", message="not an ICD-10-CM code in the loaded release")]
    if not release.is_billable(code):
        if release.needs_seventh_character(code):
            return [
                Finding(field=where, code="icd.not_billable", message="needs a 7th character (e.g. initial encounter)")
            ]
        return [Finding(field=where, code="icd.not_billable", message="header code: code to the highest specificity")]
    return []


def procedure_findings(position: int, procedure: DocumentedProcedure, day: date, codes: CodeSets) -> list[Finding]:
    where = f"procedures[{position}]"
    code = procedure.code.upper()
    if not PROCEDURE_FORM.match(code):
        return [
            Finding(
                field=f"{where}.code",
                code="procedure.form",
                message="not a CPT (5 digits) or HCPCS Level II (letter + 4 digits) code",
            )
        ]
    findings = []
    if codes.procedure_known(code, day) is False:
        findings.append(
            Finding(
                field=f"{where}.code",
                code="procedure.unknown",
                message="not in the loaded CPT/HCPCS file on the date of service",
            )
        )
    for n, modifier in enumerate(procedure.modifiers):
        if modifier not in codes.modifiers:
            findings.append(
                Finding(field=f"{where}.modifiers[{n}]", code="modifier.unknown", message="not a known modifier")
            )
    return findings


def check_encounter(encounter: EncounterDocumentedV1, today: date, codes: CodeSets | None = None) -> list[Finding]:
    codes = codes or default_code_sets()
    day = encounter.date_of_service
    findings: list[Finding] = []
    if day > today:
        findings.append(Finding(field="date_of_service", code="dos.future", message="date of service is in the future"))
    if encounter.place_of_service not in codes.places_of_service:
        findings.append(
            Finding(field="place_of_service", code="pos.unknown", message="not a CMS place-of-service code")
        )
    for position, diagnosis in enumerate(encounter.diagnoses):
        findings += icd_findings(position, diagnosis.code, day, codes)
    normalized = [normalize_icd(d.code) for d in encounter.diagnoses]
    if len(set(normalized)) != len(normalized):
        findings.append(Finding(field="diagnoses", code="icd.duplicate", message="a diagnosis is listed twice"))
    for position, procedure in enumerate(encounter.procedures):
        findings += procedure_findings(position, procedure, day, codes)
        if encounter.diagnoses and any(p > len(encounter.diagnoses) for p in procedure.diagnosis_pointers):
            findings.append(
                Finding(
                    field=f"procedures[{position}].diagnosis_pointers",
                    code="pointer.range",
                    message="points past the last diagnosis",
                )
            )
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


def amended_findings(diagnoses: list[str], lines: list[CodedServiceLine], day: date, codes: CodeSets) -> list[Finding]:
    """What refuses a coder's amended codes: codes that do not exist on the date of service,
    a diagnosis listed twice, unknown modifiers, pointers past the last diagnosis."""
    errors = []
    for n, code in enumerate(diagnoses):
        errors += icd_findings(n, code, day, codes)
    if len(set(diagnoses)) != len(diagnoses):
        errors.append(Finding(field="diagnoses", code="icd.duplicate", message="a diagnosis is listed twice"))
    for n, line in enumerate(lines):
        errors += _amended_line_findings(n, line, len(diagnoses), day, codes)
    return errors


def _amended_line_findings(n: int, line: CodedServiceLine, diagnoses: int, day: date, codes: CodeSets) -> list[Finding]:
    errors = []
    if not PROCEDURE_FORM.match(line.procedure_code) or codes.procedure_known(line.procedure_code, day) is False:
        errors.append(
            Finding(
                field=f"service_lines[{n}].procedure_code",
                code="procedure.unknown",
                message="not a CPT or HCPCS Level II code on the date of service",
            )
        )
    for m, modifier in enumerate(line.modifiers):
        if modifier not in codes.modifiers:
            errors.append(
                Finding(
                    field=f"service_lines[{n}].modifiers[{m}]", code="modifier.unknown", message="not a known modifier"
                )
            )
    if any(not 1 <= p <= diagnoses for p in line.diagnosis_pointers):
        errors.append(
            Finding(
                field=f"service_lines[{n}].diagnosis_pointers",
                code="pointer.range",
                message="points past the last diagnosis",
            )
        )
    return errors

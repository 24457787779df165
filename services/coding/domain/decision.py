"""What to do with an encounter whose codes exist (validation.check_encounter found nothing the
sender must fix): code it automatically, or hand it to a coder with the reasons.

Auto-coded only when every code comes from the EHR or from a confident suggestion and no edit
asks for judgement (Excludes1, age/sex, NCCI PTP, MUE, claim limits, an E/M level the
documentation does not support). Pure: no I/O."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.coding.domain.cac import (
    AUTO_CONFIDENCE,
    SearchIndex,
    Suggestion,
    em_family,
    suggest_diagnoses,
    suggest_em,
)
from services.coding.domain.codesets import CodeSets
from services.coding.domain.edits import MAX_POINTERS, EditTables, PatientFacts, diagnosis_edits, line_edits
from services.coding.domain.validation import service_lines
from shared.contracts.events import CodedServiceLine, EncounterDocumentedV1, Finding, normalize_icd


@dataclass
class Indexes:
    """Search indexes built once from the code sets (start-up, or a new release)."""

    diagnoses: SearchIndex
    procedures: SearchIndex | None = None

    @classmethod
    def build(cls, codes: CodeSets) -> "Indexes":
        icd = codes.latest_icd._icd
        leaves = (c for c in icd.get_all_codes() if icd.is_leaf(c))
        diagnoses = SearchIndex(
            (c.replace(".", ""), icd.get_description(c), icd.get_includes(c) + icd.get_inclusion_term(c))
            for c in leaves
        )
        described = [(c, h.description, ()) for c, h in codes.hcpcs.items()]
        described += [(c, d, ()) for c, d in codes.cpt.items() if d]
        return cls(diagnoses, SearchIndex(described) if described else None)


@dataclass
class Proposal:
    diagnoses: list[str]  # undotted, principal first
    service_lines: list[CodedServiceLine]
    suggestions: list[Suggestion] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # reasons a coder must look

    @property
    def automatic(self) -> bool:
        return not self.findings

    def dump(self) -> dict[str, Any]:
        return {
            "diagnoses": self.diagnoses,
            "service_lines": [line.model_dump() for line in self.service_lines],
            "suggestions": [s.dump() for s in self.suggestions],
            "findings": [f.model_dump() for f in self.findings],
        }


def propose(
    encounter: EncounterDocumentedV1,
    codes: CodeSets,
    tables: EditTables,
    indexes: Indexes,
    patient: PatientFacts | None,
) -> Proposal:
    day = encounter.date_of_service
    release = codes.icd_on(day)
    suggestions = suggest_diagnoses(indexes.diagnoses, encounter.diagnosis_statements, "diagnosis_statements")
    suggestions = [s for s in suggestions if release.is_billable(s.code)]
    problem_hints = suggest_diagnoses(indexes.diagnoses, encounter.problem_list, "problem_list")
    diagnoses, findings = _diagnoses(encounter, suggestions)
    lines = service_lines(encounter)
    em = suggest_em(
        encounter.patient_type, encounter.total_time_minutes, encounter.mdm.model_dump() if encounter.mdm else None
    )
    if em is not None:
        suggestions.append(em)
        lines, em_findings = _with_em(lines, em, diagnoses)
        findings += em_findings
    suggestions += _procedure_suggestions(encounter.procedure_statements, indexes.procedures)
    findings += _nothing_coded(encounter, lines)
    findings += diagnosis_edits(diagnoses, release, tables, patient, day)
    findings += line_edits(lines, tables, day)
    return Proposal(diagnoses, lines, suggestions + [h for h in problem_hints if h.confidence >= 0.5], findings)


def _diagnoses(encounter: EncounterDocumentedV1, suggestions: list[Suggestion]) -> tuple[list[str], list[Finding]]:
    """The EHR's diagnoses as they are; failing those, the suggested ones (a coder looks at the
    unsure ones, or at an encounter none matches)."""
    if encounter.diagnoses:
        return [normalize_icd(d.code) for d in encounter.diagnoses], []
    diagnoses = list(dict.fromkeys(s.code for s in suggestions))
    findings = [
        Finding(
            field=s.evidence["source"],
            code="cac.low_confidence",
            message=f"suggested diagnosis has confidence {s.confidence:.2f}",
        )
        for s in suggestions
        if s.confidence < AUTO_CONFIDENCE
    ]
    if not diagnoses:
        findings.append(
            Finding(
                field="diagnosis_statements",
                code="cac.no_diagnosis",
                message="no ICD-10-CM code matches the statements",
            )
        )
    return diagnoses, findings


def _with_em(
    lines: list[CodedServiceLine], em: Suggestion, diagnoses: list[str]
) -> tuple[list[CodedServiceLine], list[Finding]]:
    """The suggested E/M line first when none was documented; a documented one at another level
    is for a coder to judge."""
    findings = []
    documented_em = [line for line in lines if em_family(line.procedure_code)]
    if not documented_em and diagnoses:
        pointers = list(range(1, min(len(diagnoses), MAX_POINTERS) + 1))
        lines = [CodedServiceLine(line_number=1, procedure_code=em.code, units=1, diagnosis_pointers=pointers), *lines]
        lines = [line.model_copy(update={"line_number": n}) for n, line in enumerate(lines, start=1)]
        if em.confidence < AUTO_CONFIDENCE:
            findings.append(
                Finding(
                    field="patient_type",
                    code="cac.low_confidence",
                    message="E/M code family unknown: new or established patient?",
                )
            )
    for line in documented_em:
        if line.procedure_code != em.code:
            findings.append(
                Finding(
                    field=f"service_lines[{line.line_number - 1}].procedure_code",
                    code="em.level",
                    message="the documented time or decision making supports another E/M level",
                )
            )
    return lines, findings


def _procedure_suggestions(statements: list[str], index: SearchIndex | None) -> list[Suggestion]:
    suggestions = []
    for statement in statements:
        found = index.search(statement, limit=1) if index else []
        if found:
            code, description, score, matched = found[0]
            suggestions.append(
                Suggestion(code, "procedure", score, {"description": description, "matched_words": list(matched)})
            )
    return suggestions


def _nothing_coded(encounter: EncounterDocumentedV1, lines: list[CodedServiceLine]) -> list[Finding]:
    findings = []
    if encounter.procedure_statements and not encounter.procedures:
        findings.append(
            Finding(
                field="procedure_statements",
                code="cac.procedures_need_review",
                message="procedures were described, not coded: a coder chooses the codes",
            )
        )
    if not lines:
        findings.append(Finding(field="procedures", code="cac.no_procedure", message="nothing to bill"))
    return findings


def review(
    diagnoses: list[str],
    lines: list[CodedServiceLine],
    day: date,
    codes: CodeSets,
    tables: EditTables,
    patient: PatientFacts | None,
) -> list[Finding]:
    """The judgement edits on a coder's amended codes (shown to them; they decide)."""
    release = codes.icd_on(day)
    return diagnosis_edits(diagnoses, release, tables, patient, day) + line_edits(lines, tables, day)

"""Edits that need a coder's judgement, applied before billing: Excludes1 pairs, age and sex
conflicts, claim limits, NCCI-style procedure-to-procedure edits and MUE-style unit limits.
Pure: the tables are loaded from files into memory; the project ships no NCCI or MUE data.
"""

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from services.coding.domain.codesets import DATA, CodeSetError, IcdRelease, in_range
from shared.contracts.events import CodedServiceLine, Finding

MAX_DIAGNOSES = 12  # 837P HI segment / CMS-1500 box 21
MAX_POINTERS = 4  # 837P SV107 / CMS-1500 box 24E
PTP_BYPASS = frozenset({"59", "XE", "XS", "XP", "XU"})
EM_CODES = re.compile(r"^99(2[0-9][0-9]|3[0-9][0-9]|4[0-9][0-9])$")  # E/M range 99202-99499


@dataclass(frozen=True)
class AgeSexRule:
    low: str
    high: str
    sex: str | None
    min_age: int | None
    max_age: int | None


def load_age_sex(path: Path = DATA / "icd_age_sex.csv") -> list[AgeSexRule]:
    def number(text: str) -> int | None:
        return int(text) if text.strip() else None

    with open(path, encoding="utf-8") as rows:
        return [
            AgeSexRule(r["low"], r["high"], r["sex"] or None, number(r["min_age"]), number(r["max_age"]))
            for r in csv.DictReader(rows)
        ]


@dataclass(frozen=True)
class PtpEdit:
    effective: date
    deleted: date | None
    modifier_indicator: str  # 0: never together; 1: a bypass modifier allows it; 9: not applicable

    def active(self, day: date) -> bool:
        return (
            self.effective <= day and (self.deleted is None or day <= self.deleted) and self.modifier_indicator != "9"
        )


@dataclass(frozen=True)
class Mue:
    units: int
    per_day: bool  # adjudication indicator 2 or 3: units of every line of the day count together


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Rows of a CMS table exported as CSV or tab-separated text; notice and header rows (whose
    first field is not a code) are skipped."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as lines:
        sample = lines.read(4096)
        lines.seek(0)
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
        for number, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
            if row and re.fullmatch(r"[A-Z0-9]\d{3}[0-9A-Z]", row[0].strip().upper()):
                yield number, [cell.strip() for cell in row]


def _date(text: str, where: str) -> date | None:
    text = text.strip()
    if not text or text == "*":
        return None
    if not re.fullmatch(r"\d{8}", text):
        raise CodeSetError(f"{where}: dates are CCYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise CodeSetError(f"{where}: not a date") from exc


def load_ptp(path: Path) -> dict[tuple[str, str], list[PtpEdit]]:
    """CMS practitioner PTP layout: column 1, column 2, prior-to-1996 flag, effective date,
    deletion date ('*' when none), modifier indicator (0, 1, 9), rationale."""
    edits: dict[tuple[str, str], list[PtpEdit]] = defaultdict(list)
    for number, row in _rows(path):
        where = f"{Path(path).name} line {number}"
        if len(row) < 6 or row[5] not in ("0", "1", "9"):
            raise CodeSetError(f"{where}: want column 1, column 2, flag, effective, deletion, modifier 0/1/9")
        effective = _date(row[3], where)
        if effective is None:
            raise CodeSetError(f"{where}: an effective date is required")
        edits[(row[0].upper(), row[1].upper())].append(PtpEdit(effective, _date(row[4], where), row[5]))
    return dict(edits)


def load_mue(path: Path) -> dict[str, Mue]:
    """CMS practitioner MUE layout: code, MUE value, adjudication indicator ('1 Line Edit',
    '2 Date of Service Edit: Policy', '3 Date of Service Edit: Clinical'), rationale."""
    table = {}
    for number, row in _rows(path):
        if len(row) < 2 or not row[1].isdigit():
            raise CodeSetError(f"{Path(path).name} line {number}: want code, MUE value, adjudication indicator")
        indicator = row[2][:1] if len(row) > 2 else "1"
        table[row[0].upper()] = Mue(int(row[1]), indicator in ("2", "3"))
    return table


@dataclass
class EditTables:
    age_sex: list[AgeSexRule] = field(default_factory=load_age_sex)
    ptp: dict[tuple[str, str], list[PtpEdit]] = field(default_factory=dict)
    mue: dict[str, Mue] = field(default_factory=dict)


@dataclass(frozen=True)
class PatientFacts:
    """What coding keeps of a patient (from patient.registered) to apply age and sex edits."""

    birth_date: date
    sex: str  # M, F or U

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def diagnosis_edits(
    codes: list[str], icd: IcdRelease, tables: EditTables, patient: PatientFacts | None, day: date
) -> list[Finding]:
    findings = []
    if len(codes) > MAX_DIAGNOSES:
        findings.append(
            Finding(
                field="diagnoses",
                code="claim.too_many_diagnoses",
                message=f"a claim carries at most {MAX_DIAGNOSES} diagnoses",
            )
        )
    for i, a in enumerate(codes):
        for j in range(i + 1, len(codes)):
            if icd.exists(a) and icd.exists(codes[j]) and icd.excludes1(a, codes[j]):
                findings.append(
                    Finding(
                        field=f"diagnoses[{j}]",
                        code="icd.excludes1",
                        message=f"Excludes1 with diagnoses[{i}]: not reported together",
                    )
                )
    if patient is not None:
        age = patient.age_on(day)
        for i, code in enumerate(codes):
            for rule in tables.age_sex:
                if not in_range(code, rule.low, rule.high):
                    continue
                if rule.sex and patient.sex in ("M", "F") and patient.sex != rule.sex:
                    findings.append(
                        Finding(
                            field=f"diagnoses[{i}]",
                            code="icd.sex",
                            message="the code set defines this code for the other sex",
                        )
                    )
                if (rule.min_age is not None and age < rule.min_age) or (
                    rule.max_age is not None and age > rule.max_age
                ):
                    findings.append(
                        Finding(
                            field=f"diagnoses[{i}]",
                            code="icd.age",
                            message="the patient's age is outside the code's age range",
                        )
                    )
    return findings


def line_edits(lines: list[CodedServiceLine], tables: EditTables, day: date) -> list[Finding]:
    findings = []
    for n, line in enumerate(lines):
        if len(line.diagnosis_pointers) > MAX_POINTERS:
            findings.append(
                Finding(
                    field=f"service_lines[{n}].diagnosis_pointers",
                    code="line.too_many_pointers",
                    message=f"a line points to at most {MAX_POINTERS} diagnoses",
                )
            )
    findings += mue_edits(lines, tables.mue)
    findings += ptp_edits(lines, tables.ptp, day)
    return findings


def mue_edits(lines: list[CodedServiceLine], mue: dict[str, Mue]) -> list[Finding]:
    findings: list[Finding] = []
    per_day: defaultdict[str, int] = defaultdict(int)
    for n, line in enumerate(lines):
        limit = mue.get(line.procedure_code)
        if limit is None:
            continue
        per_day[line.procedure_code] += line.units
        if line.units > limit.units or (limit.per_day and per_day[line.procedure_code] > limit.units):
            findings.append(
                Finding(
                    field=f"service_lines[{n}].units",
                    code="mue.units",
                    message=f"more units than the MUE of {limit.units} allows",
                )
            )
    return findings


def _bypassed(column1: CodedServiceLine, column2: CodedServiceLine) -> bool:
    if PTP_BYPASS & (set(column1.modifiers) | set(column2.modifiers)):
        return True
    # Modifier 25: a significant, separately identifiable E/M on the day of a procedure.
    return any(EM_CODES.match(line.procedure_code) and "25" in line.modifiers for line in (column1, column2))


def ptp_edits(lines: list[CodedServiceLine], ptp: dict[tuple[str, str], list[PtpEdit]], day: date) -> list[Finding]:
    findings = []
    for a in lines:
        for b in lines:
            if a is b:
                continue
            for edit in ptp.get((a.procedure_code, b.procedure_code), ()):
                if not edit.active(day):
                    continue
                if edit.modifier_indicator == "1" and _bypassed(a, b):
                    continue
                where = f"service_lines[{lines.index(b)}].procedure_code"
                allowed = (
                    "an NCCI-associated modifier may allow it"
                    if edit.modifier_indicator == "1"
                    else "no modifier allows it"
                )
                findings.append(
                    Finding(
                        field=where, code="ncci.ptp", message=f"bundled into line {a.line_number} (PTP edit; {allowed})"
                    )
                )
    return findings

"""A claim as people read it: its findings as field, problem and fix; the lines and diagnoses it bills
(what a fix or a correction starts from); its 837P segments with their loops named."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LOOPS = {"20": "2000A billing provider", "22": "2000B subscriber", "23": "2000C patient"}


LINE_FIELD = re.compile(r"^(?:service_)?lines\[(\d+)\]\.?(.*)$")


@dataclass(frozen=True)
class Problem:
    field: str  # as the service names it (lines[1] is the second line)
    code: str
    problem: str
    fix: str

    @property
    def where(self) -> str:
        """The field as people number things: 'line 2: procedure code'."""
        line = LINE_FIELD.match(self.field)
        if line:
            rest = line.group(2).replace("_", " ")
            return f"line {int(line.group(1)) + 1}" + (f": {rest}" if rest else "")
        return self.field.replace("_", " ").replace(".", ": ")


def problems(findings: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Claims' findings say "problem; fix: what to do": split so each can be shown in its own column."""
    shown = []
    for f in findings:
        problem, _, fix = str(f.get("message", "")).partition("; fix: ")
        shown.append(Problem(str(f.get("field", "")), str(f.get("code", "")), problem, fix))
    return shown


def billed(encounters: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str], str | None]:
    """(lines, diagnoses, prior authorization) as one claim bills its encounters: the diagnoses merged in
    order, the lines numbered on through the encounters with their pointers following the merged list."""
    diagnoses: list[str] = []
    for encounter in encounters:
        for code in encounter.get("diagnoses") or []:
            if code not in diagnoses:
                diagnoses.append(code)
    lines: list[dict[str, Any]] = []
    for encounter in encounters:
        own = encounter.get("diagnoses") or []
        for line in encounter.get("service_lines") or []:
            pointers = [
                diagnoses.index(own[p - 1]) + 1 for p in line.get("diagnosis_pointers", []) if 0 < p <= len(own)
            ]
            lines.append({**line, "line_number": len(lines) + 1, "diagnosis_pointers": pointers})
    authorization = next((e.get("prior_authorization") for e in encounters if e.get("prior_authorization")), None)
    return lines, diagnoses, authorization


def dotted(code: str) -> str:
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


def form_values(
    lines: Sequence[Mapping[str, Any]], diagnoses: Sequence[str], authorization: str | None
) -> dict[str, str]:
    """A fix or correction form filled with what was billed."""
    values = {"diagnoses": ", ".join(dotted(c) for c in diagnoses), "prior_authorization": authorization or ""}
    for line in lines:
        n = line["line_number"]
        values |= {f"line-{n}-code": str(line.get("procedure_code", "")),
                   f"line-{n}-modifiers": " ".join(line.get("modifiers") or []),
                   f"line-{n}-units": str(int(float(line.get("units") or 1))),
                   f"line-{n}-pointers": " ".join(str(p) for p in line.get("diagnosis_pointers") or [])}  # fmt: skip
    return values


@dataclass(frozen=True)
class Segment:
    text: str
    loop: str  # the loop a segment opens, named ("" when it opens none)


def segments(shown: Sequence[str]) -> list[Segment]:
    """The 837P segments of a claim with the loops their HL and CLM segments open."""
    named = []
    for text in shown:
        elements = text.split("*")
        loop = ""
        if elements[0] == "HL" and len(elements) > 3:
            loop = LOOPS.get(elements[3], "")
        elif elements[0] == "CLM":
            loop = "2300 claim"
        elif elements[0] == "LX":
            loop = "2400 service line"
        named.append(Segment(text, loop))
    return named

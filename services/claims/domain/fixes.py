"""A biller's fix of a held claim: the coded encounter it bills, with the biller's changes (a modifier
added, a code or units changed, pointers, the prior authorization, the diagnoses). The claim is then
made again from it, and the scrubber decides again. Pure: no I/O."""

from pydantic import ValidationError

from shared.contracts.events import ClaimChanges, EncounterCodedV1, Finding
from shared.envelope import describe


def fixed_encounter(coded: EncounterCodedV1, changes: ClaimChanges) -> tuple[EncounterCodedV1 | None, list[Finding]]:
    """The encounter with the changes applied, or the findings that say which change cannot be."""
    lines = {line.line_number: line.model_dump() for line in coded.service_lines}
    findings = []
    for n, change in enumerate(changes.lines):
        if change.line_number not in lines:
            message = f"the claim has no line {change.line_number}; fix: name one of its lines"
            findings.append(Finding(field=f"changes.lines[{n}].line_number", code="fix.no_such_line", message=message))
            continue
        lines[change.line_number] |= change.model_dump(exclude={"line_number"}, exclude_none=True)
    if findings:
        return None, findings
    update: dict[str, object] = {"service_lines": list(lines.values())}
    if changes.diagnoses is not None:
        update["diagnoses"] = [code.replace(".", "").upper() for code in changes.diagnoses]
    if changes.prior_authorization is not None:
        update["prior_authorization"] = changes.prior_authorization
    try:
        return EncounterCodedV1.model_validate({**coded.model_dump(), **update}), []
    except ValidationError as exc:
        return None, [Finding(field="changes", code="fix.invalid", message=describe(exc))]

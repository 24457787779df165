"""What a documented encounter is, given what coding already holds of the same encounter id: the
first documentation, the EHR's correction or void, the same record sent again, or a change coding
must refuse (never dropped in silence). Pure.

The EHR's side of the contract (README, "Corrections and voids"): a correction is the whole
encounter again with `action: "correct"` and a higher `version`; a void is `action: "void"` with a
higher `version`. An encounter coding rejected may simply be sent again, fixed."""

from dataclasses import dataclass
from typing import Any, Literal

from shared.contracts.events import EncounterDocumentedV1, Finding

Verdict = Literal["code", "recode", "void", "repeat", "refuse"]


@dataclass(frozen=True)
class Held:
    """What coding holds of an encounter: its outcome's status and the encounter as last documented."""

    status: str  # coded | queued | rejected | voided
    documented: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.documented.get("version", 1))


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    finding: Finding | None = None  # why, when refused


def decide(held: Held | None, incoming: EncounterDocumentedV1) -> Decision:
    if held is None:
        return Decision("void" if incoming.action == "void" else "code")
    if held.documented == incoming.model_dump(mode="json"):
        return Decision("repeat")
    if held.status == "voided":
        return _refuse("action", "encounter.voided", "the encounter was voided", "document the visit anew")
    if incoming.action == "original":
        if held.status == "rejected" and incoming.version >= held.version:
            return Decision("recode")  # the sender fixing what coding refused: it was never billed
        problem, fix = f"it was coded from version {held.version}", f"action correct, version {held.version + 1}"
        return _refuse("action", "encounter.already_coded", problem, f"send the change with {fix}")
    if incoming.version <= held.version:
        problem = f"version {incoming.version} is not after version {held.version}"
        return _refuse("version", "encounter.stale_version", problem, f"send version {held.version + 1}")
    return Decision("void" if incoming.action == "void" else "recode")


def _refuse(field: str, code: str, problem: str, fix: str) -> Decision:
    return Decision("refuse", Finding(field=field, code=code, message=f"{problem}; fix: {fix}"))

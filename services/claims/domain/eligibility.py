"""Registration's eligibility answers (271s) as claims keeps them. Pure: no I/O."""

from collections.abc import Iterable

from shared.contracts.events import EligibilityCheckedV1


def latest_answers(checks: Iterable[EligibilityCheckedV1]) -> list[EligibilityCheckedV1]:
    """Each coverage's latest answer among these; the database keeps the latest across batches."""
    latest: dict[tuple[object, ...], EligibilityCheckedV1] = {}
    for check in sorted(checks, key=lambda c: c.checked_at):
        latest[(check.patient_id, check.coverage_rank, check.payer_id)] = check
    return list(latest.values())

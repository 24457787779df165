"""The home page's queue counts, from what each service answered: one card per queue, its figure a
link to the screen where the work is done. A list read a page at a time shows `100+` when it has more."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.console.domain.formatting import counted

COUNTED = 100  # the most items a list is asked for to count it: beyond, the figure says "100+"


@dataclass(frozen=True)
class Count:
    label: str
    figure: str
    link: str
    hint: str = ""


def listed(*pages: Mapping[str, Any]) -> str:
    """The items of one or more first pages, `+` when any of them has more."""
    shown = sum(len(page["items"]) for page in pages)
    return f"{shown}{'+' if any(page.get('next') for page in pages) else ''}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def approvals(write_offs: Mapping[str, Any], refunds: Mapping[str, Any]) -> Count:
    """What waits for a supervisor's decision: write-offs (A/R) and patient refunds (payments)."""
    hint = f"{plural(len(write_offs['items']), 'write-off')}, {plural(len(refunds['items']), 'refund')}"
    return Count("Write-offs and refunds waiting for approval", listed(write_offs, refunds), "/approvals", hint)


def waiting(encounters: Mapping[str, Any]) -> Count:
    """Coded encounters whose patient was never registered: the front desk's to register (counted by
    claims, none listed: a count shows no patient, so reading it is nothing to audit)."""
    return Count("Encounters waiting for their patient", str(encounters["total"]), "/patients#waiting",
                 "register the patient so the claim can go out")  # fmt: skip


def coding(stats: Mapping[str, Any]) -> Count:
    return Count("Encounters waiting for a coder", str(stats.get("queued", 0)), "/coding")


def claims(queue: Mapping[str, Any]) -> Count:
    return Count("Claims held or rejected", counted(queue["total"], queue.get("total_at_least")), "/claims",
                 "fix and resubmit")  # fmt: skip


def payments(stats: Mapping[str, Any]) -> Count:
    unmatched = stats.get("claim_payments", {}).get("unmatched", 0)
    return Count("Payments nobody could match", str(unmatched), "/payments", "post to the right claim")


def assigned(queue: Mapping[str, Any]) -> Count:
    return Count("A/R items assigned to you", counted(queue["count"], queue.get("count_at_least")), "/ar?owner=me")


def ar(queue: Mapping[str, Any]) -> Count:
    return Count("Open A/R work items", counted(queue["count"], queue.get("count_at_least")), "/ar")

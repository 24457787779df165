"""Home: the person's own queues (counts, each a link to its screen) and, for those who oversee the
office, its KPIs and charts. Each part is loaded on its own: one service down spoils only its part."""

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.domain import access, dashboard
from services.console.pages.common import Viewer, ViewerDep, attempt

router = APIRouter()


@dataclass(frozen=True)
class Count:
    label: str
    figure: str
    link: str
    hint: str = ""


@router.get("/")
async def home(viewer: ViewerDep) -> Response:
    oversees = viewer.user.roles & (access.OVERSIGHT | {access.AR_SPECIALIST})
    parts = await asyncio.gather(_counts(viewer), _figures(viewer) if oversees else _none())
    (counts, count_errors), (figures, figure_error) = parts
    return viewer.render("home.html", title="Home", screen="home", counts=counts, count_errors=count_errors,
                         kpis=figures["kpis"] if figures else None, computed_at=(figures or {}).get("computed_at"),
                         charts=dashboard.charts(figures) if figures else [],
                         figure_error=figure_error)  # fmt: skip


async def _none() -> tuple[None, str]:
    return None, ""


async def _counts(viewer: Viewer) -> tuple[list[Count], list[str]]:
    wanted: list[tuple[str, Awaitable[Any]]] = []
    if viewer.may("GET /coding"):
        wanted.append(("coding", viewer.get("coding", "/v1/stats")))
    if viewer.may("GET /claims"):
        wanted.append(("claims", viewer.get("claims", "/v1/work-queue", limit=1)))
    if viewer.may("GET /payments"):
        wanted.append(("payments", viewer.get("payments", "/v1/stats")))
    if viewer.may("GET /ar"):
        wanted.append(("mine", viewer.get("ar_followup", "/v1/work-queue", owner=viewer.user.subject, limit=1)))
        wanted.append(("ar", viewer.get("ar_followup", "/v1/work-queue", limit=1)))
    if viewer.may("GET /approvals"):
        wanted.append(("approvals", viewer.get("ar_followup", "/v1/write-offs", limit=100)))
    answers = await asyncio.gather(*(attempt(call) for _, call in wanted))
    counts, errors = [], []
    for (name, _), (answer, error) in zip(wanted, answers, strict=True):
        if error:
            errors.append(error)
        else:
            counts.append(_count(name, answer))
    return counts, errors


def _count(name: str, answer: Any) -> Count:
    if name == "coding":
        return Count("Encounters waiting for a coder", str(answer.get("queued", 0)), "/coding")
    if name == "claims":
        return Count("Claims held or rejected", str(answer["total"]), "/claims", "fix and resubmit")
    if name == "payments":
        unmatched = answer.get("claim_payments", {}).get("unmatched", 0)
        return Count("Payments nobody could match", str(unmatched), "/payments", "post to the right claim")
    if name == "mine":
        return Count("A/R items assigned to you", str(answer["count"]), "/ar?owner=me")
    if name == "ar":
        return Count("Open A/R work items", str(answer["count"]), "/ar")
    shown = len(answer["items"])
    return Count("Write-offs waiting for approval", f"{shown}{'+' if answer.get('next') else ''}", "/approvals")


async def _figures(viewer: Viewer) -> tuple[Any, str]:
    """The office's KPIs and charts: A/R's dashboard (set-wise, as fast at 100,000 claims as at 100)."""
    return await attempt(viewer.get("ar_followup", "/v1/dashboard", months=6))

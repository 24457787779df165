"""Home: the person's own queues (counts, each a link to its screen) and, for those who oversee the
office, its KPIs and charts. Each part is loaded on its own: one service down spoils only its part."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.domain import access, dashboard, queues
from services.console.pages.common import Viewer, ViewerDep, attempt

router = APIRouter()


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


async def _counts(viewer: Viewer) -> tuple[list[queues.Count], list[str]]:
    """The person's queues, each asked of its service at once: (builder, the answers it counts)."""
    wanted: list[tuple[Callable[..., queues.Count], Awaitable[list[Any]]]] = []
    if viewer.may("GET /coding"):
        wanted.append((queues.coding, asyncio.gather(viewer.get("coding", "/v1/stats"))))
    if viewer.may("GET /claims"):
        wanted.append((queues.claims, asyncio.gather(viewer.get("claims", "/v1/work-queue", limit=1))))
    if viewer.user.roles & access.REGISTRARS:
        waiting = viewer.get("claims", "/v1/encounters/waiting", limit=0)
        wanted.append((queues.waiting, asyncio.gather(waiting)))
    if viewer.may("GET /payments"):
        wanted.append((queues.payments, asyncio.gather(viewer.get("payments", "/v1/stats"))))
    if viewer.may("GET /ar"):
        mine = viewer.get("ar_followup", "/v1/work-queue", owner=viewer.user.subject, limit=1)
        wanted.append((queues.assigned, asyncio.gather(mine)))
        wanted.append((queues.ar, asyncio.gather(viewer.get("ar_followup", "/v1/work-queue", limit=1))))
    if viewer.may("GET /approvals"):
        pending = {"status": "pending", "limit": queues.COUNTED}
        wanted.append((queues.approvals, asyncio.gather(viewer.get("ar_followup", "/v1/write-offs", **pending),
                                                        viewer.get("payments", "/v1/refunds", **pending))))  # fmt: skip
    answers = await asyncio.gather(*(attempt(call) for _, call in wanted))
    counts, errors = [], []
    for (build, _), (answer, error) in zip(wanted, answers, strict=True):
        if error:
            errors.append(error)
        else:
            counts.append(build(*answer))
    return counts, errors


async def _figures(viewer: Viewer) -> tuple[Any, str]:
    """The office's KPIs and charts: A/R's dashboard (set-wise, as fast at 100,000 claims as at 100)."""
    return await attempt(viewer.get("ar_followup", "/v1/dashboard", months=6))

"""Audit (the auditor's screen): who accessed which patient's data, from the five services' audit
trails merged by time, filtered by patient, person and period, a page at a time."""

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.domain import audit as merging
from services.console.pages.common import Viewer, ViewerDep

router = APIRouter()
SERVICES = ("registration", "coding", "claims", "payments", "ar_followup")


@router.get("/audit")
async def audit(viewer: ViewerDep, patient_id: str = "", agent: str = "", since: str = "", until: str = "",
                cursor: str = "") -> Response:  # fmt: skip
    filters = {"patient_id": patient_id.strip(), "agent": agent.strip(), "since": since, "until": until}
    period, problem = _period(viewer, since, until)
    if problem or not any(filters.values()):
        if problem:
            viewer.notify("error", problem)
        return viewer.render("audit.html", title="Audit", screen="audit", filters=filters, entries=None)
    positions = merging.decode(cursor, SERVICES)
    asked = [s for s in SERVICES if positions[s] != merging.END]
    answers = await asyncio.gather(*(_page(viewer, s, positions[s], filters, period) for s in asked))
    merged = merging.merge(dict(zip(asked, answers, strict=True)), positions, viewer.settings.page_size)
    names = await _patients(viewer, {e["patient_id"] for e in merged.entries if e.get("patient_id")})
    return viewer.render("audit.html", title="Audit", screen="audit", filters=filters, entries=merged.entries,
                         next=merging.encode(merged.next) if merged.next else None, first=not cursor,
                         names=names)  # fmt: skip


async def _page(viewer: Viewer, service: str, position: str | None, filters: dict[str, str],
                period: dict[str, str]) -> tuple[list[dict[str, Any]], bool]:  # fmt: skip
    answer = await viewer.get(service, "/v1/audit", patient_id=filters["patient_id"] or None,
                              agent=filters["agent"] or None, cursor=position, limit=viewer.settings.page_size,
                              **period)  # fmt: skip
    return answer["entries"], answer.get("next") is not None


def _period(viewer: Viewer, since: str, until: str) -> tuple[dict[str, str], str]:
    """The days chosen, from the start of `since` to the end of `until`, in the office's time zone."""
    period = {}
    try:
        if since:
            period["since"] = datetime.combine(date.fromisoformat(since), time(), viewer.settings.zone).isoformat()
        if until:
            end = date.fromisoformat(until) + timedelta(days=1)
            period["until"] = datetime.combine(end, time(), viewer.settings.zone).isoformat()
    except ValueError:
        return {}, "The period's dates must be like 2026-03-31."
    return period, ""


async def _patients(viewer: Viewer, patient_ids: set[str]) -> dict[str, str]:
    """The patients' names for the auditor (reading them is audited too, as any read is)."""

    async def name(patient_id: str) -> tuple[str, str]:
        try:
            person = (await viewer.get("registration", f"/v1/patients/{patient_id}"))["patient"]
            return patient_id, f"{person['last_name']}, {person['first_name']}"
        except Exception:  # noqa: BLE001 - a name is a convenience: the id is shown without it
            return patient_id, ""

    return dict(await asyncio.gather(*(name(p) for p in sorted(patient_ids)[:50])))

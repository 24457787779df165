"""Claims: the held and rejected claims (each finding's field, problem and fix); one page per claim with
its timeline from the encounter to the last payment (who did what, when, in which 837P, 999, 277CA or
835), the claim as its 837P shows it, its ledger and open work; a biller fixes and resubmits a held one."""

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.backend import ServiceError
from services.console.domain import claims as view
from services.console.domain import forms
from services.console.domain.timeline import timeline
from services.console.pages.common import Viewer, ViewerDep, attempt

router = APIRouter()
CODING_HISTORY = "GET /coding"  # who reads the coding history (coders and those who oversee them)


@router.get("/claims")
async def queue(viewer: ViewerDep, cursor: str = "") -> Response:
    page = await viewer.get("claims", "/v1/work-queue", limit=viewer.settings.page_size, cursor=cursor)
    items = [
        {**item, "problems": view.problems(item["findings"] + item.get("rejection", []))} for item in page["items"]
    ]
    waiting, waiting_error = await attempt(
        viewer.get("claims", "/v1/encounters/waiting", limit=viewer.settings.page_size)
    )
    return viewer.render("claims_queue.html", title="Claims to fix", screen="claims", items=items, total=page["total"],
                         total_at_least=page.get("total_at_least", False),
                         next=page.get("next"), first=not cursor, waiting=(waiting or {}).get("items", []),
                         more_waiting=bool((waiting or {}).get("next")), waiting_error=waiting_error)  # fmt: skip


@router.get("/claims/{claim_id}")
async def claim(viewer: ViewerDep, claim_id: UUID) -> Response:
    return await claim_page(viewer, claim_id)


async def claim_page(viewer: Viewer, claim_id: UUID, entered: dict[str, str] | None = None,
                     problems: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    facts = await gather_claim(viewer, claim_id)
    lines, diagnoses, authorization = view.billed(facts["history"]["encounters"])
    values = entered or view.form_values(lines, diagnoses, authorization)
    events = timeline(facts["history"], facts["coding"], facts["payments"], facts["ar"])
    return viewer.render("claim.html", status, title=f"Claim {str(claim_id)[:8]}", screen="claims", **facts,
                         events=events, lines=lines, values=values, problems=problems or {},
                         findings=view.problems(facts["claim"].get("findings", []) + facts["claim"].get("ack_reasons", [])),
                         segments=view.segments(facts["x12"]["claim"]) if facts["x12"] else [])  # fmt: skip


async def gather_claim(viewer: Viewer, claim_id: UUID) -> dict[str, Any]:
    """What each service knows of the claim, asked at once; a part the person's role may not read, or a
    service that does not answer, is left out with the reason."""
    claim, history = await asyncio.gather(viewer.get("claims", f"/v1/claims/{claim_id}"),
                                          viewer.get("claims", f"/v1/claims/{claim_id}/history"))  # fmt: skip
    claim_ids = [claim_id, *(UUID(f["claim_id"]) for f in history["follow_ups"])]
    coded = history["claim"].get("encounter_ids") or []
    parts = await asyncio.gather(
        _optional(viewer.get("claims", f"/v1/claims/{claim_id}/x12")),
        _optional(viewer.get("ar_followup", f"/v1/claims/{claim_id}")),
        *(_optional(viewer.get("payments", f"/v1/claims/{c}/payments")) for c in claim_ids),
        *(_optional(viewer.get("coding", f"/v1/encounters/{e}/audit")) for e in coded if viewer.may(CODING_HISTORY)),
    )
    (x12, _), (ar, ar_gap) = parts[0], parts[1]
    paid = [answer for answer, _ in parts[2 : 2 + len(claim_ids)] if answer]
    coding = [entry for answer, _ in parts[2 + len(claim_ids) :] if answer for entry in answer]
    gaps = [gap for _, gap in parts if gap]
    if not viewer.may(CODING_HISTORY):
        gaps.append("The coding history is shown to coders, supervisors and auditors only.")
    payments = {"postings": [p for answer in paid for p in answer["postings"]]}
    return {"claim": claim, "history": history, "x12": x12, "ar": ar, "ar_gap": ar_gap, "payments": payments,
            "coding": coding, "gaps": gaps}  # fmt: skip


async def _optional(call: Any) -> tuple[Any, str]:
    """A part of the claim page: missing (404: not there yet) is no failure; a refusal or silence is said."""
    try:
        return await call, ""
    except ServiceError as failed:
        if failed.status == 404:
            return None, ""
        return None, f"{failed.title}. {failed.advice}"


@router.post("/claims/{claim_id}/resubmit")
async def resubmit(viewer: ViewerDep, claim_id: UUID) -> Response:
    form = {k: str(v) for k, v in (await viewer.request.form()).items() if k != "csrf_token"}
    history = await viewer.get("claims", f"/v1/claims/{claim_id}/history")
    lines, diagnoses, authorization = view.billed(history["encounters"])
    read = forms.changes(form, lines, diagnoses, authorization)
    if not read.ok:
        viewer.notify("error", "The claim was not resubmitted: correct the fields marked below.")
        return await claim_page(viewer, claim_id, entered=form, problems=read.problems, status=422)
    body = {"changes": read.body} if read.body else {}
    try:
        made = await viewer.post("claims", f"/v1/claims/{claim_id}/resubmit", body,
                                 headers={"If-Match": form.get("version", "")})  # fmt: skip
    except ServiceError as failed:
        if failed.status in (409, 412, 422):
            viewer.notify("error", f"The claim was not resubmitted: {failed.reason}.", failed.advice)
            return viewer.back(f"/claims/{claim_id}")
        raise
    if made["status"] == "held":
        reasons = "; ".join(p.problem + (f" (fix: {p.fix})" if p.fix else "") for p in view.problems(made["findings"]))
        viewer.notify("error", "The claim was made again and is still held.", reasons)
    else:
        viewer.notify("success", "The claim is fixed: it goes out with the next 837P batch.",
                      "Its 999 and 277CA will show on its timeline.")  # fmt: skip
    return viewer.back(f"/claims/{made['claim_id']}")

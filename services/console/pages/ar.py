"""The A/R work queue (ranked by money and deadline, filtered by kind, payer, owner and age), taking an
item, resolving it (correct with changes, appeal, write-off request, void, close), asking for a
write-off, and a supervisor's approvals. A decision someone else made first is told, never redone."""

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.backend import ServiceError
from services.console.domain import claims as view
from services.console.domain import forms
from services.console.domain.formatting import age_days, money
from services.console.pages.claims import claim_page
from services.console.pages.common import Viewer, ViewerDep

router = APIRouter()
KINDS = ("denial", "rejection", "no_response", "secondary", "underpayment", "timely_filing")
TEAMS = ("denials", "billing", "claims-follow-up", "contracts")
AGES = {"": (None, None), "0-30": (None, 30), "31-60": (31, 60), "61-90": (61, 90), "91-120": (91, 120),
        "120+": (121, None)}  # fmt: skip
DONE = {"correct": "Correction sent: claims bills a replacement (frequency 7) to the payer.",
        "appeal": "Appeal recorded; the denial's write-off is undone while the payer reconsiders.",
        "write_off": "Write-off requested.", "void": "Void sent: claims bills a void (frequency 8).",
        "close": "Work item closed."}  # fmt: skip


@router.get("/ar")
async def queue(viewer: ViewerDep, kind: str = "", payer: str = "", owner: str = "", age: str = "",
                cursor: str = "") -> Response:  # fmt: skip
    low, high = AGES.get(age, (None, None))
    chosen_owner = viewer.user.subject if owner == "me" else owner
    page = await viewer.get("ar_followup", "/v1/work-queue", kind=kind if kind in KINDS else None, payer=payer,
                            owner=chosen_owner, min_age=low, max_age=high, cursor=cursor,
                            limit=viewer.settings.page_size)  # fmt: skip
    payers = await viewer.get("registration", "/v1/payers")
    filters = {"kind": kind, "payer": payer, "owner": owner, "age": age}
    today = date.fromisoformat(page["as_of"])
    items = [{**i, "age": age_days(i.get("date_of_service"), today)} for i in page["items"]]
    return viewer.render("ar_queue.html", title="A/R work queue", screen="ar", page=page, items=items,
                         filters=filters, kinds=KINDS, teams=TEAMS, ages=list(AGES)[1:], payers=payers,
                         first=not cursor, me=viewer.user.subject)  # fmt: skip


@router.post("/ar/{item_id}/assign")
async def assign(viewer: ViewerDep, item_id: UUID) -> Response:
    form = await _form(viewer)
    back = _back(form)
    try:
        await viewer.post(
            "ar_followup", f"/v1/work-queue/{item_id}/assign", None, {"If-Match": form.get("version", "")}
        )
    except ServiceError as failed:
        return _told(viewer, failed, back, "The item was not taken")
    viewer.notify("success", "The work item is yours.", "It is in your queue (A/R work queue, owner: me).")
    return viewer.back(back)


@router.post("/ar/{item_id}/resolve")
async def resolve(viewer: ViewerDep, item_id: UUID) -> Response:
    form = await _form(viewer)
    action, back = form.get("action", ""), _back(form)
    body: dict[str, Any] = {"action": action, **({"note": form["note"][:200]} if form.get("note") else {})}
    if action == "correct" and form.get("claim_id"):
        history = await viewer.get("claims", f"/v1/claims/{form['claim_id']}/history")
        read = forms.changes(form, *view.billed(history["encounters"]))
        if not read.ok:
            viewer.notify("error", "Nothing was sent: correct the fields marked below.")
            return await claim_page(viewer, UUID(form["claim_id"]), entered=form, problems=read.problems, status=422)
        if read.body:
            body["changes"] = read.body
    try:
        await viewer.post(
            "ar_followup", f"/v1/work-queue/{item_id}/resolve", body, {"If-Match": form.get("version", "")}
        )
    except ServiceError as failed:
        return _told(viewer, failed, back, "The item was not resolved")
    viewer.notify("success", DONE.get(action, "Work item resolved."))
    return viewer.back(back)


@router.post("/ar/claims/{claim_id}/write-offs")
async def write_off(viewer: ViewerDep, claim_id: UUID) -> Response:
    form = await _form(viewer)
    read = forms.write_off(form)
    back = f"/claims/{claim_id}"
    if not read.ok:
        viewer.notify("error", "The write-off was not requested.", "; ".join(read.problems.values()))
        return viewer.back(back)
    try:
        made = await viewer.post("ar_followup", f"/v1/claims/{claim_id}/write-offs", read.body)
    except ServiceError as failed:
        return _told(viewer, failed, back, "The write-off was not requested")
    if made["status"] == "pending":
        viewer.notify("success", f"Write-off of ${money(made['amount'])} requested.",
                      "It waits for a supervisor's approval (someone other than you).")  # fmt: skip
    else:
        viewer.notify("success", f"${money(made['amount'])} written off.")
    return viewer.back(back)


@router.get("/approvals")
async def approvals(viewer: ViewerDep, cursor: str = "") -> Response:
    """Write-offs (A/R) and patient refunds (payments) above their thresholds, waiting for a second person."""
    page = await viewer.get("ar_followup", "/v1/write-offs", status="pending", cursor=cursor,
                            limit=viewer.settings.page_size)  # fmt: skip
    refunds = await viewer.get("payments", "/v1/refunds", status="pending", limit=viewer.settings.page_size)
    return viewer.render("approvals.html", title="Approvals", screen="approvals", items=page["items"],
                         next=page.get("next"), first=not cursor, refunds=refunds["items"],
                         more_refunds=bool(refunds.get("next")))  # fmt: skip


@router.post("/approvals/{adjustment_id}/{decision}")
async def decide(viewer: ViewerDep, adjustment_id: UUID, decision: str) -> Response:
    return await _decide(viewer, "ar_followup", f"/v1/write-offs/{adjustment_id}", decision, "Write-off")


@router.post("/approvals/refunds/{refund_id}/{decision}")
async def decide_refund(viewer: ViewerDep, refund_id: UUID, decision: str) -> Response:
    return await _decide(viewer, "payments", f"/v1/refunds/{refund_id}", decision, "Refund")


async def _decide(viewer: Viewer, service: str, path: str, decision: str, what: str) -> Response:
    """A supervisor's approve or refuse, made by the owning service (which checks the four eyes)."""
    if decision not in ("approve", "refuse"):
        viewer.notify("error", "Choose approve or refuse.")
        return viewer.back("/approvals")
    try:
        done = await viewer.post(service, f"{path}/{decision}")
    except ServiceError as failed:
        return _told(viewer, failed, "/approvals", "Nothing was decided")
    viewer.notify("success", f"{what} of ${money(done['amount'])} {done['status']}.")
    return viewer.back("/approvals")


async def _form(viewer: Viewer) -> dict[str, str]:
    return {k: str(v) for k, v in (await viewer.request.form()).items() if k != "csrf_token"}


def _back(form: dict[str, str]) -> str:
    claim = form.get("claim_id", "")
    try:
        return f"/claims/{UUID(claim)}"
    except ValueError:
        return "/ar"


def _told(viewer: Viewer, failed: ServiceError, back: str, what: str) -> Response:
    """A refusal people can act on: said on the page they came from."""
    if failed.status in (403, 404, 409, 412, 422):
        viewer.notify("error", f"{what}: {failed.reason or failed.title}.", failed.advice)
        return viewer.back(back)
    raise failed

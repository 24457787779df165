"""Payments: what the payers paid that nobody could match (a claim payment whose claim number names
no claim of ours, a line that matches none of the claim's lines), each with the claims it is most
likely for; a biller posts it to the one they choose. Posted once: a second person is told."""

import asyncio
import re
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.backend import ServiceError
from services.console.domain.formatting import money
from services.console.pages.common import Viewer, ViewerDep

router = APIRouter()
NEXT = re.compile(r"[?&]after=(\d+)")


@router.get("/payments")
async def unmatched(viewer: ViewerDep, after: str = "") -> Response:
    answer = await viewer.backend.call(viewer.session, "payments", "GET", "/v1/work-queue",
                                       params={"limit": viewer.settings.page_size, "after": after or None})  # fmt: skip
    items = answer.json()
    more = NEXT.search(answer.headers.get("link", ""))
    likely = await asyncio.gather(*(_candidates(viewer, item) for item in items))
    shown = [{**item, "candidates": found} for item, found in zip(items, likely, strict=True)]
    return viewer.render("payments.html", title="Payments to match", screen="payments", items=shown,
                         next=more.group(1) if more else None, first=not after)  # fmt: skip


async def _candidates(viewer: Viewer, item: dict[str, Any]) -> list[dict[str, Any]]:
    if item["kind"] != "unmatched_claim":
        return []
    try:
        return (await viewer.get("payments", f"/v1/work-queue/{item['item_id']}/candidates"))["claims"]  # type: ignore[no-any-return]
    except ServiceError:
        return []


@router.post("/payments/unmatched/{item_id}/post")
async def post(viewer: ViewerDep, item_id: int) -> Response:
    form = await viewer.request.form()
    chosen = str(form.get("claim_id") or form.get("other_claim_id") or "").strip()
    try:
        claim_id = UUID(chosen)
    except ValueError:
        viewer.notify("error", "Nothing was posted: choose the claim the payment is for.",
                      "Pick one of the likely claims, or paste a claim id (from the claim's page).")  # fmt: skip
        return viewer.back("/payments")
    try:
        done = await viewer.post("payments", f"/v1/work-queue/{item_id}/post", {"claim_id": str(claim_id)})
    except ServiceError as failed:
        if failed.status in (404, 409, 422):
            viewer.notify("error", f"Nothing was posted: {failed.reason}.", failed.advice)
            return viewer.back("/payments")
        raise
    viewer.notify("success", f"${money(done['paid'])} posted to claim {str(claim_id)[:8]}.",
                  "A/R books it on the claim's ledger.")  # fmt: skip
    return viewer.back("/payments")

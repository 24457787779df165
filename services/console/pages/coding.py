"""The coder queue: the oldest encounters first; an encounter's documentation, coding's suggestions
with their confidence and evidence, and the edits that fired; accept, or amend with the code picker
(ICD-10-CM by code or words). Two coders on one encounter: the second is told, nothing is coded twice."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.console.backend import ServiceError
from services.console.domain import forms
from services.console.pages.common import Viewer, ViewerDep

router = APIRouter()
EXTRA_ROWS = 2  # empty service lines offered for codes the coder adds


@router.get("/coding")
async def queue(viewer: ViewerDep, cursor: str = "") -> Response:
    page = await viewer.get("coding", "/v1/work-queue", limit=viewer.settings.page_size, cursor=cursor)
    if "total" in page:  # counted with the page, no further than 10,000 (`total_at_least`)
        waiting, at_least = page["total"], page.get("total_at_least", False)
    else:  # a coding service from before the queue counted itself
        waiting, at_least = (await viewer.get("coding", "/v1/stats")).get("queued", 0), False
    return viewer.render("coding_queue.html", title="Coder queue", screen="coding", items=page["items"],
                         next=page.get("next"), first=not cursor, waiting=waiting,
                         waiting_at_least=at_least)  # fmt: skip


@router.get("/coding/icd10")
async def icd10(viewer: ViewerDep, q: str = "", on: str = "") -> Response:
    """The picker's search, for the page's script: ICD-10-CM codes billable on the date of service."""
    if not q.strip():
        return JSONResponse({"codes": []})
    found = await viewer.get("coding", "/v1/code-sets/icd10cm", q=q.strip()[:100], on=on or None, limit=15)
    return JSONResponse(found)


@router.get("/coding/{encounter_id}")
async def encounter(viewer: ViewerDep, encounter_id: str, q: str = "") -> Response:
    return await _page(viewer, encounter_id, q)


async def _page(viewer: Viewer, encounter_id: str, q: str = "", entered: dict[str, str] | None = None,
                problems: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    item = await viewer.get("coding", f"/v1/work-queue/{encounter_id}")
    documented = item.get("documented") or {}
    picked = []
    if q.strip():
        picked = (await viewer.get("coding", "/v1/code-sets/icd10cm", q=q.strip()[:100],
                                   on=documented.get("date_of_service"), limit=15))["codes"]  # fmt: skip
    lines = [*item.get("service_lines", []), *({} for _ in range(EXTRA_ROWS))]
    values = entered or _values(item, lines)
    return viewer.render("coding_item.html", status, title=f"Encounter {encounter_id}", screen="coding", item=item,
                         documented=documented, lines=lines, values=values, problems=problems or {}, q=q,
                         picked=picked)  # fmt: skip


def _values(item: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, str]:
    """The form as coding proposed it."""
    values = {"diagnoses": ", ".join(_dotted(code) for code in item.get("diagnoses", []))}
    for n, line in enumerate(lines, 1):
        if line:
            values |= {f"line-{n}-code": line.get("procedure_code", ""), f"line-{n}-modifiers": " ".join(line.get(
                "modifiers", [])), f"line-{n}-units": str(line.get("units", 1)), f"line-{n}-pointers": " ".join(
                str(p) for p in line.get("diagnosis_pointers", []))}  # fmt: skip
    return values


def _dotted(code: str) -> str:
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


@router.post("/coding/{encounter_id}/accept")
async def accept(viewer: ViewerDep, encounter_id: str) -> Response:
    note = str((await viewer.request.form()).get("note") or "").strip()[:1000]
    try:
        await viewer.post("coding", f"/v1/work-queue/{encounter_id}/accept", {"note": note} if note else {})
    except ServiceError as failed:
        return _refused(viewer, encounter_id, failed)
    viewer.notify("success", f"Encounter {encounter_id} coded as proposed.", "Claims will bill it with the next batch.")
    return viewer.back("/coding")


@router.post("/coding/{encounter_id}/amend")
async def amend(viewer: ViewerDep, encounter_id: str) -> Response:
    form = {k: str(v) for k, v in (await viewer.request.form()).items() if k != "csrf_token"}
    rows = sum(1 for key in form if key.endswith("-code"))
    read = forms.amendment(form, rows)
    if not read.ok:
        viewer.notify("error", "The amendment was not sent: correct the fields marked below.")
        return await _page(viewer, encounter_id, entered=form, problems=read.problems, status=422)
    try:
        done = await viewer.post("coding", f"/v1/work-queue/{encounter_id}/amend", read.body)
    except ServiceError as failed:
        if failed.status == 422:
            viewer.notify("error", "Coding refused the codes.", f"{failed.reason} {failed.advice}")
            return await _page(viewer, encounter_id, entered=form, status=422)
        return _refused(viewer, encounter_id, failed)
    remaining = done.get("remaining_findings") or []
    detail = "Claims will bill it with the next batch."
    if remaining:
        detail += " Edits you decided over: " + "; ".join(f"{f['code']} ({f['message']})" for f in remaining)
    viewer.notify("success", f"Encounter {encounter_id} coded with your codes.", detail)
    return viewer.back("/coding")


def _refused(viewer: Viewer, encounter_id: str, failed: ServiceError) -> Response:
    if failed.status == 409:
        viewer.notify("error", f"Encounter {encounter_id} was not coded by you: {failed.reason}.",
                      "Someone else decided it first; nothing was applied twice. Take the next one.")  # fmt: skip
        return viewer.back("/coding")
    raise failed

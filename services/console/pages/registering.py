"""Registering a new patient at the front desk: their details and the primary coverage's card, posted to
registration with the person's token; then their account, where eligibility and payments happen. What
was typed travels only in the form's POST bodies: never in a URL, a log line or a flash message."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.backend import ServiceError
from services.console.domain import registering
from services.console.pages.common import Viewer, ViewerDep, attempt

router = APIRouter()
TITLE = "Register a patient"


@router.get("/patients/new")
async def blank(viewer: ViewerDep) -> Response:
    payers, error = await attempt(viewer.get("registration", "/v1/payers"))
    # No "Covered since" is offered: today would hide the coverage from a visit dated before it (a claim
    # picks its coverage by the date of service); the date is on the card or in the payer's 271.
    values = {"facility": "MAIN", "relationship": "self", "check_eligibility": "on"}
    return _page(viewer, payers or [], values, {}, payers_error=error)


@router.post("/patients/new")
async def register(viewer: ViewerDep) -> Response:
    form = {k: str(v) for k, v in (await viewer.request.form()).items() if k != "csrf_token"}
    payers = await viewer.get("registration", "/v1/payers")
    directory = {p["payer_id"]: p for p in payers}
    read = registering.registration(form, {payer_id: p["name"] for payer_id, p in directory.items()})
    holder = None if not read.ok else await _holder_of_mrn(viewer, read.body)
    if holder:
        read.problems["mrn"] = "another patient already has this MRN here: open their account, or check the number"
    if not read.ok:
        return _refused(viewer, payers, form, read.problems, holder)
    try:
        answer = await viewer.post("registration", "/v1/patients", read.body)
    except ServiceError as failed:
        if failed.status != 422:
            raise
        return _refused(viewer, payers, form, registering.problems(failed.detail), None)
    viewer.notify("success", *registering.outcome(answer))
    if form.get("check_eligibility"):
        await _ask_eligibility(viewer, answer["patient_id"], directory[read.body["coverages"][0]["payer_id"]])
    return viewer.back(f"/patients/{answer['patient_id']}")


async def _holder_of_mrn(viewer: Viewer, body: dict[str, Any]) -> str | None:
    """The patient registration already knows by this MRN at this facility: registering a new one under it
    would change that patient's record instead (registration matches by facility and MRN)."""
    facility, mrn = body.get("facility", "MAIN"), body.get("mrn", "")
    if not mrn:
        return None
    try:
        found = await viewer.post("registration", "/v1/patients/search", {"mrn": mrn.upper(), "limit": 10})
    except ServiceError as failed:
        if failed.status == 422:
            return None  # not an MRN at all: registration says so next to the field
        raise
    for candidate in found["patients"]:
        if registering.holds_mrn(candidate, facility, mrn):
            return str(candidate["patient_id"])
    for candidate in found["patients"]:  # known by it at another facility first: its other MRNs
        if registering.holds_mrn(await viewer.get("registration", f"/v1/patients/{candidate['patient_id']}"),
                                 facility, mrn):  # fmt: skip
            return str(candidate["patient_id"])
    return None


async def _ask_eligibility(viewer: Viewer, patient_id: str, payer: dict[str, Any]) -> None:
    """The front desk's usual next step, done with the registration: ask the payer (X12 270)."""
    if not viewer.may("POST /patients/{patient_id}/eligibility"):
        return
    if not payer.get("accepts_eligibility"):
        viewer.notify("warn", f"{payer['name']} takes no eligibility requests.",
                      "Check the coverage on the payer's portal or by phone.")  # fmt: skip
        return
    try:
        await viewer.post("registration", f"/v1/patients/{patient_id}/eligibility", {"rank": "primary"})
    except ServiceError as failed:
        if failed.status not in (404, 409, 422):
            raise
        viewer.notify("warn", f"Eligibility was not asked: {failed.reason}.", "Ask again with Check eligibility below.")
        return
    viewer.notify("success", "The primary payer was asked about eligibility (X12 270).",
                  "Its answer (271) shows under Coverages and eligibility when it comes.")  # fmt: skip


def _refused(viewer: Viewer, payers: list[dict[str, Any]], form: dict[str, str], problems: dict[str, str],
             holder: str | None) -> Response:  # fmt: skip
    detail = problems.get("form", "")
    viewer.notify("error", "The patient was not registered: correct the fields marked below.", detail)
    return _page(viewer, payers, form, problems, holder=holder, status=422)


def _page(viewer: Viewer, payers: list[dict[str, Any]], values: dict[str, str], problems: dict[str, str],
          status: int = 200, **context: Any) -> Response:  # fmt: skip
    return viewer.render("patient_new.html", status, title=TITLE, screen="patients", values=values, problems=problems,
                         payer_choices=registering.payer_choices(payers), **context)  # fmt: skip

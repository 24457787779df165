"""Search from every page: a claim id opens the claim, a patient id the account; names, MRNs and birth
dates find patients (sent in the form's body, so they never land in a URL, a history or a log)."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.backend import ServiceError
from services.console.domain import search as parsing
from services.console.pages.common import Viewer, ViewerDep

router = APIRouter()
FIELDS = ("last_name", "first_name", "birth_date", "mrn")


@router.post("/search")
async def search(viewer: ViewerDep) -> Response:
    form = {k: str(v).strip() for k, v in (await viewer.request.form()).items() if k != "csrf_token"}
    if form.get("q"):
        wanted = parsing.parse(form["q"])
        if wanted is None:
            return _nothing(viewer, form, "Type a name, an MRN, a birth date (e.g. 1970-03-31) or a claim id.")
        if wanted.record_id is not None:
            return await _open(viewer, str(wanted.record_id), form)
        criteria = wanted.criteria()
    else:
        criteria = {k: form[k] for k in FIELDS if form.get(k)}
        if not criteria:
            return _nothing(viewer, form, "Fill in at least one field.")
    try:
        found = await viewer.post("registration", "/v1/patients/search",
                                  {**criteria, "limit": viewer.settings.page_size, "cursor": form.get("cursor") or None})  # fmt: skip
    except ServiceError as failed:
        if failed.status == 422:
            return _nothing(viewer, form, f"The search was refused: {failed.reason}.")
        raise
    return viewer.render("patients_find.html", title="Patients found", screen="patients", values=criteria,
                         found=found["patients"], next=found.get("next"))  # fmt: skip


async def _open(viewer: Viewer, record_id: str, form: dict[str, Any]) -> Response:
    """A claim id opens the claim (for those who read claims), else a patient id the patient's account."""
    if viewer.may("GET /claims/{claim_id}"):
        try:
            await viewer.get("claims", f"/v1/claims/{record_id}")
            return viewer.back(f"/claims/{record_id}")
        except ServiceError as failed:
            if failed.status != 404:
                raise
    try:
        await viewer.get("registration", f"/v1/patients/{record_id}")
        return viewer.back(f"/patients/{record_id}")
    except ServiceError as failed:
        if failed.status != 404:
            raise
    return _nothing(viewer, form, "No claim or patient has this id. Check it, or search by the patient's name.")


def _nothing(viewer: Viewer, form: dict[str, Any], problem: str) -> Response:
    viewer.notify("error", problem)
    return viewer.render("patients_find.html", 422, title="Find a patient", screen="patients",
                         values={k: form.get(k, "") for k in FIELDS}, found=None)  # fmt: skip

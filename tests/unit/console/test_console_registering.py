"""Registering a patient in the console: the form read into registration's body, registration's refusals
put back next to their fields, and the page for the front desk (and for no one else) on canned answers."""

import pytest

from services.console.backend import ServiceError
from services.console.domain import registering
from tests.unit.console.console_fakes import console_client, signed_in

PAYERS = [
    {"payer_id": "SIMBC", "name": "SIM BLUE PLAN", "accepts_eligibility": True},
    {"payer_id": "SIMMCD", "name": "SIM STATE MEDICAID", "accepts_eligibility": False},
]
NAMES = {p["payer_id"]: p["name"] for p in PAYERS}
TYPED = {
    "facility": "MAIN", "mrn": " MRN-7001 ", "last_name": " Okafor", "first_name": "Ada ", "birth_date": "1984-02-29",
    "sex": "F", "phone": "(312) 555-0142", "line1": "12 Elm St", "line2": "", "city": "Springfield", "state": "il",
    "postal_code": "62701-1234", "payer_id": "SIMBC", "member_id": "XJ-4471", "group_number": "", "plan_name": "",
    "effective_date": "2026-01-01", "relationship": "self", "subscriber_last_name": "Stale", "subscriber_first_name": "",
    "subscriber_birth_date": "", "subscriber_sex": "",
}  # fmt: skip
ADDRESS = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}


def test_the_form_becomes_registrations_body_tidied_with_the_payers_name():
    read = registering.registration(TYPED, NAMES)
    assert read.ok
    assert read.body == {
        "facility": "MAIN",
        "mrn": "MRN-7001",
        "patient": {
            "last_name": "Okafor",
            "first_name": "Ada",
            "birth_date": "1984-02-29",
            "sex": "F",
            "phone": "3125550142",
            "address": ADDRESS,
        },
        "coverages": [
            {
                "rank": "primary",
                "relationship": "self",
                "payer_id": "SIMBC",
                "payer_name": "SIM BLUE PLAN",
                "member_id": "XJ-4471",
                "effective_date": "2026-01-01",
            }
        ],
    }  # empty optional fields left out; the insured person's fields ignored when the patient is the insured


def test_a_dependent_is_sent_with_the_insured_person_living_at_the_patients_address():
    typed = TYPED | {"relationship": "child", "subscriber_last_name": "Okafor", "subscriber_first_name": "Obi",
                     "subscriber_birth_date": "1960-05-01", "subscriber_sex": "M", "phone": "+44 20 7946 0958"}  # fmt: skip
    read = registering.registration(typed, NAMES)
    coverage = read.body["coverages"][0]
    assert coverage["relationship"] == "child" and read.body["patient"]["phone"] == "+442079460958"
    assert coverage["subscriber"] == {"last_name": "Okafor", "first_name": "Obi", "birth_date": "1960-05-01",
                                      "sex": "M", "address": ADDRESS}  # fmt: skip


def test_a_payer_not_in_the_directory_is_refused_before_anything_is_sent():
    read = registering.registration(TYPED | {"payer_id": "NOSUCH"}, NAMES)
    assert not read.ok and read.problems == {"payer_id": "choose the payer from the list"}
    assert "payer_name" not in read.body["coverages"][0]


def test_registrations_refusals_land_next_to_their_fields_in_words():
    detail = [
        {"type": "missing", "loc": ["body", "patient", "first_name"], "msg": "Field required"},
        {"type": "string_pattern_mismatch", "loc": ["body", "patient", "address", "postal_code"],
         "msg": "String should match pattern '^\\d{5}(\\d{4})?$'"},
        {"type": "value_error", "loc": ["body", "patient", "birth_date"], "msg": "is in the future"},
        {"type": "value_error", "loc": ["body", "coverages", 0, "subscriber"],
         "msg": "required when relationship is not self"},
        {"type": "string_pattern_mismatch", "loc": ["body", "coverages", 0, "subscriber", "address", "state"],
         "msg": "String should match pattern '^[A-Z]{2}$'"},
        {"type": "value_error", "loc": ["body", "coverages", 0, "payer_id"], "msg": "not in the payer directory"},
        {"type": "extra_forbidden", "loc": ["body", "nickname"], "msg": "Extra inputs are not permitted"},
        {"type": "value_error", "loc": ["body", "patient", "birth_date"], "msg": "a second problem, not shown"},
    ]  # fmt: skip
    assert registering.problems(detail) == {
        "first_name": "required",
        "postal_code": "a ZIP code of 5 or 9 digits",
        "birth_date": "is in the future",
        "subscriber_last_name": "required when relationship is not self",
        "state": "the state's two letters, e.g. IL",
        "payer_id": "not in the payer directory",
        "form": "nickname: Extra inputs are not permitted",
    }
    assert registering.problems("the body must be at most 65536 bytes") == {
        "form": "the body must be at most 65536 bytes"
    }


def test_every_form_field_has_its_own_place_in_the_body():
    paths = [f.path for f in registering.FIELDS.values()]
    assert len(set(paths)) == len(paths) and set(registering.BY_PATH) == set(paths)


def test_an_mrn_is_held_at_the_facility_in_any_case_or_under_a_second_registration():
    patient = {"facility": "NORTH", "mrn": "n-1", "mrns": [{"facility": "NORTH", "mrn": "N-1"},
                                                          {"facility": "MAIN", "mrn": "M-9"}]}  # fmt: skip
    assert registering.holds_mrn(patient, "north", "N-1") and registering.holds_mrn(patient, "MAIN", "m-9")
    assert not registering.holds_mrn(patient, "MAIN", "N-1") and not registering.holds_mrn({}, "MAIN", "M-9")


def test_what_the_front_desk_is_told_after_registering():
    assert registering.outcome({"matched_by": None, "changed": True})[0] == "Patient registered."
    updated = registering.outcome({"matched_by": "member", "changed": True})
    assert "same name, birth date and member id" in updated[0] and "updated" in updated[1]
    assert "Nothing changed" in registering.outcome({"matched_by": "mrn", "changed": False})[1]


def test_the_payer_choices_say_which_payers_answer_no_eligibility_request():
    assert registering.payer_choices(PAYERS) == [
        ("", "choose the payer"),
        ("SIMBC", "SIM BLUE PLAN"),
        ("SIMMCD", "SIM STATE MEDICAID (no eligibility requests)"),
    ]


# ---- the page, on canned answers ----

PATIENT = "5f0c1a9e-1111-4222-8333-944455556666"


@pytest.fixture
def console():
    client, provider, backend = console_client()
    backend.on("registration", "GET", "/v1/payers", PAYERS)
    backend.on("registration", "POST", "/v1/patients/search", {"patients": [], "next": None})
    backend.on("claims", "GET", "/v1/encounters/waiting", {"items": [], "total": 0, "next": None})
    yield client, provider, backend
    client.__exit__(None, None, None)


def test_the_front_desk_finds_the_form_on_patients_and_registers_then_sees_the_account(console):
    client, provider, backend = console
    backend.on("registration", "POST", "/v1/patients", {"patient_id": PATIENT, "version": 1, "changed": True,
                                                        "matched_by": None})  # fmt: skip
    backend.on("registration", "POST", f"/v1/patients/{PATIENT}/eligibility", {"check_id": "c1", "status": "pending"})
    csrf = signed_in(client, provider, "front_desk", name="frank.frontdesk")
    assert 'href="/patients/new"' in client.get("/patients").text
    blank = client.get("/patients/new")
    assert blank.status_code == 200 and 'action="/patients/new"' in blank.text and 'name="csrf_token"' in blank.text
    assert '<option value="SIMBC">SIM BLUE PLAN</option>' in blank.text and 'name="check_eligibility"' in blank.text
    backend.calls.clear()
    done = client.post("/patients/new", data=TYPED | {"csrf_token": csrf, "check_eligibility": "on"})
    assert done.status_code == 303 and done.headers["location"] == f"/patients/{PATIENT}"
    sent = {c[2]: c for c in backend.calls if c[1] == "POST"}
    assert sent["/v1/patients"][3] == registering.registration(TYPED, NAMES).body
    assert sent["/v1/patients/search"][3] == {"mrn": "MRN-7001", "limit": 10}  # is the MRN someone else's?
    assert sent[f"/v1/patients/{PATIENT}/eligibility"][3] == {"rank": "primary"}
    assert all("Okafor" not in str(c[2]) + str(c[4]) for c in backend.calls)  # never in a path or a query
    notices = client.get("/patients").text
    assert "Patient registered." in notices and "was asked about eligibility (X12 270)" in notices


def test_a_refused_registration_shows_each_problem_next_to_its_field_and_keeps_what_was_typed(console):
    client, provider, backend = console
    backend.on("registration", "POST", "/v1/patients", ServiceError("registration", 422, [
        {"type": "value_error", "loc": ["body", "patient", "birth_date"], "msg": "is in the future"}]))  # fmt: skip
    csrf = signed_in(client, provider, "front_desk")
    page = client.post("/patients/new", data=TYPED | {"csrf_token": csrf, "postal_code": "6270"})
    assert page.status_code == 422 and "The patient was not registered" in page.text
    assert 'aria-describedby="birth_date-problem"' in page.text and ">is in the future</span>" in page.text
    assert 'value="Okafor"' not in page.text and 'value=" Okafor"' in page.text  # as typed, not as tidied
    assert 'value="6270"' in page.text and '<option value="F" selected>' in page.text
    assert not [c for c in backend.calls if c[2].endswith("/eligibility")]


def test_an_mrn_another_patient_holds_is_not_registered_over_them(console):
    client, provider, backend = console
    holder = {"patient_id": PATIENT, "facility": "MAIN", "mrn": "MRN-7001", "last_name": "Other", "coverages": []}
    backend.on("registration", "POST", "/v1/patients/search", {"patients": [holder], "next": None})
    csrf = signed_in(client, provider, "front_desk")
    page = client.post("/patients/new", data=TYPED | {"csrf_token": csrf})
    assert page.status_code == 422 and "another patient already has this MRN here" in page.text
    assert f'href="/patients/{PATIENT}"' in page.text
    assert not [c for c in backend.calls if c[1] == "POST" and c[2] == "/v1/patients"]


def test_a_payer_without_eligibility_requests_is_said_and_not_asked(console):
    client, provider, backend = console
    backend.on("registration", "POST", "/v1/patients", {"patient_id": PATIENT, "version": 1, "changed": True,
                                                        "matched_by": None})  # fmt: skip
    csrf = signed_in(client, provider, "front_desk")
    done = client.post(
        "/patients/new", data=TYPED | {"csrf_token": csrf, "payer_id": "SIMMCD", "check_eligibility": "on"}
    )
    assert done.status_code == 303
    assert "SIM STATE MEDICAID takes no eligibility requests." in client.get("/patients").text
    assert not [c for c in backend.calls if c[2].endswith("/eligibility")]


@pytest.mark.parametrize("role", ["coder", "biller", "supervisor"])
def test_who_registration_does_not_let_register_neither_sees_the_form_nor_posts_it(console, role):
    client, provider, backend = console
    csrf = signed_in(client, provider, role)
    patients = client.get("/patients")
    assert 'href="/patients/new"' not in patients.text
    assert client.get("/patients/new").status_code == 403
    refused = client.post("/patients/new", data=TYPED | {"csrf_token": csrf})
    assert refused.status_code == 403 and "Front desk" in refused.text
    assert not [c for c in backend.calls if c[2] == "/v1/patients"]


def test_the_form_needs_the_sessions_csrf_token(console):
    client, provider, backend = console
    signed_in(client, provider, "front_desk")
    assert client.post("/patients/new", data=TYPED | {"csrf_token": "guess"}).status_code == 403
    assert not [c for c in backend.calls if c[1] == "POST"]

"""The console's web layer on canned answers: sign-in and its session, the security headers, CSRF,
screens by role, what a refusal says, and each screen rendered from what the services answer."""

import hashlib
from urllib.parse import quote

import pytest

from services.console.app import PAGES
from services.console.backend import ServiceError
from services.console.domain import access
from tests.unit.console.console_fakes import ISSUER, console_client, signed_in

PUBLIC = {"GET /login", "GET /auth/callback", "POST /logout", "GET /signed-out"}


@pytest.fixture
def console():
    client, provider, backend = console_client()
    yield client, provider, backend
    client.__exit__(None, None, None)


def test_every_console_route_has_an_access_rule_and_every_rule_a_route():
    routes = {f"{method} {route.path}" for page in PAGES for route in page.router.routes for method in route.methods}
    assert routes - PUBLIC == set(access.ROUTES)


def test_a_page_without_a_session_sends_the_person_to_sign_in_and_back(console):
    client, _, _ = console
    answer = client.get("/claims", params={"cursor": "abc"})
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/claims%3Fcursor%3Dabc"


def test_sign_in_uses_state_rotates_the_session_and_sets_a_safe_cookie(console):
    client, provider, _ = console
    started = client.get("/login", params={"next": "https://evil.example/"})
    assert started.headers["location"].startswith(f"{ISSUER}/auth?state=")
    before = client.cookies.get("rcm_console")
    assert client.get("/auth/callback", params={"state": "forged", "code": "x"}).status_code == 400
    csrf = signed_in(client, provider, "coder")
    assert client.cookies.get("rcm_console") != before and csrf
    cookie = started.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


def test_over_https_the_cookie_is_secure_and_host_only():
    client, _, _ = console_client("https://console.example")
    answer = client.get("/login")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-rcm_console=") and "Secure" in cookie and "Path=/" in cookie
    assert "max-age=31536000" in answer.headers["strict-transport-security"]
    client.__exit__(None, None, None)


def test_every_page_carries_a_strict_content_security_policy(console):
    client, provider, backend = console
    backend.on("coding", "GET", "/v1/stats", {"queued": 0})
    signed_in(client, provider, "coder")
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    assert f"form-action 'self' {ISSUER.split('/realms')[0]}" in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text and " on" + "click=" not in page.text


def test_a_form_without_the_sessions_csrf_token_is_refused(console):
    client, provider, backend = console
    backend.on("coding", "POST", "/v1/work-queue/E1/accept", {"status": "coded"})
    csrf = signed_in(client, provider, "coder")
    refused = client.post("/coding/E1/accept", data={"csrf_token": "guess"})
    foreign = client.post("/coding/E1/accept", data={"csrf_token": csrf}, headers={"Origin": "https://evil.example"})
    accepted = client.post("/coding/E1/accept", data={"csrf_token": csrf})
    assert refused.status_code == 403 and foreign.status_code == 403 and accepted.status_code == 303
    assert [c[:3] for c in backend.calls if c[1] == "POST"] == [("coding", "POST", "/v1/work-queue/E1/accept")]


def test_screens_follow_the_role(console):
    client, provider, backend = console
    backend.on("coding", "GET", "/v1/stats", {"queued": 3})
    signed_in(client, provider, "coder", name="carol.coder")
    home_page = client.get("/")
    assert 'href="/coding"' in home_page.text and 'href="/claims"' not in home_page.text
    assert ">3</span><br>Encounters waiting for a coder" in home_page.text
    forbidden = client.get("/claims")
    assert forbidden.status_code == 403 and "Not for your role" in forbidden.text and "Biller" in forbidden.text
    assert not [c for c in backend.calls if c[0] == "claims"]  # the console never asked claims on the coder's behalf


def test_the_second_coder_is_told_and_nothing_is_applied_twice(console):
    client, provider, backend = console
    backend.on("coding", "GET", "/v1/stats", {"queued": 0})
    backend.on("coding", "POST", "/v1/work-queue/E1/accept", ServiceError("coding", 409, "the encounter is coded"))
    backend.on("coding", "GET", "/v1/work-queue", {"items": [], "next": None})
    csrf = signed_in(client, provider, "coder")
    answer = client.post("/coding/E1/accept", data={"csrf_token": csrf})
    assert answer.headers["location"] == "/coding"
    page = client.get("/coding")
    assert "was not coded by you: the encounter is coded" in page.text and "nothing was applied twice" in page.text


def test_a_service_that_does_not_answer_is_said_with_what_to_do(console):
    client, provider, backend = console
    backend.on("coding", "GET", "/v1/stats", {"queued": 0})
    backend.on("claims", "GET", "/v1/work-queue", ServiceError("claims", 0))
    signed_in(client, provider, "biller")
    page = client.get("/claims")
    assert page.status_code == 503 and "The claims service did not answer" in page.text and "Try again" in page.text


WAITING = {"encounter_id": "ENC-77", "patient_id": "9a1c6a0e-2b8e-4a37-9d1c-6c1f5a0b7e21",
           "date_of_service": "2026-11-27", "received_at": "2026-11-30T10:00:00+00:00", "waiting_minutes": 95,
           "task": "register the patient"}  # fmt: skip


def test_the_claims_screen_lists_encounters_waiting_for_their_patient(console):
    client, provider, backend = console
    backend.on("coding", "GET", "/v1/stats", {"queued": 0})
    backend.on("claims", "GET", "/v1/work-queue", {"total": 0, "items": [], "next": None})
    backend.on("claims", "GET", "/v1/encounters/waiting", {"items": [WAITING], "next": None})
    signed_in(client, provider, "biller")
    page = client.get("/claims").text
    assert "Encounters waiting for their patient" in page and "ENC-77" in page and ">95<" in page
    assert "Nov 27, 2026" in page and "4:00 AM CST" in page


WAITING_CURSOR = "2026-11-30T10:00:00+00:00|ENC-77"


def test_the_front_desk_finds_the_encounters_waiting_for_their_patient_at_home_and_on_patients(console):
    client, provider, backend = console
    backend.on("claims", "GET", "/v1/encounters/waiting", {"items": [WAITING], "total": 7, "next": WAITING_CURSOR})
    signed_in(client, provider, "front_desk", name="frank.frontdesk")
    backend.calls.clear()
    home_page = client.get("/").text
    assert ">7</span><br>Encounters waiting for their patient" in home_page
    assert 'href="/patients#waiting"' in home_page and "You have no queues" not in home_page
    page = client.get("/patients").text
    assert 'action="/search"' in page and 'id="waiting"' in page and "ENC-77" in page and ">95<" in page
    assert "4:00 AM CST" in page and f'href="/patients?cursor={quote(WAITING_CURSOR, safe="/")}#waiting"' in page
    client.get("/patients", params={"cursor": WAITING_CURSOR})
    asked = [c[4] for c in backend.calls if c[2] == "/v1/encounters/waiting"]
    assert [(a["limit"], a.get("cursor")) for a in asked] == [(0, None), (25, ""), (25, WAITING_CURSOR)]


def test_nothing_waiting_is_said_and_a_list_that_failed_too(console):
    client, provider, backend = console
    backend.on("claims", "GET", "/v1/encounters/waiting", {"items": [], "total": 0, "next": None})
    signed_in(client, provider, "front_desk", name="frank.frontdesk")
    assert ">0</span><br>Encounters waiting for their patient" in client.get("/").text
    assert "No encounter is waiting for its patient" in client.get("/patients").text
    backend.on("claims", "GET", "/v1/encounters/waiting", ServiceError("claims", 0))
    failed = client.get("/patients")
    assert failed.status_code == 200 and 'action="/search"' in failed.text  # the search still works
    assert "The list could not be read: The claims service did not answer" in failed.text


def test_a_biller_finds_the_waiting_encounters_on_claims_not_on_home_or_patients(console):
    client, provider, backend = console
    backend.on("claims", "GET", "/v1/work-queue", {"total": 0, "items": [], "next": None})
    backend.on("claims", "GET", "/v1/encounters/waiting", {"items": [], "next": None})
    signed_in(client, provider, "biller", name="bill.biller")
    assert "Encounters waiting for their patient" not in client.get("/patients").text + client.get("/").text
    assert not [c for c in backend.calls if c[2] == "/v1/encounters/waiting"]
    assert "No encounter has waited long for its patient" in client.get("/claims").text


def test_a_search_by_name_never_puts_the_name_in_a_url(console):
    client, provider, backend = console
    backend.on("registration", "POST", "/v1/patients/search", {"patients": [
        {"patient_id": "p-1", "last_name": "Nguyen", "first_name": "Wei", "birth_date": "1970-03-31", "mrn": "M1",
         "coverages": []}], "next": None})  # fmt: skip
    csrf = signed_in(client, provider, "front_desk")
    answer = client.post("/search", data={"csrf_token": csrf, "q": "Wei Nguyen"})
    assert answer.status_code == 200 and "Nguyen, Wei" in answer.text and 'href="/patients/p-1"' in answer.text
    sent = backend.calls[-1]
    assert sent[:3] == ("registration", "POST", "/v1/patients/search") and sent[3]["last_name"] == "Nguyen"
    assert all("Nguyen" not in str(c[4]) for c in backend.calls)  # never a query parameter


CLAIM = "11111111-2222-3333-4444-555555555555"
PATIENT = "99999999-8888-7777-6666-555555555555"


def claim_answers(backend, status="held"):
    backend.on("claims", "GET", f"/v1/claims/{CLAIM}", {
        "claim_id": CLAIM, "kind": "original", "status": status, "acknowledgement": None, "payer_name": "SIM BLUE",
        "date_of_service": "2026-11-20", "total_charge": "188.00", "patient_control_number": "PCN1",
        "patient_id": PATIENT, "correlation_id": "corr-1", "version": '"v1"', "ack_reasons": [],
        "findings": [{"field": "lines[2].procedure_code", "code": "line.duplicate",
                      "message": "the same code twice on one date; fix: add 76, 77, 91"}]})  # fmt: skip
    backend.on("claims", "GET", f"/v1/claims/{CLAIM}/history", {
        "claim": {"created_at": "2026-11-20T15:00:00+00:00", "status": status, "findings": [{"code": "line.duplicate"}],
                  "encounter_ids": ["E1"]},
        "encounters": [{"encounter_id": "E1", "diagnoses": ["E119"], "prior_authorization": None, "service_lines": [
            {"line_number": 1, "procedure_code": "99213", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
            {"line_number": 2, "procedure_code": "36415", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}]}],
        "sent_in": None, "events": [], "follow_ups": []})  # fmt: skip


def test_a_held_claim_page_shows_field_problem_fix_and_the_fix_form_sends_only_the_change(console):
    client, provider, backend = console
    claim_answers(backend)
    backend.on("claims", "POST", f"/v1/claims/{CLAIM}/resubmit", {"claim_id": CLAIM, "status": "ready", "findings": []})
    csrf = signed_in(client, provider, "biller", name="bill.biller")
    page = client.get(f"/claims/{CLAIM}")
    assert page.status_code == 200, page.text
    assert "line 3: procedure code" in page.text and "add 76, 77, 91" in page.text and "Resubmit the claim" in page.text
    assert "The coding history is shown to coders, supervisors and auditors only." in page.text
    journey = hashlib.sha256(b"openrcm-journey:corr-1").hexdigest()[:32]  # the services' trace of this journey
    assert f"<code>{journey}</code>" in page.text
    form = {"csrf_token": csrf, "version": '"v1"', "diagnoses": "E11.9", "line-1-code": "99213", "line-1-pointers": "1",
            "line-2-code": "36415", "line-2-modifiers": "91", "line-2-pointers": "1"}  # fmt: skip
    answer = client.post(f"/claims/{CLAIM}/resubmit", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == f"/claims/{CLAIM}"
    _, method, path, body, headers = backend.calls[-1]
    assert (method, path) == ("POST", f"/v1/claims/{CLAIM}/resubmit") and headers["If-Match"] == '"v1"'
    assert body == {"changes": {"lines": [{"line_number": 2, "modifiers": ["91"]}]}}
    assert "goes out with the next 837P batch" in client.get(f"/claims/{CLAIM}").text


def test_the_home_page_of_a_supervisor_draws_the_office_s_charts(console):
    client, provider, backend = console
    backend.on("ar_followup", "GET", "/v1/dashboard", {
        "kpis": {"days_in_ar": "31.2", "denial_rate": "8.0", "clean_claim_rate": "97.0", "net_collection_rate": "95.5",
                 "open_ar": "12345.60", "period": {"start": "2026-09-01", "end": "2026-11-30", "claims": 9}},
        "aging": [{"bucket": "0-30", "insurance": "900.00", "patient": "40.00"}],
        "denials": {"by_category": {"correctable": "6.0"}},
        "collections": {"months": ["2026-11-01"], "series": {"SIMBC": ["500.00"], "patients": ["20.00"]}},
        "days_in_ar": [{"month": "2026-11-01", "days_in_ar": "31.2", "open_ar": "1.0"}]})  # fmt: skip
    backend.on("ar_followup", "GET", "/v1/work-queue", {"count": 4, "items": [], "next": None})
    backend.on("ar_followup", "GET", "/v1/write-offs", {"items": [{"adjustment_id": "a-1"}], "next": None})
    backend.on("payments", "GET", "/v1/refunds", {"items": [{"refund_id": "r-1"}, {"refund_id": "r-2"}], "next": None})
    backend.on("claims", "GET", "/v1/work-queue", {"total": 2, "items": [], "next": None})
    backend.on("payments", "GET", "/v1/stats", {"claim_payments": {"unmatched": 1}})
    backend.on("coding", "GET", "/v1/stats", {"queued": 5})
    signed_in(client, provider, "supervisor", name="sam.supervisor")
    backend.calls.clear()
    page = client.get("/")
    assert page.status_code == 200 and page.text.count("<svg") == 4 and "$12,345.60" in page.text
    assert "Payments nobody could match" in page.text and "$900.00" in page.text
    assert (
        ">3</span><br>Write-offs and refunds waiting for approval" in page.text
        and "1 write-off, 2 refunds" in page.text
    )
    pending = [c[4] for c in backend.calls if c[2] in ("/v1/write-offs", "/v1/refunds")]
    assert len(pending) == 2 and all(p["status"] == "pending" for p in pending)
    assert "Encounters waiting for their patient" not in page.text  # the front desk's queue (a supervisor sees Claims)


REFUND = "5b1d7f0e-2a44-4c1e-9a57-0c1f3e8d2b61"


def test_a_supervisor_sees_approvals_and_cannot_approve_their_own(console):
    client, provider, backend = console
    backend.on("coding", "GET", "/v1/stats", {})
    backend.on("ar_followup", "GET", "/v1/write-offs", {"items": [
        {"adjustment_id": "a-1", "claim_id": CLAIM, "amount": "305.00", "party": "insurance", "reason_code": "bad_debt",
         "requested_by": "sub-alex", "requested_by_name": "alex.ar", "created_at": "2026-11-30T10:00:00+00:00"},
        {"adjustment_id": "a-2", "claim_id": CLAIM, "amount": "150.00", "party": "insurance", "reason_code": "other",
         "requested_by": "sub-sam.supervisor", "requested_by_name": "sam", "created_at": "2026-11-30T11:00:00+00:00"}],
        "next": None})  # fmt: skip
    backend.on("payments", "GET", "/v1/refunds", {"items": [
        {"refund_id": REFUND, "payment_id": "p-1", "patient_id": "pt-1", "amount": "250.00", "method": "card",
         "status": "pending", "requested_by": "sub-anna.ar", "requested_by_name": "anna.ar",
         "requested_at": "2026-11-30T12:00:00+00:00"}], "next": None})  # fmt: skip
    backend.on("payments", "POST", f"/v1/refunds/{REFUND}/approve", {"refund_id": REFUND, "amount": "250.00",
                                                                "status": "approved"})  # fmt: skip
    csrf = signed_in(client, provider, "supervisor", name="sam.supervisor")
    page = client.get("/approvals").text
    assert page.count(">Approve</button>") == 2 and "your own request: another supervisor decides" in page
    assert "305.00" in page and "4:00 AM CST" in page  # 10:00 UTC in the office's zone
    assert "250.00" in page and f'action="/approvals/refunds/{REFUND}/approve"' in page
    decided = client.post(f"/approvals/refunds/{REFUND}/approve", data={"csrf_token": csrf})
    assert decided.status_code == 303 and decided.headers["location"] == "/approvals"
    assert ("payments", "POST", f"/v1/refunds/{REFUND}/approve") in [c[:3] for c in backend.calls]


def test_a_specialist_cannot_reach_approvals_even_by_posting_the_form(console):
    client, provider, backend = console
    backend.on("ar_followup", "GET", "/v1/work-queue", {"count": 0, "items": [], "next": None})
    csrf = signed_in(client, provider, "ar_specialist", name="anna.ar")
    assert client.get("/approvals").status_code == 403
    assert client.post("/approvals/a-1/approve", data={"csrf_token": csrf}).status_code == 403
    assert client.post(f"/approvals/refunds/{REFUND}/approve", data={"csrf_token": csrf}).status_code == 403
    assert not [c for c in backend.calls if c[1] == "POST"]


def test_the_front_desk_takes_a_payment_once_per_form_and_prints_a_receipt(console):
    client, provider, backend = console
    backend.on("registration", "GET", f"/v1/patients/{PATIENT}", {
        "patient_id": PATIENT, "patient": {"first_name": "Wei", "last_name": "Nguyen", "birth_date": "1970-03-31",
                                           "sex": "F"}, "mrns": [{"facility": "MAIN", "mrn": "M1"}],
        "coverages": [{"rank": "primary", "payer_name": "SIM BLUE", "member_id": "X1", "effective_date": "2024-01-01"}],
        "eligibility": {}})  # fmt: skip
    backend.on("ar_followup", "GET", f"/v1/patients/{PATIENT}/account", {
        "by_party": {"primary": "0.00", "secondary": "0.00", "patient": "45.00"}, "claims": [], "statements": [],
        "payment_plan": None, "next_statement": None})  # fmt: skip
    backend.on(
        "payments", "GET", f"/v1/patients/{PATIENT}/balance", {"claims": [], "total_due": "45.00", "credit": "0.00"}
    )
    backend.on(
        "payments",
        "POST",
        f"/v1/patients/{PATIENT}/payments",
        {"payment_id": "7a1b2c3d-0000-4000-8000-000000000001", "amount": "45.00"},
    )
    backend.on("payments", "GET", "/v1/patient-payments/7a1b2c3d-0000-4000-8000-000000000001", {
        "payment_id": "7a1b2c3d-0000-4000-8000-000000000001", "patient_id": PATIENT, "amount": "45.00", "method": "card", "reference": "4242",
        "received_at": "2026-11-30T18:00:00+00:00", "applications": [{"claim_id": CLAIM, "amount": "45.00"}],
        "unapplied": "0.00"})  # fmt: skip
    backend.on("coding", "GET", "/v1/stats", {})
    csrf = signed_in(client, provider, "front_desk", name="frank.frontdesk")
    account = client.get(f"/patients/{PATIENT}").text
    key = account.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]
    assert "Nguyen, Wei" in account and "<strong>45.00</strong>" in account
    form = {"csrf_token": csrf, "idempotency_key": key, "amount": "45", "method": "card", "reference": "4242"}
    first, second = (
        client.post(f"/patients/{PATIENT}/payments", data=form),
        client.post(f"/patients/{PATIENT}/payments", data=form),
    )
    keys = {c[4]["Idempotency-Key"] for c in backend.calls if c[1] == "POST"}
    assert (
        first.headers["location"] == f"/patients/{PATIENT}/receipts/7a1b2c3d-0000-4000-8000-000000000001"
        and second.status_code == 303
    )
    assert keys == {key}  # the same form twice is the same payment at the payments service
    receipt = client.get(f"/patients/{PATIENT}/receipts/7a1b2c3d-0000-4000-8000-000000000001").text
    assert "$45.00" in receipt and "Wei Nguyen" in receipt and "data-print" in receipt


def test_the_auditor_sees_the_services_trails_merged_by_time(console):
    client, provider, backend = console
    entry = {"agent_who": "sub-frank", "agent_name": "frank.frontdesk", "agent_client": "rcm-console", "action": "R",
             "subtype": "read", "entity_type": "Patient", "entity_id": PATIENT, "patient_id": PATIENT, "outcome": "0",
             "purpose_of_use": "HPAYMT", "source_address": "127.0.0.1"}  # fmt: skip
    for n, service in enumerate(("registration", "coding", "claims", "payments", "ar_followup")):
        backend.on(service, "GET", "/v1/audit", {"entries": [{**entry, "id": n, "recorded": f"2026-11-30T1{n}:00:00+00:00",
                                                              "entity_type": service}], "next": None})  # fmt: skip
    backend.on(
        "registration", "GET", f"/v1/patients/{PATIENT}", {"patient": {"first_name": "Wei", "last_name": "Nguyen"}}
    )
    backend.on("coding", "GET", "/v1/stats", {})
    signed_in(client, provider, "auditor", name="audrey.auditor")
    page = client.get("/audit", params={"patient_id": PATIENT}).text
    order = [page.index(f"<td>{s}</td>") for s in ("registration", "coding", "claims", "payments", "ar followup")]
    assert order == sorted(order) and page.count("frank.frontdesk") == 5 and "Nguyen, Wei" in page
    asked = {c[0]: c[4] for c in backend.calls if c[2] == "/v1/audit"}
    assert all(params["patient_id"] == PATIENT for params in asked.values()) and len(asked) == 5


def test_the_console_logs_routes_and_statuses_never_what_was_searched(console, caplog):
    client, provider, backend = console
    backend.on("registration", "POST", "/v1/patients/search", {"patients": [], "next": None})
    csrf = signed_in(client, provider, "front_desk")
    with caplog.at_level("DEBUG"):
        client.post("/search", data={"csrf_token": csrf, "q": "Nguyen 1970-03-31"})
    logged = [r for r in caplog.records if r.name == "console"]
    assert [(r.method, r.route, r.status) for r in logged] == [("POST", "/search", 200)]
    everything = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Nguyen" not in everything and "1970" not in everything


def test_a_queue_too_long_to_count_says_10_000_plus_on_its_screen_and_at_home(console):
    client, provider, backend = console
    backend.on("ar_followup", "GET", "/v1/work-queue", {"as_of": "2026-12-01", "count": 10000, "count_at_least": True,
                                                        "items": [], "next": None})  # fmt: skip
    backend.on("registration", "GET", "/v1/payers", [])
    backend.on("ar_followup", "GET", "/v1/dashboard", ServiceError("ar_followup", 0))
    backend.on("claims", "GET", "/v1/work-queue", {"total": 10000, "total_at_least": True, "items": [], "next": None})
    backend.on("claims", "GET", "/v1/encounters/waiting", {"items": [], "total": 0, "next": None})
    backend.on("coding", "GET", "/v1/work-queue", {"total": 10000, "total_at_least": True, "items": [], "next": None})
    backend.on("coding", "GET", "/v1/stats", {"queued": 12})
    backend.on("payments", "GET", "/v1/stats", {"claim_payments": {"unmatched": 0}})
    backend.on("ar_followup", "GET", "/v1/write-offs", {"items": [], "next": None})
    backend.on("payments", "GET", "/v1/refunds", {"items": [], "next": None})
    signed_in(client, provider, "supervisor", name="sam.supervisor")
    assert "10,000+ open items" in client.get("/ar").text
    assert "10,000+ claims held before sending" in client.get("/claims").text
    backend.calls.clear()
    assert "10,000+ encounters waiting" in client.get("/coding").text  # counted with the page: no /v1/stats
    assert not [c for c in backend.calls if c[:3] == ("coding", "GET", "/v1/stats")]
    home = client.get("/").text
    assert ">10,000+</span><br>Claims held or rejected" in home and ">10,000+</span><br>Open A/R work items" in home

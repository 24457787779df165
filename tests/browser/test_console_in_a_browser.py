"""The office's day in a real browser (Debian's chromium, driven by Playwright) against the whole
platform, signed in through the real Keycloak login page: each role does its work and the services'
answers show it happened. Every step is screenshot (RCM_BROWSER_SHOTS, default .run/browser-shots) and
fails on a console error, a failed request or a serious accessibility violation (axe-core)."""

import time
import uuid
from decimal import Decimal

import httpx
import pytest

from rcmctl.stack import keycloak
from services.claims.domain.assembly import claim_id_for
from tests.browser.browser import Person

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def person(browser, office, idp, username, shots, **size) -> Person:
    return Person(browser, office.console_url, username, idp.creds.users[username], shots, **size)


def api(office, service: str):
    """The services as the platform's own client (rcm-demo: front desk and supervisor roles) to look behind the screens."""
    return office.platform.client(service, timeout=30)


def eventually(check, timeout: float = 120, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:.0f}s: {check.__doc__ or check}")
        time.sleep(every)


def as_person(idp, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keycloak.access_token(idp.run_dir, username)}"}


def test_a_coder_amends_a_queued_encounter_with_the_code_picker_and_its_claim_goes_out(browser, office, idp, shots):
    carol = person(browser, office, idp, "carol.coder", shots)
    page = carol.page
    page.keyboard.press("Tab")  # keyboard first: the skip link, then the screens
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    queue = carol.visit("/coding", "coder-queue")
    first = queue.locator("table a").first
    encounter = first.inner_text()
    first.click()
    carol.check("encounter")
    assert (
        page.locator("h2", has_text="Suggestions").is_visible() and page.locator("text=Edits that fired").is_visible()
    )
    page.fill("#picker-q", "cough")  # the picker searches as the coder types
    page.locator("[data-add-code='R05.9']").wait_for()
    page.click("[data-add-code='R05.9']")
    assert "R05.9" in page.input_value("#diagnoses")
    carol.check("code-picker")
    page.fill("#diagnoses", "R05.9")
    page.fill("#line-1-pointers", "1")
    page.fill("#amend-note", "coded the documented symptom")
    page.focus("#amend button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/coding")
    carol.check("amended")
    assert f"Encounter {encounter} coded with your codes" in carol.notice()
    assert encounter not in page.locator("table").all_inner_texts().__str__()

    claim = claim_id_for(encounter)
    with api(office, "claims") as claims:
        sent = eventually(lambda: claims.get(f"/v1/claims/{claim}").json().get("status") == "submitted")
    assert sent
    sam = person(browser, office, idp, "sam.supervisor", shots)
    sam.visit(f"/claims/{claim}", "the-claim-went-out")
    timeline = sam.page.locator(".timeline").inner_text()
    assert (
        "Coder amended the codes" in timeline and "carol.coder" in timeline and "Sent to the clearinghouse" in timeline
    )
    assert "CLM*" in sam.page.locator("pre.segments").inner_text()
    carol.close()
    sam.close()


def test_an_ar_specialist_corrects_a_denied_claim_and_the_replacement_is_paid(browser, office, idp, shots):
    anna = person(browser, office, idp, "anna.ar", shots)
    page = anna.visit("/ar?kind=denial", "denials")
    row = page.locator("tr", has_text="correct: CARC 16").first
    claim = row.locator("a").first.get_attribute("href").rsplit("/", 1)[1]
    row.locator("a").first.click()
    anna.check("denied-claim")
    item = page.locator("section.card", has_text="Denial (correctable)")
    if item.locator("details").get_attribute("open") is None:  # open already where the item asks for a correction
        item.locator("summary", has_text="Corrections").click()
    item.locator("input[name=prior_authorization]").fill("PA-2026-0042")
    item.locator("select[name=action]").select_option("correct")
    item.locator("button", has_text="Resolve").click()
    page.wait_for_url(f"**/claims/{claim}")
    anna.check("correction-sent")
    assert "Correction sent" in anna.notice()

    with api(office, "ar_followup") as ar:

        def paid():
            """the original claim's ledger shows the replacement paid"""
            return ar.get(f"/v1/claims/{claim}").json()["status"] in ("paid", "partially_paid")

        eventually(paid, timeout=180)
    page.reload()
    anna.check("replacement-paid")
    timeline = page.locator(".timeline").inner_text()
    assert "Replacement claim (frequency 7) made" in timeline and "Work item resolved" in timeline
    assert "anna.ar" in timeline
    replacement = page.locator("dd a", has_text="replacement").get_attribute("href")
    anna.visit(replacement, "the-replacement")
    assert "Paid by the payer" in page.locator(".timeline").inner_text() and "REF*G1*PA-2026-0042" in page.content()
    anna.close()


def test_a_supervisor_approves_the_write_off_a_specialist_asked_for_and_the_specialist_cannot(
    browser, office, idp, shots
):
    alex = person(browser, office, idp, "alex.ar", shots)
    page = alex.visit("/ar?kind=denial", "denials")
    row = page.locator("tr", has_text="correct: CARC 16").last  # above the approval threshold (100.00)
    claim = row.locator("a").first.get_attribute("href").rsplit("/", 1)[1]
    alex.visit(f"/claims/{claim}", "denied-claim")
    item = page.locator("section.card", has_text="Denial (correctable)")
    item.locator("select[name=action]").select_option("write_off")
    item.locator("input[name=note]").fill("the payer's policy excludes it")
    item.locator("button", has_text="Resolve").click()
    page.wait_for_url(f"**/claims/{claim}")
    alex.check("write-off-requested")
    assert "Write-off requested" in alex.notice()
    alex.watch.allowed = {403}
    refused = page.goto(f"{office.console_url}/approvals")
    assert refused.status == 403 and "Not for your role" in page.content()
    alex.check("approvals-not-for-alex")
    with api(office, "ar_followup") as ar:
        pending = [w for w in ar.get("/v1/write-offs").json()["items"] if w["claim_id"] == claim]
    (request,) = pending
    csrf = page.locator("input[name=csrf_token]").first.input_value()
    forged = page.request.post(f"{office.console_url}/approvals/{request['adjustment_id']}/approve",
                                form={"csrf_token": csrf})  # fmt: skip
    assert forged.status == 403  # the console refuses the form …
    direct = httpx.post(f"{office.platform.url('ar_followup')}/v1/write-offs/{request['adjustment_id']}/approve",
                        headers=as_person(idp, "alex.ar"), timeout=30)  # fmt: skip
    assert direct.status_code == 403  # … and A/R refuses the call, whoever makes it
    alex.close()

    sam = person(browser, office, idp, "sam.supervisor", shots)
    approvals = sam.visit("/approvals", "approvals")
    row = approvals.locator("tr", has_text=claim[:8])
    assert "alex.ar" in row.inner_text()
    row.locator("button", has_text="Approve").click()
    approvals.wait_for_url("**/approvals")
    sam.check("approved")
    assert "approved" in sam.notice()
    with api(office, "ar_followup") as ar:
        decided = ar.get(f"/v1/claims/{claim}").json()["write_offs"]
    assert [(w["status"], w["requested_by_name"], w["decided_by_name"]) for w in decided] == [
        ("approved", "alex.ar", "sam.supervisor")
    ]

    # a refund above the threshold that Anna asked for: Sam approves it on the same screen
    patient_id, _, _ = patient_who_owes(office)
    payments = office.platform.url("payments")
    paid = httpx.post(f"{payments}/v1/patients/{patient_id}/payments", json={"amount": "150.00", "method": "card"},
                      headers=as_person(idp, "frank.frontdesk"), timeout=30)  # fmt: skip
    assert paid.status_code == 201, paid.text
    asked = httpx.post(f"{payments}/v1/patient-payments/{paid.json()['payment_id']}/refunds",
                       json={"amount": "120.00", "method": "card"}, headers=as_person(idp, "anna.ar"), timeout=30)  # fmt: skip
    assert asked.status_code == 202, asked.text
    approvals = sam.visit("/approvals", "refund-to-approve")
    refunds = approvals.locator("table", has=approvals.locator("button[aria-label='Approve the refund of 120.00']"))
    assert "anna.ar" in refunds.inner_text()
    refunds.locator("button[aria-label='Approve the refund of 120.00']").click()
    approvals.wait_for_url("**/approvals")
    sam.check("refund-approved")
    assert "Refund of $120.00 approved" in sam.notice()
    with api(office, "payments") as paying:
        decided = paying.get("/v1/refunds", params={"status": "approved"}).json()["items"]
    assert [(r["amount"], r["requested_by_name"], r["decided_by_name"]) for r in decided] == [
        ("120.00", "anna.ar", "sam.supervisor")
    ]
    sam.close()


def patient_who_owes(office) -> tuple[str, dict, Decimal]:
    with api(office, "ar_followup") as ar, api(office, "registration") as registration:
        owing = ar.get("/v1/aging", params={"by": "patient"}).json()["groups"]
        patient_id, row = max(owing.items(), key=lambda kv: Decimal(kv[1]["total"]))
        return patient_id, registration.get(f"/v1/patients/{patient_id}").json()["patient"], Decimal(row["total"])


def test_the_front_desk_takes_a_payment_and_the_account_shows_it(browser, office, idp, shots):
    patient_id, person_, owed = patient_who_owes(office)
    assert owed > 5
    frank = person(browser, office, idp, "frank.frontdesk", shots, width=820, height=1180)  # a tablet
    page = frank.page
    page.fill("#find-q", f"{person_['last_name']}, {person_['first_name']}")
    page.click("form.find button")
    frank.check("found")
    assert "/search" in page.url and person_["last_name"] not in page.url  # the name travelled in the body
    page.click(f"a[href='/patients/{patient_id}']")
    frank.check("account")
    before = Decimal(page.locator("td.num strong").first.inner_text().replace(",", ""))
    page.fill("#pay-amount", "5.00")
    page.select_option("#pay-method", "card")
    page.fill("#pay-ref", "4242")
    page.click("button:has-text('Take the payment')")
    page.wait_for_url("**/receipts/**")
    frank.check("receipt")
    assert (
        "$5.00" in page.locator(".receipt").inner_text()
        and person_["first_name"] in page.locator(".receipt").inner_text()
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # readable on a tablet

    def shows_it():
        """the account shows the payment"""
        page.goto(f"{office.console_url}/patients/{patient_id}")
        return Decimal(page.locator("td.num strong").first.inner_text().replace(",", "")) == before - Decimal("5.00")

    eventually(shows_it, timeout=60, every=2)
    frank.check("account-after-payment")
    frank.close()


def test_the_front_desk_registers_a_walk_in_patient_and_the_payer_answers_eligibility(browser, office, idp, shots):
    mrn = f"WALK-{uuid.uuid4().hex[:8].upper()}"
    frank = person(browser, office, idp, "frank.frontdesk", shots)
    page = frank.visit("/patients", "patients")
    page.click("text=Register a patient")
    frank.check("register-blank")
    for field, value in {"#last_name": "Quintero", "#first_name": "Lucía", "#birth_date": "1991-07-04",
                         "#phone": "(217) 555-0107", "#mrn": mrn, "#line1": "9 Oak Ave", "#city": "Springfield",
                         "#state": "IL", "#postal_code": "62702", "#member_id": f"M{mrn[-8:]}",
                         "#effective_date": "2026-01-01"}.items():  # fmt: skip
        page.fill(field, value)
    page.select_option("#sex", "F")
    page.select_option("#payer_id", "SIMBC")
    page.click("button:has-text('Register the patient')")
    page.wait_for_url("**/patients/*-*")
    frank.check("registered")
    assert "Patient registered." in frank.notice() and "asked about eligibility" in frank.notice()
    assert mrn not in page.url and "Quintero" not in page.url
    with api(office, "registration") as registration:
        found = registration.post("/v1/patients/search", json={"mrn": mrn}).json()["patients"]
    assert [p["patient_id"] for p in found] == [page.url.rsplit("/", 1)[1]]

    def answered():
        """the payer's 271 shows on the account"""
        page.reload()
        return page.locator("td .badge.ok", has_text="active").count() == 1

    eventually(answered, timeout=90, every=3)
    frank.check("eligibility-answered")
    frank.close()


def test_a_biller_fixes_a_held_claim_and_posts_a_payment_nobody_could_match(browser, office, idp, shots):
    bill = person(browser, office, idp, "bill.biller", shots)
    page = bill.visit("/claims", "claims-to-fix")
    held = page.locator("tr", has_text="line.duplicate").first
    claim = held.locator("a").first.get_attribute("href").rsplit("/", 1)[1]
    held.locator("a").first.click()
    bill.check("held-claim")
    assert "line 3: procedure code" in page.locator("table").first.inner_text()
    page.fill("#f-line-3-modifiers", "91")
    page.click("button:has-text('Resubmit the claim')")
    page.wait_for_url(f"**/claims/{claim}")
    bill.check("resubmitted")
    assert "goes out with the next 837P batch" in bill.notice()
    with api(office, "claims") as claims:
        eventually(lambda: claims.get(f"/v1/claims/{claim}").json().get("acknowledgement") == "accepted", timeout=120)
    page.reload()
    bill.check("sent-and-accepted")
    timeline = page.locator(".timeline").inner_text()
    assert "Fixed and made again by a biller" in timeline and "bill.biller" in timeline
    assert "999: the clearinghouse accepted it" in timeline and "277CA: the payer's front end accepted it" in timeline
    assert "SV1*HC:36415:91" in page.locator("pre.segments").inner_text()

    # the payer's late payment under a mistyped claim number: posted to the claim it pays, once
    payments = bill.visit("/payments", "payments-to-match")
    card = payments.locator("section.card", has_text="a claim number we never sent").first
    card.locator("input[type=radio]").first.check()
    chosen = card.locator("input[type=radio]").first.get_attribute("value")
    card.locator("button", has_text="Post the payment").click()
    payments.wait_for_url("**/payments")
    bill.check("payment-posted")
    assert f"posted to claim {chosen[:8]}" in bill.notice()
    with api(office, "payments") as paid:
        assert paid.get(f"/v1/claims/{chosen}/payments").json()["postings"]  # the claim is paid now
    bill.close()


def test_an_auditor_finds_every_access_to_one_patient(browser, office, idp, shots):
    patient_id, person_, _ = patient_who_owes(office)
    frank = person(browser, office, idp, "frank.frontdesk", shots)
    frank.visit(f"/patients/{patient_id}", "front-desk-reads-the-account")
    frank.close()
    audrey = person(browser, office, idp, "audrey.auditor", shots)
    page = audrey.page
    page.fill("#find-q", person_["last_name"])
    page.click("form.find button")
    audrey.check("found")
    page.locator(f"a[href='/audit?patient_id={patient_id}']").first.click()
    audrey.check("trail")
    shown = set()
    while True:
        rows = page.locator("table tbody tr")
        for n in range(rows.count()):
            cells = rows.nth(n).locator("td").all_inner_texts()
            shown.add((cells[5].strip(), cells[0].strip(), cells[1].split("\n")[0].strip(), cells[3].strip()))
        following = page.locator("a[rel=next]")
        if not following.count():
            break
        following.click()
        audrey.check("trail-next-page")
    expected = set()
    headers = as_person(idp, "audrey.auditor")
    for service in ("registration", "coding", "claims", "payments", "ar_followup"):
        cursor = None
        while True:
            answer = httpx.get(f"{office.platform.url(service)}/v1/audit", headers=headers, timeout=30,
                               params={"patient_id": patient_id, "limit": 1000, **({"cursor": cursor} if cursor else {})}).json()  # fmt: skip
            for e in answer["entries"]:
                if e["agent_name"] != "audrey.auditor":  # the auditor's own reads go on while she browses
                    expected.add((service.replace("_", " "), e["entity_type"], e["agent_name"], e["entity_id"][:12]))
            cursor = answer["next"]
            if cursor is None:
                break
    seen = {(s, what.split(" ")[0], who, what.split(" ")[-1]) for s, _, who, what in shown}
    assert expected and expected <= seen, sorted(expected - seen)[:5]
    assert {("registration", "Patient", "frank.frontdesk"), ("ar followup", "Account", "frank.frontdesk"),
            ("payments", "Account", "frank.frontdesk")} <= {(s, t, w) for s, t, w, _ in seen}  # fmt: skip
    audrey.close()


def test_every_screen_reads_at_1280_px_and_on_a_tablet(browser, office, idp, shots):
    """The other tests work at 1280 px (the front desk on a tablet); here every screen at 768 px too."""
    for width, height, paths in ((1280, 900, ("/",)), (768, 1024, ("/", "/coding", "/claims", "/payments", "/ar",
                                                                    "/approvals", "/patients"))):  # fmt: skip
        sam = person(browser, office, idp, "sam.supervisor", shots, width=width, height=height)
        for path in paths:
            page = sam.visit(path, f"{width}px{path.replace('/', '-') or '-home'}")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
                f"{path} scrolls sideways at {width} px"
            )
        sam.close()

"""The console's view models: charts, a claim's timeline, the auditor's merged trail, forms, claims, the
home page's queue counts."""

import re
from datetime import UTC, datetime
from decimal import Decimal

from services.console.domain import audit, charts, claims, dashboard, forms, queues
from services.console.domain.timeline import SYSTEM, timeline


def test_a_stacked_bar_chart_has_a_bar_per_value_a_title_and_its_numbers():
    chart = charts.stacked_bars("aging", "Open A/R", ["0-30", "31-60"],
                                [("Insurance", [Decimal("1200.50"), Decimal(0)]), ("Patient", [Decimal(30), Decimal(5)])])  # fmt: skip
    assert chart.svg.count("<rect") == 4 and 'role="img"' in chart.svg and '<title id="aging-title">' in chart.svg
    assert chart.rows == [["0-30", "$1,200.50", "$30.00", "$1,230.50"], ["31-60", "$0.00", "$5.00", "$5.00"]]
    assert chart.legend == [("s0", "Insurance"), ("s1", "Patient")] and "style=" not in chart.svg
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"', chart.svg)]
    assert heights[0] > heights[1] > 0  # the bars are drawn to scale


def test_chart_text_is_escaped_and_axes_are_round_numbers():
    chart = charts.horizontal_bars("d", "Denials", [("<b>x</b>", Decimal("12.5")), ("other", None)])
    assert "<b>" not in chart.svg and "&lt;b&gt;" in chart.svg and chart.rows[1] == ["other", "\u2013"]
    assert charts.nice_top(Decimal(1234)) == 2000 and charts.nice_top(Decimal(0)) == 1
    assert charts.nice_top(Decimal(240)) == 250 and charts.compact(Decimal(12500), "$") == "$12.5k"


def test_lines_leave_a_gap_for_a_month_without_a_value():
    chart = charts.lines("t", "Days in A/R", ["Jan", "Feb", "Mar"], [("Days", [Decimal(30), None, Decimal(40)])], " d")
    assert chart.svg.count("<circle") == 2 and chart.rows[1] == ["Feb", "\u2013"]


def test_the_dashboard_becomes_four_charts():
    figures = {
        "aging": [{"bucket": "0-30", "insurance": "100.00", "patient": "20.00"}],
        "denials": {"by_category": {"correctable": "5.0", "medical_necessity": "1.2"}},
        "collections": {"months": ["2026-10-01", "2026-11-01"], "series": {"SIMBC": ["10.00", "20.00"]}},
        "days_in_ar": [{"month": "2026-11-01", "days_in_ar": "31.5", "open_ar": "1.00"}],
    }
    made = dashboard.charts(figures)
    assert [c.key for c in made] == ["aging", "denials", "collections", "days-in-ar"]
    assert made[1].rows[0] == ["Correctable", "5.0%"] and made[2].columns[1] == "SIMBC"
    assert made[2].rows[0][0] == "Oct 26"


def test_a_claims_timeline_is_every_services_events_in_time_order_with_who_and_which_file():
    history = {
        "claim": {"created_at": "2026-11-02T10:00:00+00:00", "status": "submitted", "findings": [],
                  "total_charge": "220.00", "payer_name": "SIM BLUE"},
        "sent_in": {"file_name": "837-1.x12", "interchange_control_number": 7, "delivered_at": "2026-11-02T10:01:00+00:00"},
        "events": [
            {"kind": "999", "file_name": "999-1.x12", "accepted": True, "at": "2026-11-02T10:02:00+00:00", "detail": []},
            {"kind": "277CA", "file_name": "277-1.x12", "accepted": False, "at": "2026-11-02T10:03:00+00:00",
             "detail": [{"code": "A7:164", "message": "member not found"}]},
            {"kind": "fixed", "at": "2026-11-02T09:59:00+00:00", "actor": "sub-1", "actor_name": "bill.biller",
             "detail": [{"code": "line.duplicate", "message": "the same code twice"}]},
        ],
        "follow_ups": [{"kind": "replacement", "claim_id": "c2", "status": "submitted", "created_at": "2026-11-05T00:00:00+00:00"}],
    }  # fmt: skip
    coding = [{"encounter_id": "E1", "at": "2026-11-01T15:00:00+00:00", "actor": "sub-c", "actor_name": "carol.coder",
               "action": "amended", "diagnoses": ["E119"], "service_lines": [{"procedure_code": "99213"}]}]  # fmt: skip
    payments = {"postings": [{"posted_at": "2026-11-06T00:00:00+00:00", "claim_status": "1", "paid": "110.4",
                              "file_name": "SIMBC.835.x12", "trace_number": "T1", "payment_date": "2026-11-06"}]}  # fmt: skip
    ar = {"ledger": [{"kind": "charge", "amount": "220.00", "created_at": "2026-11-02T10:01:30+00:00"}],
          "work_items": [{"kind": "denial", "category": "correctable", "created_at": "2026-11-04T00:00:00+00:00",
                          "resolved_at": "2026-11-04T12:00:00+00:00", "resolved_by_name": "anna.ar",
                          "resolution": "correct by anna.ar", "reason": "CO-16", "amount": "305.00"}],
          "write_offs": []}  # fmt: skip
    events = timeline(history, coding, payments, ar)
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert events[0].actor == "carol.coder" and "amended" in events[0].what
    assert ("bill.biller", "claims") in {(e.actor, e.service) for e in events}
    documents = [e.document for e in events if e.document]
    assert documents == ["837P 837-1.x12 (interchange 7)", "999 999-1.x12", "277CA 277-1.x12",
                         "835 SIMBC.835.x12 (check/EFT T1, 2026-11-06)"]  # fmt: skip
    rejected = next(e for e in events if e.document.startswith("277CA"))
    assert "rejected" in rejected.what and "member not found" in rejected.detail and rejected.actor == SYSTEM
    assert any(e.what.startswith("Work item resolved") and e.actor == "anna.ar" for e in events)
    assert any(e.what == "Replacement claim (frequency 7) made" for e in events)


def test_a_timeline_without_the_parts_a_role_may_not_read_is_still_a_timeline():
    assert timeline(None, None, None, None) == []
    only = timeline({"claim": {"created_at": None, "status": "held", "findings": [{"code": "price.missing"}]}})
    assert only[0].what == "Claim made and held" and only[0].at is None and "price.missing" in only[0].detail


def entry(n: int, minute: int) -> dict:
    return {"id": n, "recorded": datetime(2026, 11, 30, 10, minute, tzinfo=UTC).isoformat()}


def test_the_audit_trails_of_the_services_merge_by_time_a_page_at_a_time():
    everything = {"registration": [entry(1, 1), entry(2, 4), entry(3, 6)], "claims": [entry(10, 2), entry(11, 3)]}
    positions = audit.decode(None, list(everything))
    seen = []
    while positions is not None:
        fetched = {}
        for service, entries in everything.items():
            if positions[service] == audit.END:
                continue
            after = int(positions[service] or 0)
            rest = [e for e in entries if e["id"] > after]
            fetched[service] = (rest[:2], len(rest) > 2)
        page = audit.merge(fetched, positions, limit=2)
        seen += [(e["service"], e["id"]) for e in page.entries]
        positions = audit.decode(audit.encode(page.next), list(everything)) if page.next else None
    assert seen == [("registration", 1), ("claims", 10), ("claims", 11), ("registration", 2), ("registration", 3)]


def test_a_cursor_that_is_not_ours_starts_from_the_beginning():
    assert audit.decode("not-a-cursor", ["coding"]) == {"coding": None}
    assert audit.decode(audit.encode({"coding": "5", "x": "y"}), ["coding", "claims"]) == {
        "coding": "5",
        "claims": None,
    }


def test_an_amendment_form_becomes_coding_s_body_or_says_which_field_is_wrong():
    good = forms.amendment({"diagnoses": "e11.9, I10", "line-1-code": "99214", "line-1-pointers": "1 2",
                            "line-2-code": "", "note": "per the note"}, rows=2)  # fmt: skip
    assert good.ok and good.body == {
        "diagnoses": ["E11.9", "I10"],
        "service_lines": [{"procedure_code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}],
        "note": "per the note",
    }
    bad = forms.amendment({"diagnoses": "E11.9, X", "line-1-code": "9921", "line-1-pointers": "3",
                           "line-1-modifiers": "25 ABC"}, rows=1)  # fmt: skip
    assert set(bad.problems) == {"diagnoses", "line-1-code", "line-1-modifiers", "line-1-pointers"}


def test_a_correction_names_only_what_changed():
    billed = [{"line_number": 1, "procedure_code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
              {"line_number": 2, "procedure_code": "71046", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}]  # fmt: skip
    form = {"diagnoses": "R07.89", "prior_authorization": "PA-123", "line-1-code": "99214", "line-1-pointers": "1",
            "line-2-code": "71046", "line-2-modifiers": "26", "line-2-pointers": "1"}  # fmt: skip
    read = forms.changes(form, billed, ["R0789"], None)
    assert read.ok and read.body == {
        "prior_authorization": "PA-123",
        "lines": [{"line_number": 2, "modifiers": ["26"]}],
    }
    assert forms.changes({**form, "prior_authorization": "no spaces!"}, billed, ["R0789"], None).problems


def test_money_forms():
    assert forms.patient_payment({"amount": "40", "method": "card", "reference": "1234"}).body == {
        "amount": "40.00", "method": "card", "reference": "1234"}  # fmt: skip
    assert set(forms.patient_payment({"amount": "-1", "method": "gold"}).problems) == {"amount", "method"}
    assert forms.write_off({"amount": "125.5", "reason_code": "bad_debt"}).body["amount"] == "125.50"


def test_findings_are_split_into_problem_and_fix():
    (shown,) = claims.problems([{"field": "lines[1].procedure_code", "code": "line.duplicate",
                                 "message": "the same code twice; fix: add 76, 77 or 91"}])  # fmt: skip
    assert (shown.problem, shown.fix) == ("the same code twice", "add 76, 77 or 91")
    assert shown.where == "line 2: procedure code"  # the service counts lines from 0, people from 1


def test_a_claim_bills_its_encounters_lines_on_through_with_merged_diagnoses():
    lines, diagnoses, authorization = claims.billed([
        {"diagnoses": ["E119", "I10"], "service_lines": [{"line_number": 1, "procedure_code": "99214",
                                                          "diagnosis_pointers": [1, 2]}]},
        {"diagnoses": ["I10"], "prior_authorization": "PA-9",
         "service_lines": [{"line_number": 1, "procedure_code": "93000", "diagnosis_pointers": [1]}]},
    ])  # fmt: skip
    assert diagnoses == ["E119", "I10"] and authorization == "PA-9"
    assert [(line["line_number"], line["diagnosis_pointers"]) for line in lines] == [(1, [1, 2]), (2, [2])]
    values = claims.form_values(lines, diagnoses, authorization)
    assert values["diagnoses"] == "E11.9, I10" and values["line-2-pointers"] == "2"


def test_837_segments_name_the_loops_they_open():
    named = claims.segments(["HL*2*1*22*0", "SBR*P*18", "CLM*PCN1*220", "LX*1", "SV1*HC:99214*180"])
    assert [(s.text[:3], s.loop) for s in named] == [("HL*", "2000B subscriber"), ("SBR", ""), ("CLM", "2300 claim"),
                                                      ("LX*", "2400 service line"), ("SV1", "")]  # fmt: skip


def test_a_supervisors_approvals_count_write_offs_and_refunds_together():
    write_offs = {"items": [{"adjustment_id": "a-1"}, {"adjustment_id": "a-2"}], "next": None}
    refunds = {"items": [{"refund_id": "r-1"}], "next": None}
    card = queues.approvals(write_offs, refunds)
    assert (card.figure, card.hint, card.link) == ("3", "2 write-offs, 1 refund", "/approvals")
    more = queues.approvals({"items": [], "next": None}, {"items": [{"refund_id": "r-1"}], "next": "c"})
    assert (more.figure, more.hint) == ("1+", "0 write-offs, 1 refund")  # a longer list than was asked for


def test_the_encounters_waiting_for_their_patient_are_the_front_desks_to_register():
    card = queues.waiting({"items": [], "total": 130, "next": None})  # counted by claims, none listed
    assert (card.figure, card.link) == ("130", "/patients#waiting") and "register the patient" in card.hint
    assert queues.waiting({"items": [], "total": 0, "next": None}).figure == "0"

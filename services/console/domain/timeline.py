"""One claim from its encounter to its last payment: every event the services recorded, with its time,
who did it (a person, or the system), the document it appeared in (837P, 999, 277CA, 835) and what it
changed, in time order. Each service's part is optional: a role that may not read it sees the rest."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.console.domain.formatting import money

SYSTEM = "system"
CODING_ACTIONS = {
    "auto_coded": "Coded automatically",
    "queued": "Queued for a coder",
    "accepted": "Coder accepted the codes",
    "amended": "Coder amended the codes",
    "rejected": "Rejected at coding (the sender must fix it)",
    "corrected": "The EHR's correction coded",
    "voided": "The EHR voided the encounter",
}
FOLLOW_UPS = {"replacement": "Replacement claim (frequency 7)", "void": "Void (frequency 8)",
              "secondary": "Claim to the secondary payer"}  # fmt: skip
LEDGER = {
    "charge": "Charge booked",
    "payment": "Insurance payment",
    "contractual": "Contractual adjustment",
    "other_adjustment": "Other adjustment",
    "deductible": "Patient responsibility: deductible",
    "coinsurance": "Patient responsibility: coinsurance",
    "copay": "Patient responsibility: copay",
    "other_patient": "Patient responsibility: other",
    "write_off": "Written off",
    "denial_reversal": "Denial write-off reversed (reconsidered)",
    "secondary_adjustment": "Secondary payer's adjustment",
    "patient_payment": "Patient payment",
    "patient_write_off": "Patient balance written off",
}


@dataclass(frozen=True)
class Event:
    at: datetime | None
    service: str
    what: str
    actor: str = SYSTEM
    document: str = ""
    detail: str = ""


def timeline(claims: Mapping[str, Any] | None = None, coding: Sequence[Mapping[str, Any]] | None = None,
             payments: Mapping[str, Any] | None = None, ar: Mapping[str, Any] | None = None) -> list[Event]:  # fmt: skip
    """Every service's events about the claim, oldest first (an event without a time last)."""
    events = [*_coding(coding or []), *_claims(claims), *_payments(payments), *_ar(ar)]
    return sorted(events, key=lambda e: (e.at is None, e.at or datetime.max.replace(tzinfo=UTC)))


def _when(value: object) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _person(name: object, subject: object = None) -> str:
    if subject in (None, "", "auto") and not name:
        return SYSTEM
    return str(name or subject)


def _coding(history: Sequence[Mapping[str, Any]]) -> list[Event]:
    events = []
    for entry in history:
        codes = ", ".join(entry.get("diagnoses", []))
        lines = ", ".join(line.get("procedure_code", "") for line in entry.get("service_lines", []))
        detail = f"Diagnoses {codes}; procedures {lines}" + (f"; note: {entry['note']}" if entry.get("note") else "")
        events.append(Event(_when(entry.get("at")), "coding",
                            f"Encounter {entry.get('encounter_id')}: "
                            f"{CODING_ACTIONS.get(entry.get('action', ''), entry.get('action', ''))}",
                            _person(entry.get("actor_name"), entry.get("actor")), detail=detail))  # fmt: skip
    return events


def _claims(history: Mapping[str, Any] | None) -> list[Event]:
    if not history:
        return []
    claim = history["claim"]
    made = "Claim made and held" if claim.get("status") == "held" or claim.get("findings") else "Claim made"
    found = "; ".join(f.get("code", "") for f in claim.get("findings", []))
    events = [Event(_when(claim.get("created_at")), "claims", made, detail=f"Held for: {found}" if found else
                    f"Charge {money(claim.get('total_charge'))} to {claim.get('payer_name') or claim.get('payer_id')}")]  # fmt: skip
    sent = history.get("sent_in")
    if sent:
        document = f"837P {sent['file_name']} (interchange {sent['interchange_control_number']})"
        events.append(Event(_when(sent.get("delivered_at") or sent.get("created_at")), "claims",
                            "Sent to the clearinghouse", document=document))  # fmt: skip
    for event in history.get("events", []):
        events.append(_claim_event(event))
    for follow in history.get("follow_ups", []):
        what = FOLLOW_UPS.get(follow.get("kind", ""), follow.get("kind", ""))
        events.append(Event(_when(follow.get("created_at")), "claims", f"{what} made",
                            detail=f"Claim {follow.get('claim_id')}, {follow.get('status')}"))  # fmt: skip
    return events


def _claim_event(event: Mapping[str, Any]) -> Event:
    reasons = "; ".join(str(r.get("message") or r.get("code")) for r in event.get("detail", []) if isinstance(r, dict))
    if event.get("kind") == "fixed":
        return Event(_when(event.get("at")), "claims", "Fixed and made again by a biller",
                     _person(event.get("actor_name"), event.get("actor")), detail=f"Was held for: {reasons}")  # fmt: skip
    verdict = "accepted" if event.get("accepted") else "rejected"
    kind = str(event.get("kind"))
    source = "the clearinghouse" if kind == "999" else "the payer's front end"
    return Event(_when(event.get("at")), "claims", f"{kind}: {source} {verdict} it",
                 document=f"{kind} {event.get('file_name') or ''}".strip(), detail=reasons)  # fmt: skip


def _payments(answer: Mapping[str, Any] | None) -> list[Event]:
    events = []
    for posting in (answer or {}).get("postings", []):
        status = posting.get("claim_status")
        what = {"4": "Denied by the payer", "22": "Payment reversed by the payer"}.get(str(status), "Paid by the payer")
        detail = (f"Paid {money(posting.get('paid'))}, patient responsibility "
                  f"{money(posting.get('patient_responsibility'))}; payer claim number "
                  f"{posting.get('payer_claim_control_number')}")  # fmt: skip
        document = (
            f"835 {posting.get('file_name')} (check/EFT {posting.get('trace_number')}, {posting.get('payment_date')})"
        )
        events.append(Event(_when(posting.get("posted_at")), "payments", what, document=document, detail=detail))
    return events


def _ar(claim: Mapping[str, Any] | None) -> list[Event]:
    if not claim:
        return []
    events = [Event(_when(e.get("created_at")), "A/R", LEDGER.get(e.get("kind", ""), e.get("kind", "")),
                    detail=money(e.get("amount"))) for e in claim.get("ledger", [])]  # fmt: skip
    for item in claim.get("work_items", []):
        topic = f"{item.get('kind')}{' (' + item['category'] + ')' if item.get('category') else ''}"
        events.append(Event(_when(item.get("created_at")), "A/R", f"Work item opened: {topic}",
                            detail=f"{item.get('reason', '')} {money(item.get('amount'))}".strip()))  # fmt: skip
        if item.get("resolved_at"):
            events.append(Event(_when(item.get("resolved_at")), "A/R", f"Work item resolved: {topic}",
                                _person(item.get("resolved_by_name"), item.get("resolved_by")),
                                detail=str(item.get("resolution") or "")))  # fmt: skip
    for write_off in claim.get("write_offs", []):
        decided = write_off.get("decided_by_name")
        detail = f"{write_off.get('reason_code')}, {write_off.get('status')}" + (f" by {decided}" if decided else "")
        events.append(Event(_when(write_off.get("created_at")), "A/R",
                            f"Write-off of {money(write_off.get('amount'))} requested",
                            _person(write_off.get("requested_by_name"), write_off.get("requested_by")), detail=detail))  # fmt: skip
    return events

"""The simulated payers' claim status desk: 276 files in, 277 files out.

<root>/claim-status/outbound/*.276.x12   status requests (A/R, for claims with no answer)
<root>/claim-status/inbound/<stem>.277.x12   one answer each
<root>/claim-status/archive/             answered requests; unreadable ones go to rejected/ with a reason

What the payer knows is what it adjudicated: every claim of every 835 it sent is recorded in its
own book (the provider moves the 835 files away, the payer's memory must not depend on that).
Processed (CLP02 1, 2, 3) answers F1:65 with the amount paid, denied (4) F2:1 (see the remittance
advice), a claim it accepted and sits on (a pended member, see the contracts) P1:20 (in process), a
claim it never saw A4:35 (not found)."""

import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from payer_simulator.desk import RequestDesk
from x12.envelope import Envelope
from x12.remittance import ClaimPayment
from x12.x276 import StatusRequest, parse_276
from x12.x277_status import ClaimStatusAnswer, render_277_status

_SCHEMA = """CREATE TABLE IF NOT EXISTS adjudicated (
    patient_control_number TEXT PRIMARY KEY, payer_claim_control_number TEXT NOT NULL, status TEXT NOT NULL,
    charge TEXT NOT NULL, paid TEXT NOT NULL, adjudicated_on TEXT NOT NULL)"""


PENDED = "pended"  # the book's status for a claim accepted and not adjudicated


class StatusBook:
    """The payer's record of adjudicated claims (SQLite; a connection per call, so threads may share it)."""

    def __init__(self, path: Path):
        self.path = path
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, remitted: Iterable[ClaimPayment], on: date) -> None:
        """The claim payments of the 835s just written, in their order (a claim's last one stands)."""
        rows = [
            (
                c.patient_control_number,
                c.payer_claim_control_number,
                c.status,
                str(c.charge),
                str(c.paid),
                on.isoformat(),
            )
            for c in remitted
        ]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO adjudicated VALUES (?, ?, ?, ?, ?, ?)", rows)

    def record_pended(self, pended: Iterable, on: date) -> None:
        """Claims accepted into adjudication and left there (respond.Pended): in process, nothing paid."""
        rows = [
            (p.patient_control_number, p.payer_claim_control_number, PENDED, str(p.charge), "0.00", on.isoformat())
            for p in pended
        ]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO adjudicated VALUES (?, ?, ?, ?, ?, ?)", rows)

    def find(self, patient_control_number: str) -> tuple[str, str, Decimal, Decimal, date] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT payer_claim_control_number, status, charge, paid, adjudicated_on FROM adjudicated"
                " WHERE patient_control_number = ?",
                (patient_control_number,),
            ).fetchone()
        if row is None:
            return None
        return row[0], row[1], Decimal(row[2]), Decimal(row[3]), date.fromisoformat(row[4])


def answer(request: StatusRequest, book: StatusBook, today: date) -> ClaimStatusAnswer:
    common = {"trace_number": request.trace_number, "patient_control_number": request.patient_control_number}
    found = book.find(request.patient_control_number)
    if found is None:
        return ClaimStatusAnswer(**common, category="A4", status="35", effective=today, charge=request.charge)
    number, status, charge, paid, on = found
    if status == PENDED:
        return ClaimStatusAnswer(
            **common, category="P1", status="20", effective=on, charge=charge, payer_claim_control_number=number
        )
    denied = status == "4"
    return ClaimStatusAnswer(
        **common,
        category="F2" if denied else "F1",
        status="1" if denied else "65",
        effective=on,
        charge=charge,
        paid=paid,
        payer_claim_control_number=number,
    )


def respond(text: str, book: StatusBook, control_number: int, now: datetime | None = None) -> str:
    """The 277 for one 276 document (sender and receiver swapped)."""
    now = now or datetime.now()
    env, request = parse_276(text)
    reply = Envelope(
        sender_id=env.receiver_id,
        receiver_id=env.sender_id,
        control_number=control_number,
        group_control_number=control_number,
        created=now,
        usage=env.usage,
        functional_id="HN",
        version=env.version,
    )
    return render_277_status(request, answer(request, book, now.date()), reply)


def ClaimStatusDesk(root: Path, book: StatusBook) -> RequestDesk:
    """276s in, 277s out."""
    return RequestDesk(root, "claim-status", "276", "277", lambda text, control: respond(text, book, control))

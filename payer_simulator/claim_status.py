"""The simulated payers' claim status desk: 276 files in, 277 files out.

<root>/claim-status/outbound/*.276.x12   status requests (A/R, for claims with no answer)
<root>/claim-status/inbound/<stem>.277.x12   one answer each
<root>/claim-status/archive/             answered requests; unreadable ones go to rejected/ with a reason

What the payer knows is what it adjudicated: every claim of every 835 it sent is recorded in its
own book (the provider moves the 835 files away, the payer's memory must not depend on that).
Processed (CLP02 1, 2, 3) answers F1:65 with the amount paid, denied (4) F2:1 (see the remittance
advice), a claim it never adjudicated A4:35 (not found)."""

import logging
import sqlite3
import threading
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from payer_simulator.simulator import write_atomically
from x12.envelope import Envelope
from x12.errors import X12Error
from x12.x276 import StatusRequest, parse_276
from x12.x277_status import ClaimStatusAnswer, render_277_status
from x12.x835 import parse_835

log = logging.getLogger("payer_simulator.claim_status")
_SCHEMA = """CREATE TABLE IF NOT EXISTS adjudicated (
    patient_control_number TEXT PRIMARY KEY, payer_claim_control_number TEXT NOT NULL, status TEXT NOT NULL,
    charge TEXT NOT NULL, paid TEXT NOT NULL, adjudicated_on TEXT NOT NULL)"""


class StatusBook:
    """The payer's record of adjudicated claims (SQLite; a connection per call, so threads may share it)."""

    def __init__(self, path: Path):
        self.path = path
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, remittances: Iterable[str], on: date) -> None:
        rows = [(c.patient_control_number, c.payer_claim_control_number, c.status, str(c.charge), str(c.paid),
                 on.isoformat())
                for text in remittances for r in parse_835(text).remittances for c in r.claims]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO adjudicated VALUES (?, ?, ?, ?, ?, ?)", rows)

    def find(self, patient_control_number: str) -> tuple[str, str, Decimal, Decimal, date] | None:
        with self._connect() as db:
            row = db.execute("SELECT payer_claim_control_number, status, charge, paid, adjudicated_on FROM adjudicated"
                             " WHERE patient_control_number = ?", (patient_control_number,)).fetchone()
        if row is None:
            return None
        return row[0], row[1], Decimal(row[2]), Decimal(row[3]), date.fromisoformat(row[4])


def answer(request: StatusRequest, book: StatusBook, today: date) -> ClaimStatusAnswer:
    common = {"trace_number": request.trace_number, "patient_control_number": request.patient_control_number}
    found = book.find(request.patient_control_number)
    if found is None:
        return ClaimStatusAnswer(**common, category="A4", status="35", effective=today, charge=request.charge)
    number, status, charge, paid, on = found
    denied = status == "4"
    return ClaimStatusAnswer(**common, category="F2" if denied else "F1", status="1" if denied else "65",
                             effective=on, charge=charge, paid=paid, payer_claim_control_number=number)


def respond(text: str, book: StatusBook, control_number: int, now: datetime | None = None) -> str:
    """The 277 for one 276 document (sender and receiver swapped)."""
    now = now or datetime.now()
    env, request = parse_276(text)
    reply = Envelope(sender_id=env.receiver_id, receiver_id=env.sender_id, control_number=control_number,
                     group_control_number=control_number, created=now, usage=env.usage, functional_id="HN",
                     version=env.version)
    return render_277_status(request, answer(request, book, now.date()), reply)


class ClaimStatusDesk:
    def __init__(self, root: Path, book: StatusBook):
        self.root, self.book = Path(root) / "claim-status", book
        self.outbound, self.inbound = self.root / "outbound", self.root / "inbound"
        self.archive, self.rejected = self.root / "archive", self.root / "rejected"
        for folder in (self.outbound, self.inbound, self.archive, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        return sorted(p for p in self.outbound.glob("*.276.x12") if not p.name.startswith("."))

    def handle(self, path: Path) -> None:
        try:
            control = int(datetime.now().strftime("%H%M%S%f")[:9]) or 1
            reply = respond(path.read_text(encoding="utf-8"), self.book, control)
            write_atomically(self.inbound / path.name.replace(".276.x12", ".277.x12"), reply)
            path.replace(self.archive / path.name)
            log.info("answered 276 %s", path.name)
        except (X12Error, UnicodeDecodeError, ValueError) as exc:
            write_atomically(self.rejected / f"{path.name}.reason.txt", f"{type(exc).__name__}: {exc}\n")
            path.replace(self.rejected / path.name)
            log.warning("rejected 276 %s (%s)", path.name, type(exc).__name__)

    def run(self, stop: threading.Event, poll: float = 0.2, once: bool = False) -> None:
        while not stop.is_set():
            for path in self.pending():
                self.handle(path)
            if once:
                return
            stop.wait(poll)

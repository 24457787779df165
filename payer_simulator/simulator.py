"""The clearinghouse directory loop: 837 files in, 999 and 835 files out.

<root>/outbound/*.x12        837P files from the claims service (or any other submitter)
<root>/inbound/999/          <stem>.999.x12 for every file that could be read as an interchange: each
                             transaction set accepted, or rejected with the segment, position, loop,
                             element and code of every guide rule it breaks (IK3/IK4/IK5)
<root>/inbound/277/          <stem>.<payer id>.277.x12, each payer's 277CA: claims accepted or rejected
                             (a claim breaking a business rule is rejected alone, with its status code)
<root>/inbound/835/          <stem>.<payer id>.835.x12, one per payer with accepted claims
<root>/archive/              837s once answered
<root>/rejected/             837s with nothing accepted, each with <name>.reason.txt

Every file is written to a dot-named temp file and renamed, so readers never see half of one.
Logs name files and counts, never patient data.
"""

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from payer_simulator.domain.contracts import Contract
from payer_simulator.looks import looks
from payer_simulator.respond import accumulator_key, answer
from payer_simulator.store import Store
from x12.envelope import Envelope, peek_envelope
from x12.errors import X12Error
from x12.reading import collector_paused
from x12.x837p import Reading837, read_837p
from x12.x999 import AckError, acknowledge, render_999

log = logging.getLogger("payer_simulator")


@dataclass(frozen=True)
class Folders:
    root: Path

    @property
    def outbound(self) -> Path:
        return self.root / "outbound"

    @property
    def acks(self) -> Path:
        return self.root / "inbound" / "999"

    @property
    def claim_acks(self) -> Path:
        return self.root / "inbound" / "277"

    @property
    def remits(self) -> Path:
        return self.root / "inbound" / "835"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    def create(self) -> None:
        for folder in (self.outbound, self.acks, self.claim_acks, self.remits, self.archive, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        """Complete 837 files, oldest name first."""
        return complete_files(self.outbound)


def complete_files(folder: Path) -> list[Path]:
    """The X12 files of a drop folder, oldest name first; temp files and hidden files are someone's work in progress."""
    return sorted(p for p in folder.iterdir() if p.suffix == ".x12" and not p.name.startswith(".") and p.is_file())


def write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


class Simulator:
    def __init__(self, root: Path, contracts: dict[str, Contract], status_book=None):
        self.folders = Folders(root)
        self.folders.create()
        self.contracts = contracts
        self.store = Store(root / ".payer-simulator.sqlite")
        self.status_book = status_book  # payer_simulator.claim_status.StatusBook: what 276s are answered from

    def run(self, stop: threading.Event, poll: float, once: bool) -> None:
        for _ in looks(self.folders.outbound, stop, poll):
            for path in self.folders.pending():
                if stop.is_set():
                    break
                self.handle(path)
            if once or stop.is_set():
                break
        self.store.close()

    def handle(self, path: Path) -> None:
        """Answer one 837 file; whatever goes wrong, the file leaves outbound and the loop goes on."""
        with collector_paused():  # as parse_835 reads a file
            self._handle(path)

    def _handle(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                self._answer(path, text)
            except X12Error as exc:
                self._reject(path, text, exc)
        except Exception as exc:  # noqa: BLE001 - a bug or a disk error must not stop the payer: park the file and say so
            log.error("file=%s status=internal-error error=%s", path.name, type(exc).__name__)
            with contextlib.suppress(OSError):
                write_atomically(
                    self.folders.rejected / f"{path.name}.reason.txt", f"internal error: {type(exc).__name__}\n"
                )
                self._move(path, self.folders.rejected)

    def _answer(self, path: Path, text: str) -> None:
        reading = read_837p(text)
        stem, envelope = path.stem, reading.interchange
        sender, control = envelope.sender_id, envelope.control_number
        ack = acknowledge(envelope, [s.raw for s in reading.sets], created=datetime.now())
        write_atomically(self.folders.acks / f"{stem}.999.x12", ack)
        if not any(s.accepted for s in reading.sets):
            raise X12Error.of(reading.issues)  # the 999 says where; the file goes to rejected/
        if self.store.already_paid(sender, control):
            self._move(path, self.folders.archive)
            log.info("file=%s status=duplicate interchange=%s claims=%d", path.name, control, len(reading.claims))
            return
        result = self._remit(reading)
        for payer_id, text_277 in result.acknowledgments.items():
            write_atomically(self.folders.claim_acks / f"{stem}.{payer_id}.277.x12", text_277)
        for payer_id, text_835 in result.by_payer.items():
            write_atomically(self.folders.remits / f"{stem}.{payer_id}.835.x12", text_835)
        # Recorded after the answers are written: a crash in between replays the file to the same answers.
        self.store.record(sender, control, result.deductibles, result.isa_used, result.adjudicated, result.reversed)
        if self.status_book is not None:
            self.status_book.record(result.remitted, datetime.now().date())
            self.status_book.record_pended(result.pended, datetime.now().date())
        self._move(path, self.folders.archive)
        log.info(
            "file=%s status=accepted interchange=%s sets_rejected=%d claims=%d rejected=%d payers=%d paid=%s",
            path.name,
            control,
            sum(not s.accepted for s in reading.sets),
            result.claims,
            result.rejected,
            len(result.by_payer),
            result.paid,
        )

    def _remit(self, reading: Reading837):
        claims = [c.claim for c in reading.claims if c.accepted and c.claim is not None]
        deductibles = self.store.deductibles({accumulator_key(c) for c in claims})
        earlier = self.store.payments(
            {
                c.payer_claim_control_number
                for c in claims
                if c.frequency_code in ("7", "8") and c.payer_claim_control_number
            }
        )
        return answer(reading, self.contracts, deductibles, self.store.next_control_number(), datetime.now(), earlier)

    def _reject(self, path: Path, text: str, error: X12Error) -> None:
        if not (self.folders.acks / f"{path.stem}.999.x12").exists():
            ack = _rejection_999(text, error)
            if ack:
                write_atomically(self.folders.acks / f"{path.stem}.999.x12", ack)
        write_atomically(self.folders.rejected / f"{path.name}.reason.txt", f"{error}\n")
        self._move(path, self.folders.rejected)
        log.warning("file=%s status=rejected issues=%d", path.name, max(1, len(error.issues)))

    def _move(self, path: Path, folder: Path) -> None:
        os.replace(path, folder / path.name)


def _rejection_999(text: str, error: X12Error) -> str | None:
    """A 999 rejecting every transaction set of an interchange whose envelope or group could not be
    read, when its ISA, GS and ST can be found at all."""
    try:
        envelope: Envelope = peek_envelope(text)
        errors = []
        if error.segment_id and error.position:
            errors.append(
                AckError(
                    segment_id=error.segment_id,
                    position=error.position,
                    transaction_control_number=error.transaction_control_number,
                )
            )
        return render_999(envelope, accepted=False, errors=errors, created=datetime.now())
    except (X12Error, ValueError):
        return None

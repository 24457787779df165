"""The clearinghouse directory loop: 837 files in, 999 and 835 files out.

<root>/outbound/*.x12        837P files from the claims service
<root>/inbound/999/          <stem>.999.x12 for every file that could be read as an interchange
<root>/inbound/277/          <stem>.<payer id>.277.x12, each payer's 277CA: claims accepted or rejected
<root>/inbound/835/          <stem>.<payer id>.835.x12, one per payer with accepted claims
<root>/archive/              837s once answered
<root>/rejected/             unreadable 837s, each with <name>.reason.txt

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
from payer_simulator.respond import accumulator_key, remit, unknown_payers
from payer_simulator.store import Store
from x12.envelope import Envelope, peek_envelope, read_interchange
from x12.errors import X12Error
from x12.x837p import parse_837p
from x12.x999 import AckError, render_999

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
        """Complete 837 files, oldest name first; temp files and hidden files are someone's work in progress."""
        return sorted(
            p for p in self.outbound.iterdir() if p.suffix == ".x12" and not p.name.startswith(".") and p.is_file()
        )


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
        while not stop.is_set():
            for path in self.folders.pending():
                if stop.is_set():
                    break
                self.handle(path)
            if once:
                break
            stop.wait(poll)
        self.store.close()

    def handle(self, path: Path) -> None:
        """Answer one 837 file; whatever goes wrong, the file leaves outbound and the loop goes on."""
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
        interchange = parse_837p(text)
        if unknown := unknown_payers(interchange, self.contracts):
            raise _unknown_payer_error(text, unknown)
        stem = path.stem
        sender, control = interchange.sender_id, interchange.control_number
        if self.store.already_paid(sender, control):
            write_atomically(self.folders.acks / f"{stem}.999.x12", render_999(interchange, created=datetime.now()))
            self._move(path, self.folders.archive)
            log.info("file=%s status=duplicate interchange=%s claims=%d", path.name, control, len(interchange.claims))
            return
        deductibles = self.store.deductibles({accumulator_key(c) for c in interchange.claims})
        earlier = self.store.payments(
            {c.payer_claim_control_number for c in interchange.claims if c.frequency_code in ("7", "8")}
        )
        result = remit(
            interchange, self.contracts, deductibles, self.store.next_control_number(), datetime.now(), earlier
        )
        write_atomically(self.folders.acks / f"{stem}.999.x12", render_999(interchange, created=datetime.now()))
        for payer_id, text_277 in result.acknowledgments.items():
            write_atomically(self.folders.claim_acks / f"{stem}.{payer_id}.277.x12", text_277)
        for payer_id, text_835 in result.by_payer.items():
            write_atomically(self.folders.remits / f"{stem}.{payer_id}.835.x12", text_835)
        # Recorded after the answers are written: a crash in between replays the file to the same answers.
        self.store.record(sender, control, result.deductibles, result.isa_used, result.adjudicated, result.reversed)
        if self.status_book is not None:
            self.status_book.record(result.by_payer.values(), datetime.now().date())
            self.status_book.record_pended(result.pended, datetime.now().date())
        self._move(path, self.folders.archive)
        log.info(
            "file=%s status=accepted interchange=%s claims=%d rejected=%d payers=%d paid=%s",
            path.name,
            control,
            result.claims,
            result.rejected,
            len(result.by_payer),
            result.paid,
        )

    def _reject(self, path: Path, text: str, error: X12Error) -> None:
        ack = _rejection_999(text, error)
        if ack:
            write_atomically(self.folders.acks / f"{path.stem}.999.x12", ack)
        write_atomically(self.folders.rejected / f"{path.name}.reason.txt", f"{error}\n")
        self._move(path, self.folders.rejected)
        log.warning("file=%s status=rejected ack=%s reason=%s", path.name, "999" if ack else "none", error)

    def _move(self, path: Path, folder: Path) -> None:
        os.replace(path, folder / path.name)


def _rejection_999(text: str, error: X12Error) -> str | None:
    """A 999 rejecting every transaction set, when the envelope can be read at all."""
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


def _unknown_payer_error(text: str, payer_ids: set[str]) -> X12Error:
    """Point at the first 2010BB payer segment naming a payer this simulator has no contract with."""
    _, envelope = read_interchange(text)
    for ts in envelope.transactions:
        for index, seg in enumerate(ts.segments):
            if seg[:2] == ["NM1", "PR"] and seg[-1] in payer_ids:
                return X12Error(f"unknown payer id at segment {index + 2}", "NM1", index + 2, ts.control_number)
    return X12Error("unknown payer id")

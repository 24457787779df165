"""Claim status by X12: a 276 for each claim with no answer, the payer's 277 read back into the
claim's open 'no_response' work item, so the person working it sees what the payer says.

<clearinghouse>/claim-status/outbound/<request id>.276.x12   what A/R asks
<clearinghouse>/claim-status/inbound/<request id>.277.x12    what the payer answers (the file stem
                                                              and TRN02 name the request)
Answers read go to processed/, unreadable or unknown ones to quarantine/ with a reason.

A 276 is an outbox row: `request` records it (rendered) in the cycle's transaction and
`write_pending` writes the files of committed requests afterwards, so a rolled-back cycle leaves no
file and a crash after the commit leaves the file to the next cycle."""

import logging
import os
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ar_followup import db
from services.ar_followup.domain.ledger import balances
from x12.envelope import Envelope
from x12.errors import X12Error
from x12.x270 import Party
from x12.x276 import VERSION, StatusRequest, render_276
from x12.x277_status import ClaimStatusAnswer, parse_277_status

log = logging.getLogger(__name__)
ASK_AGAIN_AFTER = timedelta(days=14)  # a payer that answered "in process" is asked again two weeks later


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class StatusDesk:
    def __init__(self, clearinghouse: Path, sender_id: str, receiver_id: str, provider: Party, usage: str = "T"):
        self.root = Path(clearinghouse) / "claim-status"
        self.sender_id, self.receiver_id, self.provider, self.usage = sender_id, receiver_id, provider, usage
        self.outbound, self.inbound = self.root / "outbound", self.root / "inbound"
        self.processed, self.quarantine = self.root / "processed", self.root / "quarantine"

    async def request(self, session: AsyncSession, claims: list[db.ArClaim], now: datetime) -> int:
        """A 276 for each claim not asked about lately (nor waiting for an answer), recorded in the
        session's transaction; `write_pending` writes it once that has committed."""
        if not claims:
            return 0
        asked = await db.claims_asked_lately(session, [c.claim_id for c in claims], now - ASK_AGAIN_AFTER)
        accounts = await db.accounts(session, {c.patient_id for c in claims if c.patient_id})
        totals = await db.totals_by_claim(session, [c.claim_id for c in claims])
        sent = 0
        for claim in claims:
            account = accounts.get(claim.patient_id) if claim.patient_id else None
            if claim.claim_id in asked or account is None:
                continue
            request_id = uuid.uuid4()
            request = self._status_request(request_id, claim, account, balances(totals[claim.claim_id]).charge)
            if request is None:
                continue  # without the member's id and name the payer cannot find the claim
            document = render_276(request, self._envelope(request_id, now))
            file_name = f"{request_id}.276.x12"
            session.add(
                db.StatusRequest(
                    request_id=request_id, claim_id=claim.claim_id, file_name=file_name, sent_at=now, document=document
                )
            )
            sent += 1
        return sent

    def _status_request(
        self, request_id: uuid.UUID, claim: db.ArClaim, account: db.PatientAccount, charge: Decimal
    ) -> StatusRequest | None:
        """What the payer needs to find the claim: the member, the claim's control numbers, its charge and date."""
        member = next((c.get("member_id") for c in account.coverages if c.get("payer_id") == claim.payer_id), None)
        if not member or not account.person or claim.date_of_service is None or claim.patient_control_number is None:
            return None
        return StatusRequest(
            trace_number=request_id.hex,
            payer=Party(claim.payer_name or claim.payer_id, claim.payer_id),
            provider=self.provider,
            member_id=member,
            last_name=account.person["last_name"],
            first_name=account.person["first_name"],
            patient_control_number=claim.patient_control_number,  # CLM01 as claims sent it
            charge=charge,
            service_from=claim.date_of_service,
            service_to=claim.date_of_service,
            payer_claim_control_number=claim.payer_claim_control_number,
        )

    def _envelope(self, request_id: uuid.UUID, now: datetime) -> Envelope:
        control_number = int(request_id.int % 999_999_999) or 1
        return Envelope(
            sender_id=self.sender_id,
            receiver_id=self.receiver_id,
            control_number=control_number,
            group_control_number=control_number,
            created=now,
            usage=self.usage,
            functional_id="HR",
            version=VERSION,
        )

    async def write_pending(self, sessions: async_sessionmaker[AsyncSession], now: datetime, batch: int = 500) -> int:
        """Write the 276 of every committed request not written yet, each exactly once: the rows are
        taken under lock (a second writer skips them) and marked in the same transaction."""
        written = 0
        while True:
            async with sessions() as session, session.begin():
                pending = await db.unwritten_requests(session, batch)
                if not pending:
                    return written
                self.outbound.mkdir(parents=True, exist_ok=True)
                for row in pending:
                    write_atomically(self.outbound / row.file_name, row.document or "")
                    row.written_at, row.document = now, None  # the file is the document from now on
                written += len(pending)

    async def read_answers(self, session: AsyncSession, now: datetime) -> list[Path]:
        """Each 277 answers its request; the claim's open no-response item says what the payer said.
        Returns the files read: `file_away` them once the transaction has committed."""
        if not self.inbound.is_dir():
            return []
        read = []
        for path in sorted(p for p in self.inbound.glob("*.277.x12") if not p.name.startswith(".")):
            try:
                answer, request = await self._answer(session, path)
            except (X12Error, ValueError, UnicodeDecodeError) as exc:
                self._quarantine(path, exc)
                continue
            request.answered_at, request.status = now, answer.code
            item = await db.open_item_for_update(session, request.claim_id, "no_response")
            if item is not None:
                item.reason = f"{item.reason}; 277 {answer.code} {_meaning(answer)}"[:300]
            read.append(path)
        return read

    async def _answer(self, session: AsyncSession, path: Path) -> tuple[ClaimStatusAnswer, db.StatusRequest]:
        """The 277 in the file and the request it answers (locked); X12Error if it answers none."""
        answer = parse_277_status(path.read_text(encoding="utf-8"))
        request = await session.get(db.StatusRequest, uuid.UUID(hex=answer.trace_number), with_for_update=True)
        if request is None or request.file_name.removesuffix(".276.x12") != path.name.removesuffix(".277.x12"):
            raise X12Error("the 277 answers no request A/R sent", "TRN")
        return answer, request

    def _quarantine(self, path: Path, error: Exception) -> None:
        self.quarantine.mkdir(parents=True, exist_ok=True)
        write_atomically(self.quarantine / f"{path.name}.reason.txt", f"{type(error).__name__}: {error}\n")
        os.replace(path, self.quarantine / path.name)
        log.warning("quarantined 277 %s (%s)", path.name, type(error).__name__)

    def file_away(self, paths: list[Path]) -> None:
        self.processed.mkdir(parents=True, exist_ok=True)
        for path in paths:
            os.replace(path, self.processed / path.name)


def _meaning(answer: ClaimStatusAnswer) -> str:
    if answer.category == "F1":
        return f"paid {answer.paid} on {answer.effective:%Y-%m-%d}: ask the payer to resend the 835"
    if answer.category == "F2":
        return f"denied on {answer.effective:%Y-%m-%d}: ask the payer to resend the 835"
    if answer.category == "A4":
        return "the payer has no such claim: resubmit it"
    return f"in process as of {answer.effective:%Y-%m-%d}"

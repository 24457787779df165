"""Eligibility through the clearinghouse directory: a 270 file out per check, the 271 files read
back by a loop that stores each result and publishes eligibility.checked in one transaction.

<clearinghouse>/eligibility/outbound/<check id>.270.x12   written (temp name + rename) before the
                                                          check's row commits: a pending check always has its file
<clearinghouse>/eligibility/inbound/*.271.x12             answers; moved to archive/ once stored,
                                                          to rejected/ (with a reason file) when unreadable"""

import asyncio
import logging
import os
from datetime import date, datetime
from pathlib import Path
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from services.registration import db
from services.registration.domain.eligibility import check_reference, checked, inquiry
from services.registration.domain.payers import Payer, PayerDirectory
from services.registration.registry import SOURCE
from services.registration.settings import RegistrationSettings
from shared import metrics, outbox
from shared.consumer import Pause, database_answers, failure_reason, is_infrastructure, look_forever
from shared.contracts import topics
from shared.contracts.events import Coverage, Person
from shared.envelope import Event
from shared.folder_watch import FolderWatch
from shared.service import Service
from x12.envelope import Envelope
from x12.errors import X12Error
from x12.x270 import Party, render_270
from x12.x271 import read_271

log = logging.getLogger(__name__)


class CannotCheck(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def folder(settings: RegistrationSettings, name: str) -> Path:
    path = Path(settings.clearinghouse_dir) / "eligibility" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


async def request_check(
    session: AsyncSession,
    settings: RegistrationSettings,
    payers: PayerDirectory,
    patient_id: UUID,
    rank: str,
    service_date: date,
    correlation_id: str,
) -> db.EligibilityCheck:
    patient = await db.patient(session, patient_id)
    if patient is None:
        raise CannotCheck(404, "no such patient")
    coverage = next((Coverage.model_validate(c) for c in patient.content["coverages"] if c["rank"] == rank), None)
    if coverage is None:
        raise CannotCheck(404, f"the patient has no {rank} coverage")
    payer = payers.get(coverage.payer_id)
    if payer is None or not payer.accepts_eligibility:
        raise CannotCheck(409, "this payer does not take eligibility requests")
    check = db.EligibilityCheck(
        check_id=uuid4(),
        patient_id=patient_id,
        coverage_rank=rank,
        payer_id=payer.payer_id,
        service_date=service_date,
        correlation_id=correlation_id,
    )
    await db.add_check(session, check)
    provider = Party(settings.eligibility_provider_name, settings.eligibility_provider_npi)
    request = inquiry(
        check.check_id, Person.model_validate(patient.content["patient"]), coverage, provider, service_date
    )
    text = render_270(request, _envelope(settings, payer, check.control_number))
    await asyncio.to_thread(write_atomically, folder(settings, "outbound") / f"{check.check_id}.270.x12", text)
    return check


def _envelope(settings: RegistrationSettings, payer: Payer, control_number: int) -> Envelope:
    return Envelope(
        sender_id=settings.eligibility_sender_id,
        receiver_id=payer.submission.receiver_id.strip(),
        control_number=control_number % 10**9 or 1,
        group_control_number=control_number % 10**9 or 1,
        created=datetime.now(),
        usage=payer.submission.usage,
        functional_id="HS",
        version="005010X279A1",
    )


async def store_answer(session: AsyncSession, text: str) -> bool:
    """Store every answer of one 271 that a pending check waits for, and stage its event (a rejection,
    AAA at any level, answers the check too); False when no pending check was waiting for any."""
    stored = False
    for response in read_271(text):
        pending = await db.pending_check_for_update(session, _check_ids(check_reference(response)))
        if pending is None:
            continue
        event = checked(pending.check_id, pending.patient_id, pending.coverage_rank, pending.service_date, response)
        await db.answer_check(session, pending.check_id, event.active, event.model_dump(mode="json"))
        outbox.stage(
            session, topics.ELIGIBILITY_CHECKED, Event(event, str(pending.patient_id), SOURCE, pending.correlation_id)
        )
        if not event.active:
            extra = {"check_id": str(pending.check_id), "rank": pending.coverage_rank}
            message = "eligibility request rejected by the payer" if response.rejection_code else "coverage inactive"
            log.info(message, extra={**extra, "rejection_code": response.rejection_code})
        stored = True
    return stored


def _check_ids(trace: str) -> list[UUID]:
    try:
        return [UUID(hex=trace)]
    except ValueError:
        return []


async def read_answers(service: Service) -> None:
    """The loop: every 271 in inbound/ is stored once, then archived; one that cannot be read, or
    that fails on its own while the database answers, is set aside in rejected/ with the reason.
    While the database is away the loop pauses and takes the same file again. It wakes when a file
    lands (FolderWatch), and looks every eligibility_poll_seconds in case it was not told."""
    settings: RegistrationSettings = service.settings
    inbound, archive, rejected = (folder(settings, n) for n in ("inbound", "archive", "rejected"))
    pause = Pause("eligibility/inbound", "registration.read-answers", settings.retry_backoff_seconds)
    refresh = metrics.Every(10.0)

    async def look() -> None:
        for path in sorted(p for p in inbound.glob("*.271.x12") if not p.name.startswith(".")):
            await read_answer(service, path, archive, rejected)
        if refresh():
            metrics.show_quarantined("271", rejected)

    async with FolderWatch(inbound, fallback_seconds=settings.eligibility_poll_seconds) as arrivals:
        await look_forever(look, pause, arrivals.wait)


async def read_answer(service: Service, path: Path, archive: Path, rejected: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
        async with service.sessions() as session, session.begin():
            stored = await store_answer(session, text)
    except (X12Error, UnicodeDecodeError) as exc:
        _set_aside(path, rejected, f"{type(exc).__name__}: {exc}")
        return
    except Exception as exc:
        if is_infrastructure(exc) or not await database_answers(service.sessions):
            raise
        _set_aside(path, rejected, failure_reason(exc))
        return
    path.replace(archive / path.name)
    if not stored:
        log.warning("271 answers no pending check; archived", extra={"file": path.name})


def _set_aside(path: Path, rejected: Path, reason: str) -> None:
    (rejected / f"{path.name}.reason.txt").write_text(reason + "\n")
    path.replace(rejected / path.name)
    log.warning("unreadable 271 set aside", extra={"file": path.name, "exc_type": reason.split(":")[0]})

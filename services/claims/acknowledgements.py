"""999 and 277CA files from the clearinghouse -> each claim accepted or rejected, announced as
claim.acknowledged. A 999 answers per transaction set (IK5; AK9 for the sets it does not name): the
claims of a rejected set are rejected, those of an accepted set await their 277CA; a 277CA answers claim by
claim (accepted into adjudication, with the payer's claim number, or rejected with its status code).
Rejected claims join the held ones in the work queue. Each file is applied once (its hash is
unique), the files waiting together in one transaction, and only then marked received at its source
(a directory or the clearinghouse's HTTP mailbox: services.claims.gateway); a file that cannot be
read, or that fails on its own, is quarantined with the reason, recorded and marked received, so it
never holds back the files behind it. A
payer's claim number arriving here releases the EHR's corrections that waited for it. The loop
waits without polling its folders: a file landing wakes it (shared/folder_watch.py); an HTTP
mailbox is polled often only while acknowledgements are awaited."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db, handlers
from services.claims.domain.acknowledgement import (
    BatchOutcome,
    ClaimOutcome,
    SetAnswer,
    batch_outcomes,
    claim_outcomes,
    claims_by_set,
    set_answers,
)
from services.claims.gateway import ACK_KINDS, AckDocument, AckSource, AckSourceError, DirectoryAcks
from shared import metrics, outbox
from shared.consumer import Pause, database_answers, failure_reason, is_infrastructure, look_forever
from shared.contracts import topics
from shared.contracts.events import AckReason, ClaimAcknowledgedV1
from shared.envelope import Event
from shared.folder_watch import FolderWatch
from shared.service import Service
from x12.errors import X12Error
from x12.x277 import parse_277ca
from x12.x999 import parse_999

log = logging.getLogger(__name__)
SOURCE = "/openrcm/claims"
FILE_NAME_LENGTH = 200  # ack_file.file_name
# A claim sent longer ago than this without a 277CA is the work of claim status follow-up, not a reason
# to keep polling the mailbox often.
ACK_EXPECTED_WITHIN = timedelta(days=1)
Wait = Callable[[], Awaitable[None]]
# Files waiting together are applied in one transaction, up to this many (their claims' patients stay locked
# until it commits).
FILES_PER_TRANSACTION = 20


def acknowledged(
    claim: Mapping[str, Any], accepted: bool, source: str, reasons: list[AckReason], now: datetime
) -> Event[ClaimAcknowledgedV1]:
    """claim.acknowledged of a claim as db.reject_interchange or db.acknowledge_claims return it."""
    data = ClaimAcknowledgedV1(
        claim_id=claim["claim_id"],
        accepted=accepted,
        source=source,
        reasons=reasons,
        payer_claim_control_number=claim["payer_claim_control_number"],
        acknowledged_at=now,
    )
    return Event(data, str(claim["claim_id"]), SOURCE, claim["correlation_id"])


Answer = list[BatchOutcome] | dict[str, ClaimOutcome]  # a 999's verdicts per group, a 277CA's per claim


async def _apply_999(session: AsyncSession, outcomes: list[BatchOutcome], now: datetime, file_name: str) -> int:
    """Each transaction set's claims as the 999 says: those of an accepted set go on to their 277CA (only
    the claims' timeline records the 999), those of a rejected set are rejected with that set's reasons."""
    count, answers = 0, []
    for outcome in outcomes:
        control_number = outcome.group_control_number
        for answer in await _set_answers(session, outcome):
            numbers = list(answer.claims)
            if answer.accepted:
                claim_ids = await db.claim_ids_of_interchange(session, control_number, numbers)
            else:
                rejected = await db.reject_interchange(session, control_number, numbers, answer.reasons, now)
                for claim in rejected:
                    event = acknowledged(claim, False, "999", answer.reasons, now)
                    outbox.stage(session, topics.CLAIM_ACKNOWLEDGED, event)
                claim_ids, count = [claim["claim_id"] for claim in rejected], count + len(rejected)
            answers += [(claim_id, answer.accepted, answer.reasons) for claim_id in claim_ids]
    await db.add_ack_events(session, "999", file_name, answers)
    return count


async def _set_answers(session: AsyncSession, outcome: BatchOutcome) -> list[SetAnswer]:
    """The 999's verdict on each transaction set of the interchange as we wrote it (its claims read from
    the stored 837P); what it says of a file or a set we never sent is logged (numbers only) and ignored."""
    control_number = outcome.group_control_number
    content = await db.batch_content(session, control_number)
    if content is None:
        log.warning("999 answers an interchange we never sent; ignored", extra={"interchange": control_number})
        return []
    answers, unknown = set_answers(outcome, claims_by_set(content))
    if unknown:
        extra = {"interchange": control_number, "sets": ",".join(unknown)[:200]}
        log.warning("999 answers transaction sets we never sent; ignored", extra=extra)
    return answers


async def _apply_277(
    session: AsyncSession, outcomes: dict[str, ClaimOutcome], now: datetime, file_name: str
) -> list[UUID]:
    """Each claim the 277CA answers accepted or rejected (its patients locked by the caller); returns their ids."""
    claims = await db.acknowledge_claims(session, outcomes.values(), now)
    if len(claims) < len(outcomes):
        log.warning("277CA names claims we never sent", extra={"unknown": len(outcomes) - len(claims)})
    answers = []
    for claim in claims:
        outcome = outcomes[claim["patient_control_number"]]
        answers.append((claim["claim_id"], outcome.accepted, outcome.reasons))
        outbox.stage(
            session, topics.CLAIM_ACKNOWLEDGED, acknowledged(claim, outcome.accepted, "277CA", outcome.reasons, now)
        )
    await db.add_ack_events(session, "277CA", file_name, answers)
    return [claim["claim_id"] for claim in claims]


async def apply_documents(service: Service[Any], source: AckSource, documents: list[AckDocument]) -> None:
    """Apply files once each (by content hash), together in one transaction, and mark them received; a
    file that cannot be read is quarantined. When the transaction fails on its own while the database
    answers, each file is applied again alone, so only the one at fault is quarantined. An
    infrastructure fault is raised: the loop pauses and takes the same files again."""
    try:
        applied, unreadable = await _apply_together(service, documents)
    except Exception as exc:
        if is_infrastructure(exc) or not await database_answers(service.sessions):
            raise
        if len(documents) == 1:
            await _quarantine(service, source, documents[0], failure_reason(exc))
            return
        log.warning("acknowledgements failed together; applying each alone", extra={"files": len(documents)})
        for document in documents:
            await apply_documents(service, source, [document])
        return
    for document, reason in unreadable:
        await _set_aside(source, document, reason)
    await _received(source, applied)


async def _received(source: AckSource, documents: list[AckDocument]) -> None:
    """Mark each applied file received; a receipt the source refuses does not keep the others from
    theirs (that file is handed over again, found applied, and marked then)."""
    refused: AckSourceError | None = None
    for document in documents:
        try:
            await source.received(document)
        except AckSourceError as error:
            refused = refused or error
    if refused is not None:
        raise refused


async def _quarantine(service: Service[Any], source: AckSource, document: AckDocument, reason: str) -> None:
    async with service.sessions() as session, session.begin():
        name = document.name[:FILE_NAME_LENGTH]
        await db.quarantine_ack_file(session, document.sha256, name, document.kind, reason)
    await _set_aside(source, document, reason)


async def _set_aside(source: AckSource, document: AckDocument, reason: str) -> None:
    """A file recorded as quarantined is kept aside at its source, with the reason."""
    log.error("acknowledgement quarantined", extra={"file": document.name, "reason": reason.split(":")[0]})
    await source.quarantined(document, reason)


async def _apply_together(
    service: Service[Any], documents: list[AckDocument]
) -> tuple[list[AckDocument], list[tuple[AckDocument, str]]]:
    """One transaction for several files: under a backlog the loop's round trips, each queued behind
    whatever else the service's event loop is doing, are paid once for all of them. A file another
    replica is applying now is left to it (it marks it received); each other file is recorded before it
    is read, and one applied before is not read again. The patients of every 277CA's claims are
    locked next, in one statement (as the EHR's revisions take them: a correction is seen), and the
    corrections that waited for the payer's claim number are made last. Returns the files to mark
    received and those to quarantine, with the reason."""
    now = datetime.now(UTC)
    applied: list[AckDocument] = []
    unreadable: list[tuple[AckDocument, str]] = []
    async with service.sessions() as session, session.begin():
        mine = await db.take_ack_files(session, [document.sha256 for document in documents])
        fresh = []
        for document in documents:
            if document.sha256 not in mine:
                continue
            name = document.name[:FILE_NAME_LENGTH]  # a label: the hash identifies the file
            if not await db.record_ack_file(session, document.sha256, name, document.kind):
                if (before := await db.ack_file_quarantine_reason(session, document.sha256)) is not None:
                    unreadable.append((document, before))  # the same file again: to quarantine, as it was
                    continue
                log.info("acknowledgement already applied; ignored", extra={"file": name})
                applied.append(document)
                continue
            answer, reason = _try_read(document)
            if answer is None:
                await db.mark_ack_file_quarantined(session, document.sha256, reason)
                unreadable.append((document, reason))
            else:
                fresh.append((document, name, answer))
                applied.append(document)
        numbers = {number for _, _, answer in fresh if isinstance(answer, dict) for number in answer}
        if numbers:
            await db.lock_patients(session, await db.patients_of_claims(session, numbers=numbers))
        acknowledged_ids: list[UUID] = []
        for document, name, answer in fresh:
            if isinstance(answer, dict):
                claim_ids = await _apply_277(session, answer, now, name)
                acknowledged_ids += claim_ids
                count = len(claim_ids)
            else:
                count = await _apply_999(session, answer, now, name)
            await db.count_ack_claims(session, document.sha256, count)
            log.info("acknowledgement applied", extra={"file": name, "kind": document.kind, "claims": count})
        if acknowledged_ids:  # the EHR's corrections that waited for the payer's claim number
            waiting = await db.claims_awaiting_correction(session, acknowledged_ids)
            if waiting:
                await handlers.revise_acknowledged(session, waiting, service.deps)
    return applied, unreadable


def _try_read(document: AckDocument) -> tuple[Answer, None] | tuple[None, str]:
    """What the file says, before any database work, or why it cannot be read (its quarantine's reason)."""
    try:
        if document.problem:
            raise ValueError(document.problem)
        text = document.content.decode("ascii")
        if document.kind == "999":
            return batch_outcomes(parse_999(text)), None
        return {o.patient_control_number: o for o in claim_outcomes(parse_277ca(text))}, None
    except (X12Error, UnicodeDecodeError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    except Exception as exc:  # noqa: BLE001 - a file our reading fails on must not stop the others
        return None, failure_reason(exc)


async def read_acknowledgements_forever(service: Service[Any], source: AckSource, wait: Wait) -> None:
    """Read the source whenever `wait` returns (see `arrivals`); while the database is away, pause
    with backoff (nothing is marked received)."""
    pause = Pause("inbound/999+277", "claims.read-acknowledgements", service.settings.retry_backoff_seconds)
    refresh = metrics.Every(10.0)

    async def look() -> None:
        try:
            async with aclosing(source.pending()) as documents:
                together: list[AckDocument] = []
                async for document in documents:
                    together.append(document)
                    if len(together) == FILES_PER_TRANSACTION:
                        await apply_documents(service, source, together)
                        together = []
                if together:
                    await apply_documents(service, source, together)
            if refresh():
                await show_backlog(service)
        except AckSourceError as error:  # the clearinghouse is down or answers nonsense: the next poll tries again
            log.error("acknowledgements not read this time", extra={"error": str(error)})

    await look_forever(look, pause, wait)


@asynccontextmanager
async def arrivals(
    service: Service[Any], source: AckSource, poll: float, fallback: float, delivered: asyncio.Event
) -> AsyncIterator[Wait]:
    """How the loop waits for more files: inbox folders wake it when one lands, and are looked at
    every `fallback` seconds anyway. A mailbox is polled every `poll` seconds while acknowledgements
    are awaited; otherwise after `fallback` seconds, or as soon as this replica delivers an 837P."""
    if isinstance(source, DirectoryAcks):
        async with FolderWatch(*source.inboxes, fallback_seconds=fallback) as watch:
            yield watch.wait
        return

    async def next_poll() -> None:
        delivered.clear()  # before asking: a claim delivered from now on ends the long wait
        if await acknowledgements_awaited(service):
            await asyncio.sleep(poll)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(delivered.wait(), fallback)

    yield next_poll


async def acknowledgements_awaited(service: Service[Any]) -> bool:
    try:
        async with service.sessions() as session:
            return await db.acknowledgements_awaited(session, ACK_EXPECTED_WITHIN)
    except Exception as exc:
        if not is_infrastructure(exc):
            raise
        return True  # the next poll finds the database away and pauses


async def show_backlog(service: Service[Any]) -> None:
    """Coded encounters waiting for their patient, and quarantined acknowledgements, with the oldest's age."""
    async with service.sessions() as session:
        count, oldest = await db.encounters_waiting_for_patients(session)
    metrics.show_waiting("encounter_for_patient", count, oldest)
    for kind, folder in ACK_KINDS.items():
        metrics.show_quarantined(kind, service.settings.clearinghouse_dir / "quarantine" / folder)

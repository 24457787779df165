"""835 files -> postings. One file is one transaction: it is posted whole or not at all (a file
that does not follow the guide or does not balance is quarantined with its reason). The same file,
or the same claim payment in another file (a re-sent ERA, a re-issued check), is posted once: the
file's hash and each payment's identity are unique; a payment that came before is recorded as a
re-issue (era_reissue, a log line, a metric), never posted again. Replicas share the drop folder:
each file is read by the one replica holding its lease (era_lease), so none parses another's work.
The files that land together (a payer's 835s for one 837P, a day's drop) are posted in one
transaction, up to FILES_TOGETHER and BYTES_TOGETHER: a file costs a lease, a posting and a release transaction of its
own otherwise. A file that fails on its own rolls the group back, and the group is posted again a
file a transaction, so that file alone is quarantined.

The decisions are the domain's (domain/posting.py: the plan of a file); this module reads the
file, takes the matching lock, loads the claims, stores what the plan says and stages its events."""

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import db
from services.payments.domain.posting import (
    KnownClaim,
    PlannedPayment,
    PostingError,
    PostingPlan,
    Postings,
    plan_posting,
    post_late,
)
from services.payments.era_inbox import EraInbox
from shared import metrics, outbox
from shared.consumer import Pause, database_answers, failure_reason, is_infrastructure, look_forever
from shared.contracts import topics
from shared.envelope import Event
from shared.folder_watch import FolderWatch
from shared.service import Service
from x12.errors import X12Error
from x12.remittance import ClaimPayment, Interchange835, Remittance
from x12.x835 import parse_835

log = logging.getLogger(__name__)
SOURCE = "/openrcm/payments"
FILE_NAME_LENGTH = 200  # era_file.file_name
FILES_READ = Counter("rcm_era_files_read_total", "835 files this replica read (each file is read by one replica)")
REPEATED = Counter(
    "rcm_era_claim_payments_repeated_total",
    "Claim payments an 835 carried that an earlier 835 had posted (not posted again)",
    ["kind"],  # reissued_check: another check or EFT; resent: the same check in a new envelope
)


@dataclass(frozen=True)
class Lease:
    """This replica as a reader of the shared drop folder: it reads a file only while it holds the
    file's lease in the database (db.take_leases), so each file is read by one replica; one that dies
    holding a lease leaves the file to the others once `seconds` pass (posting a file takes a small part
    of it; the posting transaction renews it as it commits)."""

    holder: str
    seconds: float

    @classmethod
    def of_this_process(cls, seconds: float) -> "Lease":
        return cls(f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}", seconds)

    def for_file(self, size: int) -> "Lease":
        """Long enough to read and post a file of `size` bytes even on a slow day, so a large 835 is
        never parsed by a second replica while the first still reads it (a dead holder's large file
        waits as long for the others)."""
        return Lease(self.holder, max(self.seconds, size / SLOWEST_READING))


# Bytes of 835 a second that a busy replica still reads and posts (about 200 claim payments; today's
# reader does well over ten times that): the floor under the lease of a large file.
SLOWEST_READING = 100_000


# At most this many files and bytes in one posting transaction (and one group of leases; a larger
# file is posted alone): a backlog is shared out between replicas group by group, one file's failure
# re-posts at most a group one by one, and a day's drop of large 835s is not held in memory at once.
FILES_TOGETHER = 20
BYTES_TOGETHER = 1_000_000


# A file's own faults, told in its quarantine reason (a database error is told by failure_reason).
FILES_OWN = (X12Error, PostingError, ValueError)


class LeaseLost(Exception):
    """The lease expired while the file was read and another replica took it: the file is theirs."""


@dataclass(frozen=True)
class Landed:
    """A file whose lease this replica holds, read and parsed."""

    path: Path
    key: str  # its printable name: the lease's and era_file's
    sha: str
    interchange: Interchange835


def sized(paths: Iterable[Path]) -> list[tuple[Path, int]]:
    """Each file with its size; those already gone (moved by another replica) left out."""
    files = []
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            files.append((path, path.stat().st_size))
    return files


def together(files: Iterable[tuple[Path, int]]) -> Iterator[list[tuple[Path, int]]]:
    """The files in order, in groups of at most FILES_TOGETHER files and BYTES_TOGETHER bytes."""
    group: list[tuple[Path, int]] = []
    for file in files:
        if group and (len(group) == FILES_TOGETHER or sum(size for _, size in group) + file[1] > BYTES_TOGETHER):
            yield group
            group = []
        group.append(file)
    if group:
        yield group


async def post_files(service: Service[None], inbox: EraInbox, lease: Lease, files: list[tuple[Path, int]]) -> None:
    """Post files (with their sizes) that landed together: the leases of those no other replica holds
    taken in one transaction, the files posted (post_leased), the leases let go in one."""
    paths = {_printable(path.name): path for path, _ in files}
    if not paths:
        return
    lease = lease.for_file(sum(size for _, size in files))
    async with service.sessions() as session, session.begin():
        taken = await db.take_leases(session, sorted(paths), lease.holder, lease.seconds)
    await post_leased(service, inbox, lease, [(paths[key], key) for key in taken])
    async with service.sessions() as session, session.begin():
        await db.release_leases(session, taken, lease.holder)  # the files have left inbound/ (or another holds them)


async def post_leased(service: Service[None], inbox: EraInbox, lease: Lease, files: list[tuple[Path, str]]) -> None:
    """Post files whose leases (keys: their printable names) this replica took, in one transaction. A
    file that does not parse is quarantined on its own; one that fails in the posting (or a lease lost
    meanwhile) has them posted again a file a transaction, so it alone is quarantined (or left to the
    lease's new holder)."""
    landed = [file for path, key in files if (file := await _read(service, inbox, lease, path, key)) is not None]
    if len(landed) > 1 and await _post(service, landed, lease) is None:
        for file in landed:
            inbox.done(file.path)
    else:
        for file in landed:
            await _post_alone(service, inbox, lease, file)


async def _read(service: Service[None], inbox: EraInbox, lease: Lease, path: Path, key: str) -> Landed | None:
    """The file read and parsed; None when it is gone (another replica moved it) or was quarantined."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    FILES_READ.inc()
    log.debug("835 read", extra={"file": path.name, "reader": lease.holder})
    sha = hashlib.sha256(raw).hexdigest()
    try:
        return Landed(path, key, sha, parse_835(raw.decode("ascii")))
    except FILES_OWN as exc:  # UnicodeDecodeError is a ValueError
        await _quarantine(service, inbox, path, sha, quarantine_reason(exc))
        return None


async def _post(service: Service[None], landed: list[Landed], lease: Lease) -> Exception | None:
    """The files' postings in one transaction, committed only while every lease is still this
    replica's (renewed last: the rows are locked only until the commit). None when it committed; the
    files' own failure (LeaseLost among them) when it rolled back; an infrastructure fault is raised
    for the loop to pause on, the leases kept."""
    try:
        async with service.sessions() as session, session.begin():
            for file in landed:
                await post_interchange(session, file.interchange, file.sha, file.key[:FILE_NAME_LENGTH])
            keys = [file.key for file in landed]
            if await db.renew_leases(session, keys, lease.holder, lease.seconds) != len(keys):
                raise LeaseLost(", ".join(keys))
    except (LeaseLost, *FILES_OWN) as exc:
        return exc
    except Exception as exc:
        if is_infrastructure(exc) or not await database_answers(service.sessions):
            raise
        return exc
    return None


async def _post_alone(service: Service[None], inbox: EraInbox, lease: Lease, file: Landed) -> None:
    """Post one read file in a transaction of its own, or quarantine it with the reason when it fails on
    its own (the database refusing its amounts, say)."""
    error = await _post(service, [file], lease)
    if error is None:
        inbox.done(file.path)
    elif isinstance(error, LeaseLost):
        log.warning("835 lease expired while posting; left to the replica that took it", extra={"file": file.key})
    else:
        reason = quarantine_reason(error) if isinstance(error, FILES_OWN) else failure_reason(error)
        await _quarantine(service, inbox, file.path, file.sha, reason)


def _printable(file_name: str) -> str:
    """The name as the database can store it (bytes that are not UTF-8 replaced)."""
    return file_name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


async def _quarantine(service: Service[None], inbox: EraInbox, path: Path, sha: str, reason: str) -> None:
    log.error("835 quarantined", extra={"file": path.name, "reason": reason[:1000]})
    async with service.sessions() as session, session.begin():
        await db.add_quarantined_file(session, sha, _printable(path.name)[:FILE_NAME_LENGTH], reason[:1000])
    inbox.quarantine(path, reason)


def quarantine_reason(exc: Exception) -> str:
    """What the reason file says: the error, then each issue on its line with where it is (segment,
    position in its transaction set with ST = 1, loop, element), its 999 codes and the WEDI level."""
    lines = [f"{type(exc).__name__}: {exc}"]
    for issue in getattr(exc, "issues", ()):
        codes = ", ".join(
            f"{name} {code}" for name, code in (("IK3", issue.ik3), ("IK4", issue.ik4), ("IK5", issue.ik5)) if code
        )
        set_number = f"set {issue.transaction_control_number}: " if issue.transaction_control_number else ""
        lines.append(f"- {set_number}{issue} [{codes}; SNIP level {issue.level}]")
    return "\n".join(lines)


async def post_interchange(session: AsyncSession, interchange: Interchange835, sha: str, file_name: str) -> None:
    """Post one parsed 835 in the caller's transaction (a file already received changes nothing)."""
    await db.lock_matching(session)
    numbers = {payment.patient_control_number for r in interchange.remittances for payment in r.claims}
    plan = plan_posting(interchange, await db.known_claims(session, numbers), datetime.now(UTC))
    era_id = await db.add_era_file(session, sha, file_name, plan.claim_payments, plan.total_paid)
    if era_id is None:
        log.info("835 already received; ignored", extra={"file": file_name})
        return
    stored = await db.add_payments(session, era_id, plan.records())
    postings = plan.postings(stored)
    await publish(session, postings)
    await record_reissues(session, plan, stored, era_id, file_name)
    posted, unmatched = len(postings.events), postings.unmatched
    log.info("835 posted", extra={"file": file_name, "posted": posted, "unmatched": unmatched})


async def record_reissues(session: AsyncSession, plan: PostingPlan, stored: set[UUID], era_id: int, name: str) -> None:
    """Payments the store had already: which earlier file and check carried them, recorded; a file
    with nothing new is marked reissued."""
    repeats = plan.repeats(stored)
    if not repeats:
        return
    reissues = plan.reissues(stored, await db.received_before(session, repeats))
    db.add_reissues(session, era_id, reissues)
    if not stored:
        await db.mark_era_file(session, era_id, "reissued")
    for reissue in reissues:
        REPEATED.labels(reissue.kind).inc(reissue.claim_payments)
        log.warning(
            "835 carries claim payments posted before; not posted again",
            extra={
                "file": name,
                "kind": reissue.kind,
                "claim_payments": reissue.claim_payments,
                "paid": str(reissue.paid),
                "prior_era_id": reissue.prior_era_id,
            },
        )


async def post_waiting(session: AsyncSession, by_number: Mapping[str, KnownClaim]) -> None:
    """Claims became known (by patient control number): post the payments that arrived before them
    (under the matching lock)."""
    waiting = await db.waiting_payments(session, by_number)
    now = datetime.now(UTC)
    await publish(session, post_late([_planned(r, by_number[r["patient_control_number"]]) for r in waiting], now))
    posted = {r["posting_id"]: by_number[r["patient_control_number"]].claim_id for r in waiting}
    await db.mark_posted(session, posted, now)
    await db.resolve_unmatched_claims(session, by_number)


def _planned(stored: Mapping[str, Any], claim: KnownClaim) -> PlannedPayment:
    """A stored payment as the domain plans it (with the posting id it was stored under), read from its JSON
    text once."""
    remittance = Remittance.model_validate_json(stored["remittance_header"])  # the header: stored without its claims
    payment = ClaimPayment.model_validate_json(stored["claim_payment"])
    return PlannedPayment(stored["posting_id"], remittance, payment, claim)


async def publish(session: AsyncSession, postings: Postings) -> None:
    for posting in postings.events:
        event = Event(posting.event, str(posting.event.claim_id), SOURCE, posting.correlation_id)
        outbox.stage(session, topics.PAYMENT_POSTED, event)
    await db.add_work_items(session, postings.work_items)


async def post_forever(service: Service[None], inbox: EraInbox, lease: Lease, fallback_seconds: float) -> None:
    """Post the files in order as they land (told by the kernel, and a look every `fallback_seconds`
    in case it did not tell); while the database is away, pause (and take the same file again)."""
    pause = Pause("inbound/835", "payments.post-remittances", service.settings.retry_backoff_seconds)
    refresh = metrics.Every(10.0)

    async def look() -> None:
        pending = await asyncio.to_thread(lambda: sized(inbox.pending()))
        for files in together(pending):
            await post_files(service, inbox, lease, files)
        if refresh():
            await show_backlog(service, inbox)
            await drop_expired_leases(service)

    async with FolderWatch(inbox.incoming, fallback_seconds=fallback_seconds) as arrivals:
        await look_forever(look, pause, arrivals.wait)


async def show_backlog(service: Service[None], inbox: EraInbox) -> None:
    """Payments waiting for their claim and quarantined 835s, as gauges with the oldest one's age."""
    async with service.sessions() as session:
        count, oldest = await db.waiting_payments_age(session)
    metrics.show_waiting("payment_for_claim", count, oldest)
    metrics.show_quarantined("835", inbox.quarantined)


async def drop_expired_leases(service: Service[None]) -> None:
    """Leases left by a replica that died between moving its file and letting go: free anyway."""
    async with service.sessions() as session, session.begin():
        await db.drop_expired_leases(session)

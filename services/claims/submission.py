"""Submission: ready claims -> one 837P interchange per batch -> the clearinghouse gateway ->
claim.submitted. Two steps, each its own transaction, so nothing is half done:
1. batch: claim ready claims (SKIP LOCKED, so replicas never share one), take the next
   interchange control number, render the 837P and store it with the claims marked batched;
2. deliver: hand a stored batch to the gateway, then mark it delivered and stage claim.submitted
   for each of its claims. A crash between hand-off and commit hands the same file again; a
   gateway that fails leaves the batch rendered, and the next loop hands it over again.
The loop sleeps until there is something to send: a claim made ready (a NOTIFY from the transaction
that made it, migration 0007), or the moment the first grouping window closes; a slow look remains
as the fallback (no notifications, a hand-off to try again)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

import asyncpg

from services.claims import db
from services.claims.built import BuiltClaims
from services.claims.domain.practice import Practice
from services.claims.gateway import ClearinghouseError, ClearinghouseGateway
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1
from shared.db import asyncpg_dsn
from shared.envelope import Event
from shared.service import Service
from x12.claim import Claim, Interchange837, ProviderClaims
from x12.x837p import render_837p

log = logging.getLogger(__name__)
SOURCE = "/openrcm/claims"
# A ready claim another replica built is left to it this long after its grouping window: that replica
# has it as a model already (built.py), where batching it here would read its JSON back (~100 µs a
# claim: a fifth of the submission loop's CPU with two replicas). Longer than a busy replica's loop, so
# a claim whose builder died or forgot it (a restart, a full cache) is only this much later.
LEFT_TO_BUILDER_SECONDS = 2.0


def interchange_for(practice: Practice, control_number: int, claims: list[Claim], now: datetime) -> Interchange837:
    return Interchange837(
        sender_id=practice.sender_id,
        receiver_id=practice.receiver_id,
        control_number=control_number,
        group_control_number=control_number,
        created=now,
        usage=practice.usage,
        submitter=practice.submitter,
        receiver=practice.receiver,
        transactions=(ProviderClaims(billing_provider=practice.billing_provider, claims=tuple(claims)),),
    )


async def make_batch(
    service: Service[Any],
    practice: Practice,
    max_claims: int,
    grouping_window: float = 0.0,
    built: BuiltClaims | None = None,
) -> tuple[int, float | None]:
    """Ready claims into one 837P; a claim that may still take in the patient's other encounters of
    the day waits out the grouping window first; one another replica built is left to it for a while
    (LEFT_TO_BUILDER_SECONDS). Returns how many were batched and, when there was
    room for more, the seconds until the first waiting claim's window closes (None: none waits).
    `built`: the claims this process built, taken as they are when stored unchanged (built.py)."""
    mine = built.ids() if built is not None else None
    async with service.sessions() as session, session.begin():
        ready = await db.claims_to_batch(session, max_claims, grouping_window, mine, LEFT_TO_BUILDER_SECONDS)
        waiting = len(ready) < max_claims and (grouping_window > 0 or mine is not None)
        window_closes = (
            await db.seconds_until_a_window_closes(session, grouping_window, mine, LEFT_TO_BUILDER_SECONDS)
            if waiting
            else None
        )
        if not ready:
            return 0, window_closes
        control_number = await db.next_interchange_control_number(session)
        # The 837P is written from the models: those built here as stored, the others validated from
        # their JSON (in one call).
        claims = (built or BuiltClaims(most=0)).take(ready)
        file_name = f"{practice.sender_id}-{control_number:09d}.837p.x12"
        content = render_837p(interchange_for(practice, control_number, claims, datetime.now(UTC)))
        await db.store_batch(session, control_number, file_name, content, [claim_id for claim_id, _ in ready])
    log.info("837P batch rendered", extra={"interchange": control_number, "claims": len(ready)})
    return len(ready), window_closes


def submitted_event(claim: Mapping[str, Any], batch: db.RenderedBatch, now: datetime) -> Event[ClaimSubmittedV1]:
    """claim.submitted from what mark_delivered returns of a claim (db.SUBMITTED_COLUMNS and its lines).
    Validated as one dict, its lines as dicts inside it: pydantic-core checks them all in one call (a
    SubmittedLine built in Python per line cost more; model_construct, skipping the checks, was no faster)."""
    data = ClaimSubmittedV1.model_validate(
        {
            "claim_id": claim["claim_id"],
            "patient_control_number": claim["patient_control_number"],
            "encounter_id": claim["encounter_id"],
            "encounter_ids": claim["encounter_ids"] or [claim["encounter_id"]],
            "patient_id": claim["patient_id"],
            "payer_id": claim["payer_id"],
            "payer_name": claim["payer_name"],
            "date_of_service": claim["date_of_service"],
            "total_charge": claim["total_charge"],
            "lines": [
                # Read from the stored JSON: the claim was validated as an 837 model when it was built.
                {
                    "line_number": line["line_number"],
                    "procedure_code": line["procedure_code"],
                    "modifiers": line["modifiers"],
                    "units": int(Decimal(line["units"])),
                    "charge": line["charge"],
                }
                for line in claim["lines"]
            ],
            "interchange_control_number": batch.interchange_control_number,
            "file_name": batch.file_name,
            "submitted_at": now,
            "kind": claim["kind"],
            "original_claim_id": claim["original_claim_id"],
        }
    )
    return Event(data, str(claim["claim_id"]), SOURCE, claim["correlation_id"])


async def deliver_batch(service: Service[Any], gateway: ClearinghouseGateway) -> bool:
    async with service.sessions() as session, session.begin():
        batch = await db.next_rendered_batch(session)
        if batch is None:
            return False
        await asyncio.to_thread(gateway.submit, batch.file_name, batch.content)
        now = datetime.now(UTC)
        claims = await db.mark_delivered(session, batch, now)
        outbox.stage_all(session, topics.CLAIM_SUBMITTED, (submitted_event(c, batch, now) for c in claims))
    log.info("837P delivered", extra={"file": batch.file_name, "claims": batch.claim_count})
    return True


async def submit_forever(
    service: Service[Any],
    practice: Practice,
    gateway: ClearinghouseGateway,
    max_claims: int,
    fallback: float,
    grouping_window: float = 0.0,
    delivered: asyncio.Event | None = None,
    spacing: float = 0.0,
    built: BuiltClaims | None = None,
) -> None:
    """Batch and deliver whenever there is something to send; `delivered` is set after each 837P handed
    over. A batch that was not full is followed by the next one `spacing` seconds later at the earliest:
    a steady stream of ready claims makes a few fuller files, not one per claim (each file costs the
    clearinghouse, the payer and us a round of parsing, acknowledging and posting)."""
    async with ReadyClaims(asyncpg_dsn(service.database_url), fallback) as ready:
        while True:
            ready.clear()  # a claim made ready from here on wakes the wait below
            batched, window_closes = await make_batch(service, practice, max_claims, grouping_window, built)
            made = time.monotonic()
            try:
                while await deliver_batch(service, gateway):
                    if delivered is not None:
                        delivered.set()
            except ClearinghouseError as error:  # the batch stays rendered; a later look tries it again
                log.error("837P not delivered", extra={"error": str(error)})
                batched = 0
            if batched < max_claims:
                await ready.wait(window_closes)
                if batched:
                    await asyncio.sleep(max(0.0, made + spacing - time.monotonic()))


READY_CHANNEL = "claim_ready"  # migration 0007's trigger notifies it
RECONNECT_SECONDS = 1.0


class ReadyClaims:
    """Wakes the submission loop when claims become ready. The transaction that inserts them sends
    a NOTIFY: "now" for a claim that may go out at once, "later" for one that first waits out its
    grouping window. Listens on a connection of its own, made again when lost (the loop then looks
    at once: a notification may have been missed); without it, the loop looks every `fallback_seconds`."""

    def __init__(self, dsn: str, fallback_seconds: float) -> None:
        self.dsn, self.fallback_seconds = dsn, fallback_seconds
        self._wake = asyncio.Event()
        self._window_pending = False  # the loop already sleeps only until a grouping window closes
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._listen(), name="claim-ready-listener")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def clear(self) -> None:
        """Before each look: any claim made ready from now on wakes the next wait."""
        self._wake.clear()
        self._window_pending = False

    async def wait(self, window_closes: float | None) -> None:
        """Until a claim may go out at once, or the first grouping window closes (in `window_closes`
        seconds; None: no claim waits in its window, so a new one wakes the loop to learn when its
        window closes), or the fallback look is due."""
        self._window_pending = window_closes is not None
        timeout = self.fallback_seconds if window_closes is None else min(window_closes, self.fallback_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(0.0, timeout))

    def notified(self, payload: str) -> None:
        # A claim still in its window does not need a look while one is already due before its window closes.
        if payload == "now" or not self._window_pending:
            self._wake.set()

    async def _listen(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(self.dsn)
                try:
                    await self._listen_on(connection)
                finally:
                    connection.terminate()
                log.warning("claim-ready listener lost its connection; listening again")
                await asyncio.sleep(RECONNECT_SECONDS)
            except Exception as exc:  # noqa: BLE001 -- without notifications the loop still looks every fallback
                log.warning("claim-ready notifications unavailable", extra={"error": type(exc).__name__})
                await asyncio.sleep(max(RECONNECT_SECONDS, self.fallback_seconds))

    async def _listen_on(self, connection: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        await connection.add_listener(READY_CHANNEL, lambda _c, _pid, _channel, payload: self.notified(payload))
        self._wake.set()  # a claim may have become ready while nobody listened
        await lost.wait()

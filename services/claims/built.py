"""The 837 claims this process built, kept until the submission loop batches them: validating a
stored claim's JSON back into the model cost ~100 µs a claim, the loop's largest cost after writing
the 837P. A claim is taken from here only when its stored JSON, as PostgreSQL gives it back, is the
very text PostgreSQL returned when it was written; any other (a fix, another replica's claim, one
built before a restart or forgotten) is validated from the database as before."""

import time
from collections.abc import Callable, Sequence
from uuid import UUID

from pydantic import TypeAdapter

from x12.claim import Claim

STORED_CLAIMS = TypeAdapter(list[Claim])  # stored 837 claims, read from one JSON array


class BuiltClaims:
    """Built claims by id, with their stored JSON text. Bounded by count and age: a claim another
    replica batches is never taken here, and must not hold its place for good. When full, newer
    claims are not kept, so the oldest (those batched next) still are. 4,000: four full batches, about
    40 MB (a claim with its text ~10 KB)."""

    def __init__(self, most: int = 4000, seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.most, self.seconds, self.clock = most, seconds, clock
        self._kept: dict[UUID, tuple[float, str, Claim]] = {}  # in the order kept: oldest first

    def __len__(self) -> int:
        return len(self._kept)

    def keep(self, claim_id: UUID, stored: str, claim: Claim) -> None:
        """`stored`: the claim's content as PostgreSQL returned it from the statement that wrote it."""
        now = self.clock()
        self._forget_older_than(now - self.seconds)
        self._kept.pop(claim_id, None)  # a grown claim: its new text, kept as the newest
        if len(self._kept) < self.most:
            self._kept[claim_id] = (now, stored, claim)

    def ids(self) -> list[UUID]:
        """The claims kept now (the submission loop batches these first: services.claims.db.claims_to_batch)."""
        self._forget_older_than(self.clock() - self.seconds)
        return list(self._kept)

    def take(self, stored: Sequence[tuple[UUID, str]]) -> list[Claim]:
        """The claims of these (id, stored JSON) rows, in their order: those kept with the same text
        as they were built, the others validated from their JSON in one call. None is kept afterwards."""
        found: list[Claim | None] = []
        for claim_id, content in stored:
            kept = self._kept.pop(claim_id, None)
            found.append(kept[2] if kept is not None and kept[1] == content else None)
        missing = [content for (_, content), claim in zip(stored, found, strict=True) if claim is None]
        read = iter(STORED_CLAIMS.validate_json(f"[{','.join(missing)}]") if missing else ())
        return [claim if claim is not None else next(read) for claim in found]

    def _forget_older_than(self, moment: float) -> None:
        while self._kept:
            claim_id, (kept_at, _, _) = next(iter(self._kept.items()))
            if kept_at >= moment:
                return
            del self._kept[claim_id]

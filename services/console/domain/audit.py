"""The auditor's view across the five services: each keeps its own audit trail (GET /v1/audit, oldest
first, paged by id); the console merges them by time, a page at a time. The cursor holds each
service's position: the last entry shown of it, or that it has nothing more."""

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

END = "end"
Positions = dict[str, str | None]  # service -> None (from the start), an entry id (after it) or END


@dataclass(frozen=True)
class Merged:
    entries: list[dict[str, Any]]  # each with "service"
    next: Positions | None  # None: every service is at its end


def merge(fetched: Mapping[str, tuple[Sequence[Mapping[str, Any]], bool]], positions: Positions, limit: int) -> Merged:
    """`fetched`: per service, its entries after its position and whether it has more after those."""
    pool = [{**entry, "service": service} for service, (entries, _) in fetched.items() for entry in entries]
    pool.sort(key=lambda e: (str(e.get("recorded")), e["service"], int(e.get("id") or 0)))
    shown = pool[:limit]
    after: Positions = dict(positions)
    for service, (entries, more) in fetched.items():
        taken = [e for e in shown if e["service"] == service]
        if taken:
            after[service] = str(taken[-1]["id"])
        if len(taken) == len(entries) and not more:
            after[service] = END
    done = all(after.get(service) == END for service in fetched)
    return Merged(shown, None if done else after)


def encode(positions: Positions) -> str:
    return base64.urlsafe_b64encode(json.dumps(positions, sort_keys=True).encode()).decode()


def decode(cursor: str | None, services: Sequence[str]) -> Positions:
    """The positions a cursor holds; a cursor that is not ours starts from the beginning."""
    if not cursor:
        return dict.fromkeys(services)
    try:
        held = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        return dict.fromkeys(services)
    if not isinstance(held, dict):
        return dict.fromkeys(services)
    return {s: held.get(s) if isinstance(held.get(s), str) else None for s in services}

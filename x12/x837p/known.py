"""Service lines billed again as before (the same procedure, charge, date and pointers: a clinic's day
of office visits) validated once. Without a drug or another payer's answer inside, a line's data is
made from its own segments alone (and the claim's place of service when the line names none), and the
models are immutable and validate each line on its own: a line valid alone is the same line in any
claim. A line that is not valid alone stays data, so the claim's validation reports it as before."""

from __future__ import annotations

from pydantic import ValidationError

from x12.claim import ServiceLine
from x12.envelope import Separators
from x12.reading import Loop
from x12.x837p.segments import Data

_KEPT = 10_000  # bounded: past it, new lines are validated every time, as before
# the claim's place of service, the separators and the line's segments as read
LineKey = tuple[str, Separators, tuple[tuple[str, ...], ...]]
_known: dict[LineKey, ServiceLine] = {}


def known_lines(loops: list[Loop], lines: list[Data], claim_place: str) -> list[ServiceLine | Data]:
    """Each line (2400) as its model when seen before or valid alone, else as its data."""
    return [_line(loop, data, claim_place) for loop, data in zip(loops, lines, strict=True)]


def _line(loop: Loop, data: Data, claim_place: str) -> ServiceLine | Data:
    if loop.loops:
        return data  # its data depends on more than its own segments
    key: LineKey = (claim_place, loop.opener.separators, tuple(tuple(s.elements) for s in loop.segments))
    line = _known.get(key)
    if line is None:
        try:
            line = ServiceLine.model_validate(data)
        except ValidationError:
            return data
        if len(_known) < _KEPT:
            _known[key] = line
    return line

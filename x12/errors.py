"""What every reader and writer in this package raises, and the issues a reader finds.

Messages and reasons name segments, loops, elements and codes, never element values, so they are
safe to log: values may carry patient data. Amounts appear only in balancing reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# WEDI SNIP levels a reader checks: 1 syntax (envelope, separators), 2 the guide's rules, 3 balancing.
SYNTAX, GUIDE, BALANCING = 1, 2, 3


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a transaction set, said the way a 999 says it.

    `ik3` is the IK304 segment error code (1 unrecognized segment, 2 unexpected, 3 required segment
    missing, 4 loop over its maximum, 5 segment over its maximum use, 7 not in sequence, 8 element
    errors), `ik4` the IK403 element error code (1 required element missing, 6 invalid character or
    not a number, 7 invalid code value, 8 invalid date, 9 invalid time), `ik5` the IK502 set code
    (3 control numbers differ, 4 segment count wrong, 5 segments in error)."""

    segment_id: str
    position: int | None  # in the transaction set, ST = 1; None: in the envelope
    loop: str | None  # the guide's loop id (2100, 1000A); None: header or trailer
    reason: str
    ik3: str | None = None
    element: int | None = None  # 1-based element position
    component: int | None = None  # 1-based component position, for composites
    ik4: str | None = None
    ik5: str = "5"
    level: int = GUIDE
    transaction_control_number: str | None = None  # ST02 of the set

    def __str__(self) -> str:
        where = f"{self.segment_id}" + (f" at segment {self.position}" if self.position is not None else "")
        where += f" (loop {self.loop})" if self.loop else ""
        if self.element is not None:
            name = f"{self.segment_id}{self.element:02d}" + (f"-{self.component}" if self.component else "")
            where += f", element {name}"
        return f"{where}: {self.reason}"


class X12Error(ValueError):
    """A document that cannot be read or written as valid X12.

    `issues` lists every problem found (empty when the document could not be read far enough to
    say more than the message); `segment_id` and `position` are those of the first."""

    def __init__(
        self,
        message: str,
        segment_id: str | None = None,
        position: int | None = None,
        transaction_control_number: str | None = None,
        issues: Sequence[Issue] = (),
    ):
        super().__init__(message)
        self.segment_id = segment_id
        self.position = position  # segment position within its transaction set (ST = 1)
        self.transaction_control_number = transaction_control_number  # ST02 of that set
        self.issues = tuple(issues)

    @classmethod
    def of(cls, issues: Sequence[Issue], shown: int = 5) -> X12Error:
        """One error for the issues found: the message lists the first few, in file order."""
        first = issues[0]
        more = f" (and {len(issues) - shown} more)" if len(issues) > shown else ""
        message = "; ".join(str(issue) for issue in issues[:shown]) + more
        return cls(message, first.segment_id, first.position, first.transaction_control_number, issues)

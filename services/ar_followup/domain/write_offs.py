"""When a write-off needs a second person. Splitting one into pieces must not avoid that: what a claim
has had written off without a second person's approval counts with each new piece, and so does what
the person asking wrote off that day on any claim. Pure: no I/O."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class WriteOffLimits:
    per_claim: Decimal  # a claim's write-offs without approval, together, at most this
    per_person_per_day: Decimal  # one person's write-offs without approval in a day, together, at most this


def needs_approval(amount: Decimal, claim_so_far: Decimal, person_today: Decimal, limits: WriteOffLimits) -> bool:
    """`claim_so_far` and `person_today`: what went through without approval before this one."""
    return claim_so_far + amount > limits.per_claim or person_today + amount > limits.per_person_per_day

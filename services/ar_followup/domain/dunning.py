"""Patient statements once insurance is done: a first statement, reminders at 30, 60 and 90 days,
a final notice at 120 and the hand-off to collections at 150. A payment plan in good standing
pauses the reminders: the patient gets the plan's monthly statement instead. Pure."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

ZERO = Decimal("0.00")
# (stage, days after the first statement)
SCHEDULE = (
    ("first", 0),
    ("reminder_30", 30),
    ("reminder_60", 60),
    ("reminder_90", 90),
    ("final_notice", 120),
    ("collections", 150),
)
STAGES = tuple(stage for stage, _ in SCHEDULE)
PLAN_PERIOD_DAYS = 30


@dataclass(frozen=True)
class Account:
    balance: Decimal  # what the patient owes now
    insurance_done: bool  # no claim of the patient still waits for a payer
    first_statement_on: date | None
    last_stage: str | None
    last_statement_on: date | None
    plan_installment: Decimal | None = None  # an active payment plan's monthly amount


def next_statement(account: Account, today: date) -> str | None:
    """The statement due today, or None."""
    if account.balance <= ZERO or not account.insurance_done or account.last_stage == "collections":
        return None
    if account.first_statement_on is None:
        return "first"
    if account.plan_installment is not None:
        last = account.last_statement_on
        return "plan" if last is None or today >= last + timedelta(days=PLAN_PERIOD_DAYS) else None
    sent = STAGES.index(account.last_stage) if account.last_stage in STAGES else 0
    # The latest stage that has come due; stages missed while the service was down are not sent late.
    due = [stage for stage, days in SCHEDULE[sent + 1 :] if today >= account.first_statement_on + timedelta(days=days)]
    return due[-1] if due else None


def amount_due(account: Account) -> Decimal:
    if account.plan_installment is not None:
        return min(account.plan_installment, account.balance)
    return account.balance

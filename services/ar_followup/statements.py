"""Patient statements: the dunning cycle over patient accounts, each statement rendered as a PDF
(fpdf2), kept in the deployment's own statements folder (mode 0700, each PDF 0600: they carry names
and addresses) and announced on statement.issued without names or addresses."""

import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from fpdf import FPDF
from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import SOURCE, db
from services.ar_followup.domain.dunning import Account, amount_due, next_statement
from services.ar_followup.domain.ledger import balances
from services.ar_followup.settings import ArSettings
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import StatementIssuedV1
from shared.envelope import Event

ZERO = Decimal("0.00")
Ledgers = list[tuple[db.ArClaim, dict[str, Decimal]]]  # a patient's claims with their totals by kind
HEADINGS = {
    "first": "Statement",
    "reminder_30": "Reminder",
    "reminder_60": "Second reminder",
    "reminder_90": "Third reminder",
    "final_notice": "Final notice",
    "plan": "Payment plan statement",
    "collections": "Notice: account referred to collections",
}


@dataclass(frozen=True)
class Line:
    date_of_service: date | None
    payer_name: str
    charge: Decimal
    insurance_paid: Decimal
    adjusted: Decimal
    patient_paid: Decimal
    you_owe: Decimal


def render_pdf(
    stage: str, person: dict | None, lines: list[Line], balance: Decimal, due: Decimal, issued_on: date
) -> bytes:
    pdf = FPDF(format="letter")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, HEADINGS.get(stage, "Statement"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    if person:
        address = person.get("address") or {}
        for text in (
            f"{person.get('first_name', '')} {person.get('last_name', '')}",
            address.get("line1"),
            address.get("line2"),
            f"{address.get('city', '')}, {address.get('state', '')} {address.get('postal_code', '')}",
        ):
            if text and text.strip(", "):
                pdf.cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(0, 5, f"Statement date: {issued_on.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(22, 40, 20, 22, 20, 20, 20), text_align="RIGHT") as table:
        table.row(["Date", "Insurance", "Charge", "Ins. paid", "Adjusted", "You paid", "You owe"])
        for line in lines:
            table.row(
                [
                    line.date_of_service.isoformat() if line.date_of_service else "",
                    _latin1(line.payer_name),
                    f"{line.charge}",
                    f"{line.insurance_paid}",
                    f"{line.adjusted}",
                    f"{line.patient_paid}",
                    f"{line.you_owe}",
                ]
            )
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 7, f"Balance: ${balance}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"Amount due now: ${due}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")  # the core fonts are Latin-1


def insurance_done(claim: db.ArClaim, totals: dict) -> bool:
    return claim.adjudicated and not claim.secondary_pending and balances(totals).insurance_balance <= ZERO


def account_of(row: db.PatientAccount, claims: Ledgers) -> Account:
    """The patient's account as statements see it: only what insurance is done with is billed."""
    done = [t for c, t in claims if insurance_done(c, t)]
    owed = sum((balances(t).patient_balance for t in done), ZERO)
    return Account(
        owed, bool(done), row.first_statement_on, row.last_stage, row.last_statement_on, row.plan_installment
    )


async def issue_statements(session: AsyncSession, folder: Path, now: datetime) -> list[UUID]:
    """Issue every statement due today; returns their ids. The caller's transaction holds the outbox."""
    accounts = await db.all_accounts_for_update(session)
    by_patient = await db.patient_ledgers(session, [a.patient_id for a in accounts])
    issued = []
    for row in accounts:
        claims = by_patient.get(row.patient_id, [])
        stage = next_statement(account_of(row, claims), now.date())
        if stage is not None:
            issued.append(_issue(session, folder, row, claims, stage, now))
    return issued


def _issue(
    session: AsyncSession, folder: Path, row: db.PatientAccount, claims: Ledgers, stage: str, now: datetime
) -> UUID:
    """One statement: its PDF, its record, the account's dunning state, and statement.issued."""
    today, statement_id = now.date(), uuid.uuid4()
    account, billed = account_of(row, claims), [(c, balances(t)) for c, t in claims if insurance_done(c, t)]
    lines = [
        Line(c.date_of_service, c.payer_name or "", b.charge, b.paid, b.adjusted, b.patient_paid, b.patient_balance)
        for c, b in billed
        if b.patient_balance > ZERO
    ]
    due = amount_due(account)
    document = folder / f"{statement_id}.pdf"
    _write(document, render_pdf(stage, row.person, lines, account.balance, due, today))
    session.add(
        db.Statement(
            statement_id=statement_id,
            patient_id=row.patient_id,
            stage=stage,
            balance=account.balance,
            amount_due=due,
            issued_on=today,
            document=str(document),
        )
    )
    row.first_statement_on = row.first_statement_on or today
    row.last_statement_on = today
    if stage != "plan":
        row.last_stage = stage
    issued = StatementIssuedV1(
        statement_id=statement_id,
        patient_id=row.patient_id,
        stage=stage,
        balance=account.balance,
        amount_due=due,
        claim_ids=[c.claim_id for c, _ in billed],
        document=document.name,
        issued_on=today,
        issued_at=now,
    )
    outbox.stage(session, topics.STATEMENT_ISSUED, Event(issued, str(row.patient_id), SOURCE, str(statement_id)))
    return statement_id


def statements_folder(settings: ArSettings) -> Path:
    """The deployment's own folder, named by its namespace (topic prefix): statements of one
    namespace never lie beside another's."""
    return settings.ar_statements_dir / (settings.topic_prefix.rstrip("_") or "default")


def _write(path: Path, content: bytes) -> None:
    """Written under a temporary name and renamed; only the service's own user may read it."""
    for folder in (path.parent.parent, path.parent):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    temp = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    os.replace(temp, path)

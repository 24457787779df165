"""The simulator's memory: interchanges already paid, member deductibles, 835 control numbers."""

import sqlite3
from decimal import Decimal
from pathlib import Path

from x12.remittance import ClaimPayment

AccumulatorKey = tuple[str, str, int]  # payer id, member id, benefit year

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interchanges (
    sender_id TEXT NOT NULL, control_number INTEGER NOT NULL, PRIMARY KEY (sender_id, control_number));
CREATE TABLE IF NOT EXISTS deductibles (
    payer_id TEXT NOT NULL, member_id TEXT NOT NULL, year INTEGER NOT NULL, met TEXT NOT NULL,
    PRIMARY KEY (payer_id, member_id, year));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    payer_claim_control_number TEXT PRIMARY KEY, payment TEXT NOT NULL, reversed INTEGER NOT NULL DEFAULT 0);
"""


class Store:
    def __init__(self, path: Path):
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def already_paid(self, sender_id: str, control_number: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM interchanges WHERE sender_id = ? AND control_number = ?", (sender_id, control_number)
        ).fetchone()
        return row is not None

    def deductibles(self, keys: set[AccumulatorKey]) -> dict[AccumulatorKey, Decimal]:
        """The deductible met so far for each key (zero when the member is new)."""
        met = {}
        for key in keys:
            row = self._db.execute(
                "SELECT met FROM deductibles WHERE payer_id = ? AND member_id = ? AND year = ?", key
            ).fetchone()
            met[key] = Decimal(row[0]) if row else Decimal("0.00")
        return met

    def payments(self, numbers: set[str]) -> dict[str, ClaimPayment]:
        """The payments made under these payer claim numbers and not reversed since."""
        found = {}
        for number in numbers:
            row = self._db.execute(
                "SELECT payment FROM payments WHERE payer_claim_control_number = ? AND reversed = 0", (number,)
            ).fetchone()
            if row:
                found[number] = ClaimPayment.model_validate_json(row[0])
        return found

    def next_control_number(self) -> int:
        """The next 835 ISA13; only `record` consumes it, so a retried file gets the same numbers."""
        row = self._db.execute("SELECT value FROM counters WHERE name = 'isa'").fetchone()
        return row[0] + 1 if row else 1

    def record(
        self,
        sender_id: str,
        control_number: int,
        deductibles: dict[AccumulatorKey, Decimal],
        isa_used: int,
        payments: dict[str, ClaimPayment] | None = None,
        reversed_numbers: tuple[str, ...] = (),
    ) -> None:
        """Remember a paid interchange and its effects, all or nothing."""
        with self._db:
            self._db.execute("INSERT INTO interchanges VALUES (?, ?)", (sender_id, control_number))
            self._db.executemany(
                "INSERT OR REPLACE INTO payments VALUES (?, ?, 0)",
                [(number, p.model_dump_json()) for number, p in (payments or {}).items()],
            )
            self._db.executemany(
                "UPDATE payments SET reversed = 1 WHERE payer_claim_control_number = ?",
                [(number,) for number in reversed_numbers],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO deductibles VALUES (?, ?, ?, ?)",
                [(*key, str(met)) for key, met in deductibles.items()],
            )
            if isa_used:
                last = self.next_control_number() - 1 + isa_used
                self._db.execute("INSERT OR REPLACE INTO counters VALUES ('isa', ?)", (last % 999_999_999,))

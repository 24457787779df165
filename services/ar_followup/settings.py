"""A/R's settings (environment prefix RCM_). `ar_now` freezes the service's clock: aging, reminders
and deadlines then run as of that moment, so tests and what-if runs need not wait for days to pass."""

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from shared.settings import ServiceSettings


class ArSettings(ServiceSettings):
    service_name: str = "ar_followup"
    ar_now: datetime | None = None
    ar_write_off_approval_threshold: Decimal = Decimal("100.00")  # larger write-offs wait for a second person
    ar_no_response_days: int = 30  # a claim with no answer after this long gets a 276 status request
    ar_timely_filing_alert_days: int = 30  # alert this many days before a payer's filing limit
    ar_underpayment_tolerance: Decimal = Decimal("1.00")
    ar_contract_rates_file: Path | None = None  # CSV payer_id,procedure_code,allowed: the practice's contracts
    ar_statements_dir: Path = Path(".run/statements")
    ar_cycle_seconds: float = 600.0  # how often the follow-up cycle (status requests, statements) runs
    # who asks for claim status (276): the practice's interchange ids and billing provider, as claims sends them
    ar_sender_id: str = "OPENRCM01"
    ar_receiver_id: str = "SIMCH"
    ar_provider_name: str = "SPRINGFIELD FAMILY MEDICINE"
    ar_provider_npi: str = "1245319599"

    def now(self) -> datetime:
        return self.ar_now or datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()

    def timely_filing_days(self) -> dict[str, int]:
        return {
            p["payer_id"]: int(p["timely_filing_days"]) for p in self.payer_directory() if p.get("timely_filing_days")
        }

    def contract_rates(self) -> dict[str, dict[str, Decimal]]:
        rates: dict[str, dict[str, Decimal]] = {}
        if self.ar_contract_rates_file is None:
            return rates
        with open(self.ar_contract_rates_file, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rates.setdefault(row["payer_id"], {})[row["procedure_code"]] = Decimal(row["allowed"])
        return rates

"""A/R's settings (environment prefix RCM_). The service runs on the real clock: statements, status
requests and alerts are issued as of now. A simulated clock is for tests only (RCM_ENVIRONMENT=production
refuses it, the chart never sets it): `ar_now` freezes the clock, and `ar_simulated_clock` lets
`POST /v1/cycle?as_of=` run the cycle at another moment, so tests need not wait for days to pass.
Reads take `as_of` whatever the clock."""

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import model_validator

from services.ar_followup.domain.write_offs import WriteOffLimits
from shared.settings import ServiceSettings


class ArSettings(ServiceSettings):
    service_name: str = "ar_followup"
    ar_now: datetime | None = None  # a simulated clock, frozen at this moment (tests only)
    ar_simulated_clock: bool = False  # tests only: the cycle may run as of another moment (implied by ar_now)
    # A write-off waits for a second person when, with what went through without approval before it, it
    # takes its claim's write-offs above the first or the day's write-offs of the person asking above the second.
    ar_write_off_approval_threshold: Decimal = Decimal("100.00")
    ar_write_off_daily_threshold: Decimal = Decimal("250.00")
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

    @model_validator(mode="after")
    def _real_clock_in_production(self) -> "ArSettings":
        if self.production and self.simulated_clock:
            raise ValueError("RCM_AR_NOW and RCM_AR_SIMULATED_CLOCK are for tests: production runs on the real clock")
        return self

    @property
    def simulated_clock(self) -> bool:
        return self.ar_simulated_clock or self.ar_now is not None

    def write_off_limits(self) -> WriteOffLimits:
        return WriteOffLimits(self.ar_write_off_approval_threshold, self.ar_write_off_daily_threshold)

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

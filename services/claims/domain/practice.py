"""The practice's billing identity and its chargemaster, loaded from data files."""

import csv
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import field_validator

from x12.claim import BillingProvider, Receiver, Submitter
from x12.npi import npi_is_valid
from x12.types import Model

DATA = Path(__file__).resolve().parent.parent / "data"


class Practice(Model):
    billing_provider: BillingProvider
    submitter: Submitter
    receiver: Receiver
    sender_id: str
    receiver_id: str
    usage: Literal["T", "P"] = "T"

    @field_validator("billing_provider")
    @classmethod
    def _npi_checks(cls, provider: BillingProvider) -> BillingProvider:
        if provider.npi is None or not npi_is_valid(provider.npi):
            raise ValueError("the billing provider needs a valid NPI (10 digits, Luhn check over 80840)")
        return provider


def load_practice(path: Path | None = None) -> Practice:
    return Practice.model_validate(json.loads((path or DATA / "practice.json").read_text()))


def claim_filing_indicators(directory: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """payer id -> the claim filing indicator (837P SBR09: 12 PPO, HM HMO, MB Medicare B, MC Medicaid...)
    the payer directory (shared/reference/payers.json) gives it."""
    return {str(p["payer_id"]): str(p["claim_filing_indicator"]) for p in directory if p.get("claim_filing_indicator")}


def load_chargemaster(path: Path | None = None) -> dict[str, Decimal]:
    """code -> charge per unit. CPT code numbers and the practice's own prices only: no descriptions."""
    with (path or DATA / "chargemaster.csv").open(newline="") as file:
        return {row["code"].strip().upper(): Decimal(row["charge"]) for row in csv.DictReader(file)}

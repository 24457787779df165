"""What each simulated payer agreed to pay, loaded from a JSON data file."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import Field

from x12.remittance import ClaimFilingIndicator, RemitPayer
from x12.types import Model, Money, TaxId

DEFAULT_CONTRACTS = Path(__file__).resolve().parent.parent / "contracts.json"
Rate = Annotated[Decimal, Field(ge=0, le=1)]


class Contract(Model):
    payer: RemitPayer
    tax_id: TaxId  # the payer's EIN, sent in TRN03
    claim_filing_indicator: ClaimFilingIndicator  # the plan type this payer reports in CLP06
    fee_schedule: dict[str, Money]  # allowed amount for one unit of a procedure code
    default_allowed_percent: Rate  # of the charge, for codes not in the fee schedule
    annual_deductible: Annotated[Money, Field(ge=0)]
    coinsurance_rate: Rate
    office_visit_copay: Annotated[Money, Field(ge=0)]


def load_contracts(path: Path = DEFAULT_CONTRACTS) -> dict[str, Contract]:
    """Contracts by payer id."""
    data = json.loads(Path(path).read_text())
    contracts = [Contract.model_validate(item) for item in data["payers"]]
    return {c.payer.id: c for c in contracts}

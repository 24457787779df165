"""What each simulated payer agreed to pay, loaded from a JSON data file."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import Field

from x12.remittance import CarcCode, ClaimFilingIndicator, RemitPayer
from x12.types import Model, Money, ProcedureCode, TaxId

DEFAULT_CONTRACTS = Path(__file__).resolve().parent.parent / "contracts.json"
Rate = Annotated[Decimal, Field(ge=0, le=1)]


class DenialRule(Model):
    """A line is denied with `carc` (group CO) when it is one of `codes` (any code if empty) and every
    condition given holds. E.g. CO-16 no prior authorization, CO-50 a diagnosis that does not support
    the service, CO-97 bundled into a code billed beside it, CO-29 filed after the payer's limit."""

    carc: CarcCode
    codes: frozenset[ProcedureCode] = frozenset()
    without_prior_authorization: bool = False
    unless_diagnosis_prefixes: tuple[str, ...] = ()  # medically necessary only with one of these
    bundled_with: frozenset[ProcedureCode] = frozenset()  # denied when the claim also bills one of these
    filed_after_days: Annotated[int, Field(ge=1)] | None = None  # days from the date of service to receipt


class Contract(Model):
    payer: RemitPayer
    tax_id: TaxId  # the payer's EIN, sent in TRN03
    claim_filing_indicator: ClaimFilingIndicator  # the plan type this payer reports in CLP06
    fee_schedule: dict[str, Money]  # allowed amount for one unit of a procedure code
    default_allowed_percent: Rate  # of the charge, for codes not in the fee schedule
    annual_deductible: Annotated[Money, Field(ge=0)]
    coinsurance_rate: Rate
    office_visit_copay: Annotated[Money, Field(ge=0)]
    denial_rules: tuple[DenialRule, ...] = ()
    # About one claim in N is denied at random (stable per claim), with CO-16/50/97/29; 0 turns it off.
    random_denial_one_in: Annotated[int, Field(ge=0)] = 15
    # Member ids the front end does not know (277CA A7:164): the simulator keeps no roster.
    unknown_member_prefixes: tuple[str, ...] = ("TERM", "UNKNOWN")
    # Member ids whose claims the payer accepts (277CA A2:20) and then sits on: no 835 ever comes, and a
    # 276 is answered P1:20 (pending, in process). A payer that never answers, to try claim follow-up on.
    pended_member_prefixes: tuple[str, ...] = ("PEND",)


def load_contracts(path: Path = DEFAULT_CONTRACTS) -> dict[str, Contract]:
    """Contracts by payer id."""
    data = json.loads(Path(path).read_text())
    contracts = [Contract.model_validate(item) for item in data["payers"]]
    return {c.payer.id: c for c in contracts}

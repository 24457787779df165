"""The payer directory: which payers the practice bills, how claims reach them, how long it has to
file, and whether they answer eligibility requests. Configuration data, not code: the default file
is shared/reference/payers.json, RCM_PAYER_DIRECTORY_FILE names another."""

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.events import Contract, PayerId
from shared.reference import PAYER_DIRECTORY as DEFAULT_FILE


class Submission(Contract):
    channel: Literal["clearinghouse"] = "clearinghouse"
    receiver_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ]{1,15}$")] = Field(
        description="ISA08 of interchanges sent for this payer."
    )
    usage: Literal["T", "P"] = "P"


class Payer(Contract):
    payer_id: PayerId
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    claim_filing_indicator: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")] = Field(
        description="SBR09, e.g. 12 PPO, HM HMO, MB Medicare Part B, MC Medicaid."
    )
    submission: Submission
    timely_filing_days: int = Field(ge=1, le=3650, description="Days after the date of service to file a claim.")
    accepts_eligibility: bool = Field(description="Whether the payer answers X12 270 eligibility requests.")
    same_day_encounters: Literal["one_claim", "claim_each"] = Field(
        default="one_claim",
        description="How the payer wants a patient's encounters of one date with one provider "
        "billed: together on one claim (most payers, Medicare) or a claim each.",
    )


class PayerDirectory(Contract):
    payers: list[Payer] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "PayerDirectory":
        ids = [p.payer_id for p in self.payers]
        if len(set(ids)) != len(ids):
            raise ValueError("payer ids must be unique")
        return self

    def get(self, payer_id: str) -> Payer | None:
        return next((p for p in self.payers if p.payer_id == payer_id), None)

    def all(self) -> list[Payer]:
        return list(self.payers)

    def ids(self) -> frozenset[str]:
        return frozenset(p.payer_id for p in self.payers)


def load_directory(path: Path | None = None) -> PayerDirectory:
    return PayerDirectory.model_validate(json.loads((path or DEFAULT_FILE).read_text()))

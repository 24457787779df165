from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    service_name: str = "claims"
    practice_file: Path | None = None  # default: services/claims/data/practice.json
    chargemaster_file: Path | None = None  # default: services/claims/data/chargemaster.csv
    # An interchange goes out when this many claims are ready, or every interval with what there is.
    batch_max_claims: int = 1000
    batch_interval_seconds: float = 0.5
    # A patient's encounters of one date, payer and provider go on one claim. A new claim waits this
    # long for the day's other encounters before it may be batched (a practice sending a whole
    # day's visits at once would raise it to hours); 0 groups only what arrives together.
    group_encounters: bool = True
    grouping_window_seconds: float = 1.0
    # A coded encounter whose patient was never registered waits; after this long it is someone's work
    # (GET /v1/encounters/waiting: the front desk registers the patient, then the claim goes out).
    patient_wait_alert_minutes: float = Field(60.0, ge=0)
    ack_poll_seconds: float = 0.5  # how often the 999 and 277CA inboxes (or the HTTP mailbox) are looked at
    # How 837Ps reach the clearinghouse: a directory drop (clearinghouse_dir/outbound) or an HTTP API.
    clearinghouse_mode: Literal["directory", "http"] = "directory"
    clearinghouse_url: str | None = None  # base URL of the HTTP API (mode http); files go to POST /submissions
    clearinghouse_api_key: SecretStr = SecretStr("")
    clearinghouse_timeout_seconds: float = 30.0
    clearinghouse_attempts: int = 4  # per delivery; a batch that still fails is tried again next loop
    clearinghouse_backoff_seconds: float = 1.0
    # Mode http: 999s and 277CAs are polled from GET /acknowledgements, this many files a page.
    clearinghouse_ack_page_size: int = Field(100, ge=1, le=1000)

    def payers_billing_each_encounter(self) -> frozenset[str]:
        """Payers whose directory entry says same_day_encounters "claim_each": a claim per encounter."""
        return frozenset(p["payer_id"] for p in self.payer_directory() if p.get("same_day_encounters") == "claim_each")

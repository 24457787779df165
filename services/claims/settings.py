from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    service_name: str = "claims"
    practice_file: Path | None = None  # default: services/claims/data/practice.json
    chargemaster_file: Path | None = None  # default: services/claims/data/chargemaster.csv
    # An interchange takes at most this many claims. The submission loop wakes when claims become ready
    # (NOTIFY) or when a grouping window closes; it looks anyway every interval (when notifications cannot
    # be had, and to hand over again a batch the clearinghouse did not take).
    batch_max_claims: int = 1000
    batch_interval_seconds: float = 5.0
    # After an interchange that was not full, the next one waits this long at the earliest: a steady
    # stream of claims goes out in a few fuller files rather than one file per claim. It adds up to
    # this much to a claim's wait after its grouping window; each file costs every stage a round.
    batch_spacing_seconds: float = 0.25
    # A patient's encounters of one date, payer and provider go on one claim. A new claim waits this
    # long for the day's other encounters before it may be batched (a practice sending a whole
    # day's visits at once would raise it to hours); 0 groups only what arrives together.
    group_encounters: bool = True
    grouping_window_seconds: float = 1.0
    # A coded encounter whose patient was never registered waits; after this long it is someone's work
    # (GET /v1/encounters/waiting: the front desk registers the patient, then the claim goes out).
    patient_wait_alert_minutes: float = Field(60.0, ge=0)
    # The 999 and 277CA inbox folders wake the acknowledgements loop when a file lands (inotify) and are
    # looked at anyway every ack_fallback_seconds. The HTTP mailbox is polled every ack_poll_seconds while
    # acknowledgements are awaited (claims sent and not answered yet), every ack_fallback_seconds otherwise.
    ack_poll_seconds: float = 0.5
    ack_fallback_seconds: float = 10.0
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

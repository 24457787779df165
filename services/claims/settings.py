import json
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings

DEFAULT_PAYER_DIRECTORY = Path(__file__).resolve().parents[1] / "registration" / "data" / "payers.json"


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
    # The payer directory (registration's): payers with same_day_encounters "claim_each" get a claim per encounter.
    payer_directory_file: Path | None = None

    def payers_billing_each_encounter(self) -> frozenset[str]:
        path = self.payer_directory_file or DEFAULT_PAYER_DIRECTORY
        payers = json.loads(Path(path).read_text(encoding="utf-8"))["payers"]
        return frozenset(p["payer_id"] for p in payers if p.get("same_day_encounters") == "claim_each")
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

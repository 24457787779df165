from pathlib import Path

from shared.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    service_name: str = "claims"
    practice_file: Path | None = None  # default: services/claims/data/practice.json
    chargemaster_file: Path | None = None  # default: services/claims/data/chargemaster.csv
    # An interchange goes out when this many claims are ready, or every interval with what there is.
    batch_max_claims: int = 1000
    batch_interval_seconds: float = 0.5
    ack_poll_seconds: float = 0.5  # how often the 999 and 277CA inboxes are looked at

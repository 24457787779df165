from pathlib import Path

from shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    payer_directory_file: Path | None = None  # default: services/registration/data/payers.json
    # Intake bodies larger than this are refused (HTTP 413) before they are parsed.
    max_body_bytes: int = 1_000_000

from shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    # Intake bodies larger than this are refused (HTTP 413) before they are parsed.
    max_body_bytes: int = 1_000_000
    # Who asks payers about eligibility (270 loop 2100B) and the interchange sender id.
    eligibility_provider_name: str = "SPRINGFIELD FAMILY MEDICINE"
    eligibility_provider_npi: str = "1245319599"
    eligibility_sender_id: str = "OPENRCM01"
    # The 271 inbox wakes its reader when a file lands; this is how often it looks anyway (a volume
    # another node writes does not tell).
    eligibility_poll_seconds: float = 5.0

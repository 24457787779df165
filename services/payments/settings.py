from decimal import Decimal

from shared.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    service_name: str = "payments"
    era_poll_seconds: float = 0.2
    refund_approval_threshold: Decimal = Decimal("100.00")  # a larger refund waits for a second person

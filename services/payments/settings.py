from decimal import Decimal

from shared.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    service_name: str = "payments"
    # The 835 loop wakes when a file lands (inotify); this is its fallback look, for what the kernel
    # cannot tell (a volume another node writes).
    era_poll_seconds: float = 5.0
    # How long a replica holds an 835 it reads before another may take it over (if it died); posting
    # renews it, and one file takes a small part of it.
    era_lease_seconds: float = 60.0
    refund_approval_threshold: Decimal = Decimal("100.00")  # a larger refund waits for a second person

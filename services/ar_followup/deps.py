"""What A/R's handlers, follow-up cycle and routes need besides a session, made once at start:
its settings, the payers' filing limits, the practice's contract terms and the claim status desk."""

from dataclasses import dataclass

from services.ar_followup.domain.posting import Terms
from services.ar_followup.settings import ArSettings
from services.ar_followup.status_desk import StatusDesk
from x12.x270 import Party


@dataclass(frozen=True)
class Deps:
    settings: ArSettings
    filing_days: dict[str, int]  # payer id -> timely filing limit in days (the payer directory)
    terms: Terms  # contracted rates and the underpayment tolerance
    status_desk: StatusDesk  # 276 requests out, 277 answers in

    @classmethod
    def of(cls, settings: ArSettings) -> "Deps":
        desk = StatusDesk(
            settings.clearinghouse_dir,
            settings.ar_sender_id,
            settings.ar_receiver_id,
            Party(settings.ar_provider_name, settings.ar_provider_npi),
        )
        terms = Terms(settings.contract_rates(), settings.ar_underpayment_tolerance)
        return cls(settings, settings.timely_filing_days(), terms, desk)

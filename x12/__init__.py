"""X12 EDI for OpenRCM: 837P claims out, 999 and 835 back, pyx12 validation.

Pure code: every function takes and returns text or immutable models; money is Decimal.
"""

from x12.claim import (
    BillingProvider,
    Claim,
    Interchange837,
    Payer,
    ProviderClaims,
    Receiver,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
)
from x12.errors import X12Error
from x12.npi import npi_is_valid
from x12.remittance import (
    Adjustment,
    BankAccount,
    ClaimPayment,
    Interchange835,
    Patient,
    Payee,
    Payment,
    ProviderAdjustment,
    RemitPayer,
    Remittance,
    ServicePayment,
)
from x12.types import Address
from x12.validate import validate_x12
from x12.x835 import check_balance, parse_835, render_835
from x12.x837p import parse_837p, render_837p
from x12.x999 import Ack999, AckError, GroupAck, TransactionAck, parse_999, render_999

__all__ = [
    "Ack999",
    "AckError",
    "Address",
    "Adjustment",
    "BankAccount",
    "BillingProvider",
    "Claim",
    "ClaimPayment",
    "GroupAck",
    "Interchange835",
    "Interchange837",
    "Patient",
    "Payee",
    "Payer",
    "Payment",
    "ProviderAdjustment",
    "ProviderClaims",
    "Receiver",
    "RemitPayer",
    "Remittance",
    "RenderingProvider",
    "ServiceLine",
    "ServicePayment",
    "Submitter",
    "Subscriber",
    "TransactionAck",
    "X12Error",
    "check_balance",
    "npi_is_valid",
    "parse_835",
    "parse_837p",
    "parse_999",
    "render_835",
    "render_837p",
    "render_999",
    "validate_x12",
]

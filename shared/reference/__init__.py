"""Reference data every service may read: configuration, not code. The payer directory (which
payers the practice bills, how claims reach them, timely filing, eligibility, same-day billing) is
registration's to serve, and claims and A/R read their per-payer settings from it too;
RCM_PAYER_DIRECTORY_FILE names another file."""

from pathlib import Path

PAYER_DIRECTORY = Path(__file__).resolve().parent / "payers.json"

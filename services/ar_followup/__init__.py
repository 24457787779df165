"""A/R follow-up: a ledger per claim built from claim and payment events; balances and status."""

SOURCE = "/openrcm/ar_followup"  # the CloudEvents source of every event A/R publishes

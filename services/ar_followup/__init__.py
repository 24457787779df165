"""A/R follow-up: a ledger per claim built from claim and payment events; balances and status."""

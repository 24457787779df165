"""Coding: turns documented encounters into billable ICD-10-CM / CPT / HCPCS codes, or rejects them."""

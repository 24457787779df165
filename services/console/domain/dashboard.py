"""The office's figures (A/R's GET /v1/dashboard) as the home page's charts."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from services.console.domain.charts import Chart, horizontal_bars, lines, stacked_bars

CATEGORY_NAMES = {
    "correctable": "Correctable",
    "medical_necessity": "Medical necessity",
    "authorization": "Authorization",
    "bundling": "Bundling",
    "other_payer_primary": "Other payer primary",
    "timely_filing": "Timely filing",
    "eligibility": "Eligibility",
    "duplicate": "Duplicate",
    "other": "Other",
}


def month_label(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day:%b} {day:%y}"


def charts(figures: Mapping[str, Any]) -> list[Chart]:
    aging = figures.get("aging", [])
    denials = figures.get("denials", {})
    collections = figures.get("collections", {"months": [], "series": {}})
    trend = figures.get("days_in_ar", [])
    months = [month_label(m) for m in collections.get("months", [])]
    return [
        stacked_bars("aging", "Open A/R by age (days since service)", [b["bucket"] for b in aging],
                     [("Insurance", [Decimal(b["insurance"]) for b in aging]),
                      ("Patient", [Decimal(b["patient"]) for b in aging])]),
        horizontal_bars("denials", "Denial rate by CARC category, last 90 days",
                        [(CATEGORY_NAMES.get(name, name), Decimal(rate) if rate is not None else None)
                         for name, rate in denials.get("by_category", {}).items()]),
        lines("collections", "Collections by payer per month", months,
              [(name, [Decimal(v) for v in values]) for name, values in collections.get("series", {}).items()]),
        lines("days-in-ar", "Days in A/R at each month's end", [month_label(p["month"]) for p in trend],
              [("Days in A/R", [Decimal(p["days_in_ar"]) if p.get("days_in_ar") else None for p in trend])], " d"),
    ]  # fmt: skip

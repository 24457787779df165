"""How the office reads money and time: dollars to the cent with thousands separators, and every
moment in the office's time zone."""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
MINUS = "\u2212"  # a real minus sign: it reads better than a hyphen in a column of amounts


def money(value: object) -> str:
    """'1,234.50' from '1234.5', Decimal or int; '' for nothing; a negative amount with a minus sign."""
    if value is None or value == "":
        return ""
    amount = to_decimal(value)
    text = f"{abs(amount):,.2f}"
    return f"{MINUS}{text}" if amount < 0 else text


def to_decimal(value: object) -> Decimal:
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def parse_amount(text: str) -> Decimal | None:
    """What a person typed as an amount ('$1,234.5' -> 1234.50); None when it is not one."""
    cleaned = text.strip().replace(",", "").removeprefix("$").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        return None
    return amount.quantize(CENT)


def moment(value: str | datetime | None, zone: ZoneInfo) -> str:
    """'Nov 30, 2026 11:20 AM CST': an ISO timestamp (UTC when it names no zone) in the office's zone."""
    when = _datetime(value)
    if when is None:
        return ""
    local = when.astimezone(zone)
    return f"{local:%b} {local.day}, {local:%Y} {local:%I:%M %p %Z}".replace(" 0", " ")


def day(value: str | date | datetime | None) -> str:
    """'Nov 3, 2026' from an ISO date."""
    if value is None or value == "":
        return ""
    parsed = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{parsed:%b} {parsed.day}, {parsed:%Y}"


def age_days(value: str | date | None, today: date) -> int | None:
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return (today - parsed).days


def _datetime(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def counted(value: object, at_least: object = False) -> str:
    """A queue's size with thousands separators; `10,000+` when the service stopped counting there."""
    return f"{int(value):,}{'+' if at_least else ''}"  # type: ignore[call-overload]


def percent(value: object) -> str:
    """'12.5%' from '12.5'; an en dash for a rate with nothing to measure."""
    return "\u2013" if value is None else f"{value}%"

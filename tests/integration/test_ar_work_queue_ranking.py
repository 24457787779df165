"""The work queue is ranked and paged in PostgreSQL: money × deadline urgency, then the nearest
deadline, then id — the same order as the domain's priority — a page at a time with a cursor that
walks every item exactly once; a forged cursor is a 422."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.ar_followup import db
from services.ar_followup.app import build
from services.ar_followup.domain.work import priority
from services.ar_followup.settings import ArSettings
from tests.kit import running, settings_for

pytestmark = pytest.mark.integration
TODAY = date(2026, 12, 1)


def items(count: int) -> list[db.WorkItem]:
    """Amounts and deadlines around the urgency edges (7 and 30 days), with ties and no deadlines."""
    pick = random.Random(7)
    made = []
    for n in range(count):
        due = None if n % 9 == 0 else TODAY + timedelta(days=pick.choice([-3, 0, 7, 8, 30, 31, 90]))
        made.append(
            db.WorkItem(
                item_id=uuid.uuid4(),
                claim_id=uuid.uuid4(),
                kind=pick.choice(["denial", "no_response"]),
                action="review",
                amount=Decimal(pick.choice(["40.00", "100.00", "120.00", "300.00"])),
                due_date=due,
                owner=pick.choice(["denials", "ann"]),
                status="open" if n % 10 else "resolved",
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
    return made


def expected(rows: list[db.WorkItem], **where) -> list[str]:
    chosen = [r for r in rows if r.status == "open" and all(getattr(r, k) == v for k, v in where.items())]
    chosen.sort(key=lambda r: (-priority(r.amount, r.due_date, TODAY), r.due_date or date.max, str(r.item_id)))
    return [str(r.item_id) for r in chosen]


async def test_the_queue_is_ranked_and_paged_by_the_database(platform):
    settings = settings_for(platform, ArSettings, "ar_followup", ar_now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    service = build(settings)
    rows = items(120)
    async with running(service) as client:
        async with service.sessions() as session, session.begin():
            session.add_all(rows)

        whole = (await client.get("/v1/work-queue", params={"limit": 1000})).json()
        assert [i["item_id"] for i in whole["items"]] == expected(rows)
        assert whole["count"] == len(expected(rows)) and whole["next"] is None
        for item in whole["items"]:
            due = date.fromisoformat(item["due_date"]) if item["due_date"] else None
            assert Decimal(item["priority"]) == priority(Decimal(item["amount"]), due, TODAY)

        for where in ({}, {"kind": "denial"}, {"kind": "no_response", "owner": "ann"}):
            walked, cursor, pages = [], None, 0
            while True:
                page = (
                    await client.get(
                        "/v1/work-queue", params={**where, "limit": 7, **({"cursor": cursor} if cursor else {})}
                    )
                ).json()
                assert page["count"] == len(expected(rows, **where)) and len(page["items"]) <= 7
                walked += [i["item_id"] for i in page["items"]]
                pages, cursor = pages + 1, page["next"]
                if cursor is None:
                    break
            assert walked == expected(rows, **where) and pages == -(-len(walked) // 7)

        # a cursor keeps the day its ranking was made on, whatever as_of the next request names
        first = (await client.get("/v1/work-queue", params={"limit": 5})).json()
        later = (
            await client.get(
                "/v1/work-queue", params={"limit": 5, "cursor": first["next"], "as_of": "2027-06-01T00:00:00Z"}
            )
        ).json()
        assert later["as_of"] == TODAY.isoformat()
        assert [i["item_id"] for i in first["items"] + later["items"]] == expected(rows)[:10]

        for forged in ("nonsense", "W10=", "WyIyMDI2LTEyLTAxIiwgIngiLCBudWxsLCAieSJd"):
            response = await client.get("/v1/work-queue", params={"cursor": forged})
            assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "cursor"]


def spanning(count: int) -> tuple[list[db.ArClaim], list[db.WorkItem]]:
    """Items in all three urgency bands (past due, this week, this month, later, none), with equal
    priorities across bands ($40 × 3 = $60 × 2 = $120 × 1), equal deadlines and equal money, on claims
    of two payers and several ages."""
    pick = random.Random(15)
    claims, made = [], []
    for n in range(count):
        claim = db.ArClaim(
            claim_id=uuid.uuid4(), status="denied", payer_id=pick.choice(["SIMBC", "SIMAETNA"]),
            date_of_service=TODAY - timedelta(days=pick.choice([3, 45, 75, 100, 200])),
        )  # fmt: skip
        claims.append(claim)
        days = pick.choice([None, -40, -1, 0, 6, 7, 8, 29, 30, 31, 120])
        made.append(
            db.WorkItem(
                item_id=uuid.uuid4(),
                claim_id=claim.claim_id,
                kind=pick.choice(["denial", "no_response", "underpayment"]),
                action="review",
                amount=Decimal(pick.choice(["40.00", "60.00", "120.00", "33.33", "99.99", "0.01", "1000.00"])),
                due_date=None if days is None else TODAY + timedelta(days=days),
                owner=pick.choice(["denials", "ann", "bo"]),
                status="open" if n % 7 else "resolved",
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
    return claims, made


async def simply_ordered(session, status: str, **where) -> list[str]:
    """The queue as one ORDER BY of the computed priority over every matching item (what the band
    merge must equal)."""
    priority = db.WorkItem.amount * db.urgency_rank(TODAY)
    query = select(db.WorkItem.item_id).where(db.WorkItem.status == status)
    query = query.join(db.ArClaim, db.ArClaim.claim_id == db.WorkItem.claim_id)
    for name, value in where.items():
        if name == "payer":
            query = query.where(db.ArClaim.payer_id == value)
        elif name == "min_age":
            query = query.where(db.ArClaim.date_of_service <= TODAY - timedelta(days=value))
        elif name == "max_age":
            query = query.where(db.ArClaim.date_of_service >= TODAY - timedelta(days=value))
        else:
            query = query.where(getattr(db.WorkItem, name) == value)
    order = (-priority, func.coalesce(db.WorkItem.due_date, db.NEVER), db.WorkItem.item_id)
    return [str(item_id) for item_id in (await session.execute(query.order_by(*order))).scalars()]


async def test_pages_read_band_by_band_equal_one_order_by_of_the_priority(platform, monkeypatch):
    settings = settings_for(platform, ArSettings, "ar_followup", ar_now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    service = build(settings)
    claims, rows = spanning(400)
    monkeypatch.setattr(db, "COUNTED", 150)  # the count's cap, small enough to be passed here
    async with running(service) as client:
        async with service.sessions() as session, session.begin():
            session.add_all(claims)
            await session.flush()
            session.add_all(rows)
        wheres = [{}, {"status": "resolved"}, {"kind": "denial"}, {"owner": "ann", "kind": "no_response"},
                  {"payer": "SIMAETNA"}, {"min_age": 31, "max_age": 120}, {"payer": "SIMBC", "min_age": 91}]  # fmt: skip
        for where in wheres:
            filters = {k: v for k, v in where.items() if k != "status"}
            async with service.sessions() as session:
                expected_ids = await simply_ordered(session, where.get("status", "open"), **filters)
            assert expected_ids
            for size in (1, 6, 50):
                walked, cursor = [], None
                while True:
                    params = {**where, "limit": size, **({"cursor": cursor} if cursor else {})}
                    page = (await client.get("/v1/work-queue", params=params)).json()
                    counted = min(len(expected_ids), 150)
                    assert (page["count"], page["count_at_least"]) == (counted, len(expected_ids) > 150), where
                    walked += [i["item_id"] for i in page["items"]]
                    cursor = page["next"]
                    if cursor is None or len(walked) > len(expected_ids):
                        break
                assert walked == expected_ids, (where, size)
        whole = (await client.get("/v1/work-queue", params={"limit": 1000})).json()
        tied = {(i["amount"], i["days_to_deadline"]) for i in whole["items"] if i["priority"] == "120.00"}
        assert {"40.00", "60.00", "120.00"} <= {amount for amount, _ in tied}  # $40 × 3 = $60 × 2 = $120 × 1
        bands = {priority(Decimal(i["amount"]), _day(i["due_date"]), TODAY) / Decimal(i["amount"])
                 for i in whole["items"] if Decimal(i["amount"])}  # fmt: skip
        assert bands == {1, 2, 3}


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None

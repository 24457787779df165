"""The work queue is ranked and paged in PostgreSQL: money × deadline urgency, then the nearest
deadline, then id — the same order as the domain's priority — a page at a time with a cursor that
walks every item exactly once; a forged cursor is a 422."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

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

"""What a request may carry (shared/api.py): control characters refused with 422 wherever they are
(path, query, JSON body) before a route sees them; moments in ISO 8601 only and within range; offsets,
cursors and row ids bounded."""

from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel

from shared.api import Cursor, Day, Moment, Offset, RefuseControlCharacters, RowId

SEEN: list = []


def app() -> FastAPI:
    api = FastAPI()
    api.add_middleware(RefuseControlCharacters)

    class Note(BaseModel):
        text: str

    @api.get("/items/{item_id}")
    async def item(item_id: RowId, offset: Offset = 0, cursor: Cursor = None, owner: str | None = None,
                   on: Annotated[Day | None, Query()] = None, as_of: Annotated[Moment | None, Query()] = None) -> dict:  # fmt: skip
        SEEN.append(owner)
        return {"on": on, "as_of": as_of}

    @api.post("/notes/{name}")
    async def note(name: str, body: Note) -> dict:
        SEEN.append(body.text)
        return {"text": body.text}

    return api


async def call(method: str, url: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://test") as client:
        return await client.request(method, url, **kwargs)


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/items/1?owner=%00x", ["query", "owner"]),
        ("/items/1?owner=a%1Bb", ["query", "owner"]),
        ("/items/1?ow%00ner=x", ["query", "ow\x00ner"]),
        ("/notes/a%00b", ["path"]),
    ],
)
async def test_a_control_character_in_the_url_is_422_before_the_route(url, loc):
    SEEN.clear()
    method = "POST" if url.startswith("/notes") else "GET"
    response = await call(method, url, json={"text": "fine"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == loc
    assert SEEN == []


@pytest.mark.parametrize("text", ["a\u0000b", "\u0007", "x\u007f"])
async def test_a_control_character_in_a_json_body_is_422(text):
    SEEN.clear()
    response = await call("POST", "/notes/n", json={"text": text})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body"]
    assert SEEN == []


@pytest.mark.parametrize("text", ["tab\there", "two\nlines\r\n", "a backslash then u0000: \\u0000", "café ✓"])
async def test_text_with_tabs_newlines_and_escaped_backslashes_passes(text):
    response = await call("POST", "/notes/n", json={"text": text})
    assert response.status_code == 200 and response.json()["text"] == text


async def test_a_json_body_is_read_by_the_route_after_the_check():
    body = b'{"text": "' + b"x" * 200_000 + b'"}'
    response = await call("POST", "/notes/n", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200 and len(response.json()["text"]) == 200_000


@pytest.mark.parametrize(
    "query",
    ["as_of=0.5", "as_of=0", "as_of=-0001-01-01", "as_of=10000-01-01", "as_of=1899-12-31", "on=86400",
     "on=3000-01-01", "offset=10528809934590623744", "offset=-1", "cursor=" + "c" * 401],
)  # fmt: skip
async def test_numbers_for_moments_out_of_range_moments_and_unbounded_positions_are_422(query):
    assert (await call("GET", f"/items/1?{query}")).status_code == 422


@pytest.mark.parametrize("item_id", ["0", "9223372036854775808", "10528809934590623744"])
async def test_a_row_id_beyond_bigint_is_422(item_id):
    assert (await call("GET", f"/items/{item_id}")).status_code == 422


async def test_iso_moments_in_range_are_read_and_a_zoneless_one_is_utc():
    response = await call("GET", "/items/9223372036854775807?as_of=2100-01-01&on=2026-11-30&offset=1000000")
    assert response.status_code == 200
    assert response.json() == {"on": "2026-11-30", "as_of": "2100-01-01T00:00:00Z"}

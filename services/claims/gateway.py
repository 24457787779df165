"""Clearinghouse gateways.

DirectoryDrop (the default; local and SFTP-style clearinghouses): the file is written under a
temporary name, flushed to disk, then renamed, so a reader never sees half a file. Re-submitting
the same name rewrites the same bytes: the receiver dedups by ISA13.

HttpClearinghouse (API clearinghouses): one POST of the X12 body per interchange, with the ISA13
as the idempotency key, so a retried or re-delivered submission is recognised by the receiver.
5xx answers and transport failures are retried with exponential backoff; a 4xx is not (it will
not get better by itself) and raises ClearinghouseRefused naming the status.

The 999s and 277CAs come back through an AckSource: DirectoryAcks reads <root>/inbound/999 and
<root>/inbound/277; HttpAcks polls the clearinghouse's mailbox (see HttpAcks). A source hands over
each file whole with its content hash; the caller applies it and only then marks it received, so
a crash in between hands the same file over again and the hash makes the second one a no-op."""

import asyncio
import hashlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)


class ClearinghouseGateway(Protocol):
    def submit(self, file_name: str, content: str) -> None: ...


class ClearinghouseError(Exception):
    """The interchange was not handed over; the batch stays undelivered and is tried again."""


class ClearinghouseUnavailable(ClearinghouseError):
    pass


class ClearinghouseRefused(ClearinghouseError):
    pass


class DirectoryDrop:
    def __init__(self, root: Path) -> None:
        self.outbound = root / "outbound"
        self.outbound.mkdir(parents=True, exist_ok=True)

    def submit(self, file_name: str, content: str) -> None:
        temporary = self.outbound / f".{file_name}.tmp"
        with temporary.open("w", encoding="ascii") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(self.outbound / file_name)


def interchange_control_number(content: str) -> str:
    """ISA13 of an X12 interchange: the ISA is fixed width and names its own element separator."""
    if not content.startswith("ISA") or len(content) < 106:
        raise ValueError("not an X12 interchange: no ISA segment")
    elements = content[:106].split(content[3])
    if len(elements) < 14 or not elements[13].isdigit():
        raise ValueError("ISA13 (interchange control number) is missing or not numeric")
    return elements[13]


class HttpClearinghouse:
    IDEMPOTENCY_HEADER = "Idempotency-Key"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_seconds: float = 30.0,
        attempts: int = 4,
        backoff_seconds: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=timeout_seconds,
            transport=transport,
        )

    def submit(self, file_name: str, content: str) -> None:
        headers = {
            self.IDEMPOTENCY_HEADER: interchange_control_number(content),
            "Content-Type": "application/edi-x12",
            "X-File-Name": file_name,
        }
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.post("/submissions", content=content.encode("ascii"), headers=headers)
            except httpx.TransportError as error:  # timeouts, refused or dropped connections
                problem = type(error).__name__
            else:
                if response.is_success:
                    return
                if response.status_code < 500:
                    raise ClearinghouseRefused(
                        f"clearinghouse refused {file_name}: HTTP {response.status_code} {response.reason_phrase}"
                        " (not retried: check the URL, API key and file)"
                    )
                problem = f"HTTP {response.status_code}"
            log.warning(
                "clearinghouse submission failed", extra={"file": file_name, "attempt": attempt, "problem": problem}
            )
            if attempt < self.attempts:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise ClearinghouseUnavailable(
            f"clearinghouse unavailable for {file_name} after {self.attempts} attempts: {problem}"
        )

    def close(self) -> None:
        self.client.close()


# -- acknowledgements back from the clearinghouse -----------------------------------------------------------
ACK_KINDS = {"999": "999", "277CA": "277"}  # kind -> folder name


@dataclass(frozen=True)
class AckDocument:
    """One 999 or 277CA file as the clearinghouse handed it over."""

    kind: str  # 999 | 277CA
    name: str  # safe to use as a local file name
    content: bytes
    sha256: str  # of the content: a file is applied once, whatever its name or id
    handle: str  # what the source needs to mark it received: a path, the clearinghouse's id
    problem: str | None = None  # why the file could not be taken whole (quarantine it)


class AckSource(Protocol):
    def pending(self) -> AsyncIterator[AckDocument]: ...

    async def received(self, document: AckDocument) -> None:
        """The file is applied (or was already): never hand it over again."""

    async def quarantined(self, document: AckDocument, reason: str) -> None:
        """The file cannot be applied: keep it aside with the reason, and stop handing it over."""

    async def close(self) -> None: ...


class AckSourceError(Exception):
    """The clearinghouse could not be read this time; the next poll tries again."""


class AckSourceUnavailable(AckSourceError):
    pass


class AckSourceRefused(AckSourceError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _document(kind: str, name: str, content: bytes, handle: str) -> AckDocument:
    return AckDocument(kind, name, content, hashlib.sha256(content).hexdigest(), handle)


class DirectoryAcks:
    """<root>/inbound/999/*.x12, <root>/inbound/277/*.x12 -> <root>/processed/<kind>/ or
    <root>/quarantine/<kind>/ (with <name>.reason.txt beside the file)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inboxes = tuple(root / "inbound" / folder for folder in ACK_KINDS.values())
        for folder in ACK_KINDS.values():
            for place in ("inbound", "processed", "quarantine"):
                (root / place / folder).mkdir(parents=True, exist_ok=True)

    async def pending(self) -> AsyncIterator[AckDocument]:
        for kind, folder in ACK_KINDS.items():
            for path in sorted((self.root / "inbound" / folder).glob("*.x12")):
                if not path.name.startswith("."):
                    yield _document(kind, path.name, path.read_bytes(), str(path))

    async def received(self, document: AckDocument) -> None:
        Path(document.handle).replace(self.root / "processed" / ACK_KINDS[document.kind] / document.name)

    async def quarantined(self, document: AckDocument, reason: str) -> None:
        folder = self.root / "quarantine" / ACK_KINDS[document.kind]
        (folder / f"{document.name}.reason.txt").write_text(reason + "\n")
        Path(document.handle).replace(folder / document.name)

    async def close(self) -> None:
        pass


class AckListingEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    kind: Literal["999", "277CA"]
    name: str = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class AckListing:
    entries: list[AckListingEntry]
    problems: list[str]  # entries that were ignored, by field path (never their values)
    size: int  # entries listed, valid or not
    next: str | None


class _ListingShape(BaseModel):
    files: list[object]
    next: str | None = Field(default=None, max_length=1000)


def parse_listing(body: bytes) -> AckListing:
    """`{"files": [{"id", "kind": "999"|"277CA", "name"}, ...], "next": cursor|null}`. One bad entry
    is reported and skipped, never hides its neighbours; a body of another shape is a ValueError."""
    try:
        shape = _ListingShape.model_validate_json(body)
    except ValidationError as error:
        problems = "; ".join(
            f"{'/'.join(map(str, e['loc'])) or 'body'}: {e['type']}" for e in error.errors(include_input=False)[:5]
        )
        raise ValueError(f"the acknowledgement listing is not valid: {problems}") from None
    entries, problems = [], []
    for index, item in enumerate(shape.files):
        try:
            entries.append(AckListingEntry.model_validate(item))
        except ValidationError as error:
            problems += [
                f"files/{index}/{'/'.join(map(str, e['loc']))}: {e['type']}" for e in error.errors(include_input=False)
            ]
    return AckListing(entries, problems, len(shape.files), shape.next or None)


def safe_file_name(name: str) -> str:
    """The clearinghouse's name for a file, usable as a local file name (no folders, no dot files)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(name.replace("\\", "/")).name).lstrip(".")
    return cleaned[:120] or "unnamed"


class HttpAcks:
    """An API clearinghouse's mailbox of 999s and 277CAs (the Change Healthcare / Optum reports
    shape: list what is waiting, fetch each file, then say it was received and it leaves the list):

      GET  {url}/acknowledgements?limit=N[&after=CURSOR] -> {"files": [{"id", "kind", "name"}], "next"}
      GET  {url}/acknowledgements/{id}                   -> the X12 text
      POST {url}/acknowledgements/{id}/received          -> 2xx (404: already received)

    Each poll walks the list from the start, page by page (`after` = the previous page's `next`).
    5xx answers and transport failures are retried with exponential backoff, then the poll stops
    (the next one starts over); a 4xx on a file is logged and that file skipped. Bodies are read
    up to a limit: a listing above it is an error, a file above it is quarantined."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        quarantine_dir: Path,
        *,
        page_size: int = 100,
        timeout_seconds: float = 30.0,
        attempts: int = 4,
        backoff_seconds: float = 1.0,
        max_listing_bytes: int = 4 << 20,
        max_file_bytes: int = 64 << 20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.quarantine_dir = quarantine_dir
        self.page_size, self.attempts, self.backoff_seconds = page_size, max(1, attempts), backoff_seconds
        self.max_listing_bytes, self.max_file_bytes = max_listing_bytes, max_file_bytes
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=timeout_seconds,
            transport=transport,
        )

    async def pending(self) -> AsyncIterator[AckDocument]:
        after, seen = None, set()
        while True:
            params = {"limit": self.page_size} | ({"after": after} if after else {})
            body, _, too_large = await self._call(
                "GET", "/acknowledgements", "the acknowledgement listing", self.max_listing_bytes, params
            )
            if too_large:
                raise AckSourceError(
                    f"the acknowledgement listing is larger than {self.max_listing_bytes} bytes "
                    f"(asked for {self.page_size} files a page)"
                )
            try:
                listing = parse_listing(body)
            except ValueError as error:
                raise AckSourceError(str(error)) from None
            for problem in listing.problems:
                log.error("acknowledgement listing entry ignored", extra={"problem": problem})
            for entry in listing.entries:
                if entry.id not in seen:  # a file listed twice is fetched once
                    seen.add(entry.id)
                    if document := await self._fetch(entry):
                        yield document
            if not listing.size or not listing.next or listing.next == after:
                return
            after = listing.next

    async def _fetch(self, entry: AckListingEntry) -> AckDocument | None:
        try:
            content, sha, too_large = await self._call(
                "GET",
                f"/acknowledgements/{quote(entry.id, safe='')}",
                f"acknowledgement {entry.id}",
                self.max_file_bytes,
            )
        except AckSourceRefused as refusal:
            log.error("acknowledgement file not fetched; skipped", extra={"file_id": entry.id, "error": str(refusal)})
            return None
        problem = f"the file is larger than {self.max_file_bytes} bytes" if too_large else None
        return AckDocument(
            entry.kind, safe_file_name(entry.name), b"" if too_large else content, sha, entry.id, problem
        )

    async def received(self, document: AckDocument) -> None:
        try:
            await self._call(
                "POST",
                f"/acknowledgements/{quote(document.handle, safe='')}/received",
                f"receipt of acknowledgement {document.handle}",
                1 << 16,
            )
        except AckSourceRefused as refusal:
            if refusal.status != 404:  # 404: it already left the mailbox (another replica said so)
                log.error(
                    "acknowledgement applied but its receipt was refused; it will be listed again",
                    extra={"file_id": document.handle, "error": str(refusal)},
                )

    async def quarantined(self, document: AckDocument, reason: str) -> None:
        folder = self.quarantine_dir / ACK_KINDS[document.kind]
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"{document.sha256[:12]}.{document.name}"
        (folder / f"{kept.name}.reason.txt").write_text(reason + "\n")
        kept.write_bytes(document.content)
        await self.received(document)

    async def _call(
        self, method: str, path: str, what: str, max_bytes: int, params: dict | None = None
    ) -> tuple[bytes, str, bool]:
        """(body up to max_bytes, sha256 of what was read, whether the body was longer)."""
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.client.stream(method, path, params=params) as response:
                    if response.is_success:
                        return await _read_capped(response, max_bytes)
                    if response.status_code < 500:
                        raise AckSourceRefused(
                            f"{what}: HTTP {response.status_code} {response.reason_phrase} "
                            "(not retried: check the URL, API key and file id)",
                            response.status_code,
                        )
                    problem = f"HTTP {response.status_code}"
            except httpx.TransportError as error:  # timeouts, refused or dropped connections
                problem = type(error).__name__
            log.warning("clearinghouse call failed", extra={"call": what, "attempt": attempt, "problem": problem})
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise AckSourceUnavailable(f"{what}: clearinghouse unavailable after {self.attempts} attempts: {problem}")

    async def close(self) -> None:
        await self.client.aclose()


async def _read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, str, bool]:
    digest, chunks, size = hashlib.sha256(), [], 0
    async for chunk in response.aiter_bytes():
        digest.update(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"", digest.hexdigest(), True  # stop reading: whatever follows is not wanted
        chunks.append(chunk)
    return b"".join(chunks), digest.hexdigest(), False

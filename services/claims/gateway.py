"""Clearinghouse gateways.

DirectoryDrop (the default; local and SFTP-style clearinghouses): the file is written under a
temporary name, flushed to disk, then renamed, so a reader never sees half a file. Re-submitting
the same name rewrites the same bytes: the receiver dedups by ISA13.

HttpClearinghouse (API clearinghouses): one POST of the X12 body per interchange, with the ISA13
as the idempotency key, so a retried or re-delivered submission is recognised by the receiver.
5xx answers and transport failures are retried with exponential backoff; a 4xx is not (it will
not get better by itself) and raises ClearinghouseRefused naming the status."""

import logging
import os
import time
from pathlib import Path
from typing import Protocol

import httpx

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

    def __init__(self, base_url: str, api_key: str, *, timeout_seconds: float = 30.0, attempts: int = 4,
                 backoff_seconds: float = 1.0, transport: httpx.BaseTransport | None = None) -> None:
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
            log.warning("clearinghouse submission failed", extra={"file": file_name, "attempt": attempt,
                                                                 "problem": problem})
            if attempt < self.attempts:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise ClearinghouseUnavailable(f"clearinghouse unavailable for {file_name} after {self.attempts} attempts: "
                                       f"{problem}")

    def close(self) -> None:
        self.client.close()

"""Clearinghouse gateways. Locally (and for SFTP-style clearinghouses) a directory drop: the file
is written under a temporary name, flushed to disk, then renamed, so a reader never sees half a
file. Re-submitting the same name rewrites the same bytes: the receiver dedups by ISA13."""

import os
from pathlib import Path
from typing import Protocol


class ClearinghouseGateway(Protocol):
    def submit(self, file_name: str, content: str) -> None: ...


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

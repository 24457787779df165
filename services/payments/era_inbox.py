"""Where 835 files arrive (the clearinghouse drop) and where they go once handled: processed, or
quarantined with a reason file beside them. Replicas of payments may share the folder: each file is
read by the replica holding its lease (posting.py), its payments post once whoever reads it (by its
hash and their identities), and a file another replica has already moved on is simply gone here."""

import contextlib
from pathlib import Path


class EraInbox:
    def __init__(self, root: Path) -> None:
        self.incoming = root / "inbound" / "835"
        self.processed = root / "processed" / "835"
        self.quarantined = root / "quarantine" / "835"
        for folder in (self.incoming, self.processed, self.quarantined):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        return sorted(p for p in self.incoming.glob("*.x12") if not p.name.startswith("."))

    def done(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):  # another replica moved it first
            path.replace(self.processed / path.name)

    def quarantine(self, path: Path, reason: str) -> None:
        (self.quarantined / f"{path.name}.reason.txt").write_text(reason + "\n")
        with contextlib.suppress(FileNotFoundError):
            path.replace(self.quarantined / path.name)

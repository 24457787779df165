"""The five services of the revenue cycle, one per stage, each with its own database.

`NAMES` is the one list of services: the local process launcher, the databases to create, the
chart's topology and the ops tests all read it. Each service's `app.DECLARATION` says what it
consumes and publishes."""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.service import Declaration

NAMES = ("registration", "coding", "claims", "payments", "ar_followup")


def declaration(name: str) -> "Declaration":
    """A service's declaration (imports its app module, builds nothing)."""
    if name not in NAMES:
        raise KeyError(f"no service named {name!r}; the services are {', '.join(NAMES)}")
    return importlib.import_module(f"services.{name}.app").DECLARATION  # type: ignore[no-any-return]

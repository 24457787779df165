"""Sessions, kept in the console's memory: the browser holds only a random id in an HttpOnly cookie;
the person's tokens never leave the server. Each session has its own CSRF token (the synchronizer
token every form carries) and expires after idling or at its maximum age, whichever comes first.

One console process holds its sessions; the chart runs one replica (a restart signs people out)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.auth import Principal

LOGIN_SECONDS = 600  # a sign-in started and not finished is forgotten after this
MAX_SESSIONS = 20_000  # beyond this the oldest go first: anonymous visitors cannot fill the memory


@dataclass(frozen=True)
class LoginState:
    """What the callback must find again: the state and nonce sent, the PKCE verifier, where to go next."""

    state: str
    nonce: str
    verifier: str
    next: str


@dataclass(frozen=True)
class Tokens:
    access: str
    access_expires: float  # epoch seconds
    refresh: str | None = None
    refresh_expires: float | None = None
    id_token: str | None = None


@dataclass(frozen=True)
class Notice:
    kind: str  # success | error | info
    text: str
    detail: str = ""


@dataclass
class WebSession:
    id: str
    csrf: str
    created: float
    seen: float
    login: LoginState | None = None
    tokens: Tokens | None = None
    user: Principal | None = None
    notices: list[Notice] = field(default_factory=list)
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def signed_in(self) -> bool:
        return self.user is not None and self.tokens is not None

    def notify(self, kind: str, text: str, detail: str = "") -> None:
        self.notices.append(Notice(kind, text, detail))

    def take_notices(self) -> list[Notice]:
        notices, self.notices = self.notices, []
        return notices


class SessionStore:
    def __init__(self, idle_seconds: float, max_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.idle, self.max_age, self.clock = idle_seconds, max_seconds, clock
        self._sessions: dict[str, WebSession] = {}

    def create(self) -> WebSession:
        self._sweep()
        now = self.clock()
        session = WebSession(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), created=now, seen=now)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> WebSession | None:
        session = self._sessions.get(session_id or "")
        if session is None:
            return None
        if self._expired(session, self.clock()):
            self._sessions.pop(session.id, None)
            return None
        session.seen = self.clock()
        return session

    def rotate(self, session: WebSession) -> WebSession:
        """A new id and CSRF token for the same session (at sign-in: a fixated id is worthless)."""
        self._sessions.pop(session.id, None)
        session.id, session.csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._sessions[session.id] = session
        return session

    def drop(self, session: WebSession) -> None:
        self._sessions.pop(session.id, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: WebSession, now: float) -> bool:
        if not session.signed_in:
            return now - session.created > LOGIN_SECONDS
        return now - session.seen > self.idle or now - session.created > self.max_age

    def _sweep(self) -> None:
        now = self.clock()
        for session in [s for s in self._sessions.values() if self._expired(s, now)]:
            self._sessions.pop(session.id, None)
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.seen)
            self._sessions.pop(oldest.id, None)

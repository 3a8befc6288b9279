"""Who is signed in to the review page: server-side sessions, CSRF and origin checks.

A session is created when a reviewer or administrator signs in with their API key. The cookie
holds only a random token (HttpOnly, SameSite=Lax, Secure over HTTPS, scoped to `/review`);
the server keeps the principal, the session's CSRF token and its age, keyed by the token's
SHA-256. Sessions end after 8 idle hours, 12 hours in all, on sign-out, or when the key is
revoked. They live in the process: a restart signs everyone out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

SESSION_COOKIE = "studentlink_review"
LOGIN_CSRF_COOKIE = "studentlink_review_login"
SESSION_IDLE_SECONDS = 8 * 3600
SESSION_MAX_SECONDS = 12 * 3600


class PageError(Exception):
    """Answer with an error page (status, title, message)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class Redirect(Exception):
    """Answer with a 303 redirect (a dependency's way to send someone to sign in)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@dataclass(frozen=True)
class Reviewer:
    """The signed-in person as the review page sees them.

    `states` is None for a key that sees every state. `actor` is what the store records as
    the author of judgements and changes (the two-person rule compares it).
    """

    actor: str
    role: str
    states: tuple[str, ...] | None
    label: str
    key_id: int | None = None
    can_review: bool = False
    """May read the near-match queue (reviewers and administrators)."""
    can_decide: bool = False
    """May decide near matches (reviewers)."""
    can_change: bool = False
    """May initiate, validate and reject merges and splits (administrators)."""
    principal: Any = field(default=None, compare=False, repr=False)
    """The API's principal (`api.auth.Principal`) the services check."""

    @property
    def scope_text(self) -> str:
        return "all states" if self.states is None else ", ".join(self.states)

    def sees(self, states: Iterable[str | None]) -> bool:
        """True when any of the states is in scope."""
        if self.states is None:
            return True
        mine = set(self.states)
        return any(s in mine for s in states if s)


@dataclass
class ReviewSession:
    reviewer: Reviewer
    csrf: str
    created: float
    seen: float


@dataclass
class SessionStore:
    """Server-side sessions, keyed by the SHA-256 of the cookie token."""

    sessions: dict[str, ReviewSession] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def _expired(session: ReviewSession, now: float) -> bool:
        return (now - session.seen > SESSION_IDLE_SECONDS
                or now - session.created > SESSION_MAX_SECONDS)

    def create(self, reviewer: Reviewer) -> tuple[str, ReviewSession]:
        """A new session and the token for its cookie."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = ReviewSession(reviewer, secrets.token_urlsafe(32), now, now)
        with self.lock:
            for key in [k for k, s in self.sessions.items() if self._expired(s, now)]:
                del self.sessions[key]
            self.sessions[self._key(token)] = session
        return token, session

    def get(self, token: str | None) -> ReviewSession | None:
        """The live session of a token (touching it), or None."""
        if not token:
            return None
        now = time.time()
        with self.lock:
            session = self.sessions.get(self._key(token))
            if session is None:
                return None
            if self._expired(session, now):
                del self.sessions[self._key(token)]
                return None
            session.seen = now
            return session

    def drop(self, token: str | None) -> None:
        """End a session."""
        if token:
            with self.lock:
                self.sessions.pop(self._key(token), None)


_SESSIONS_LOCK = threading.Lock()


def sessions_of(request: Request) -> SessionStore:
    """The app's session store (one per app, created on first use)."""
    state = request.app.state
    store: SessionStore | None = getattr(state, "review_sessions", None)
    if store is None:
        with _SESSIONS_LOCK:
            store = getattr(state, "review_sessions", None)
            if store is None:
                store = SessionStore()
                state.review_sessions = store
    return store


def check_origin(request: Request) -> None:
    """A form post must come from a page of this site (Origin, else Referer, when sent)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return
    sent = urlsplit(origin)
    if (sent.scheme, sent.netloc) != (request.url.scheme, request.url.netloc):
        raise PageError(403, "Form refused",
                        "The form did not come from this site. Reload the page and try again.")


def check_csrf(request: Request, session: ReviewSession, token: str) -> None:
    """The posted token must be the session's, and the post must come from this site."""
    check_origin(request)
    if not token or not secrets.compare_digest(token.encode(), session.csrf.encode()):
        raise PageError(403, "Form expired",
                        "The form expired or did not come from this site. "
                        "Reload the page and try again.")

"""Proof Key for Code Exchange (RFC 7636, method S256) and the other one-time values of a sign-in."""

import base64
import hashlib
import secrets


def verifier() -> str:
    """A high-entropy code verifier: 64 random bytes as 86 unreserved characters (RFC 7636 §4.1: 43-128)."""
    return secrets.token_urlsafe(64)


def challenge(code_verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def nonce() -> str:
    return secrets.token_urlsafe(24)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this console only (never another site: an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target

"""HTTP credentials: an API key (X-API-Key) or a bearer token, compared in constant time."""

import secrets

from fastapi import HTTPException, Request, status


def require_api_key(request: Request) -> None:
    expected = request.app.state.settings.api_key.get_secret_value()
    given = request.headers.get("x-api-key") or ""
    authorization = request.headers.get("authorization", "")
    if not given and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key or bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )

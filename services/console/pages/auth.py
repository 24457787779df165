"""Sign in (authorization code + PKCE), the provider's callback, sign out."""

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console.domain import pkce
from services.console.oidc import SignInFailed
from services.console.pages.common import Forbidden, check_form, console_of, render, session_of
from services.console.sessions import LoginState

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/login")
async def login(request: Request, next: str = "/") -> Response:
    console, session = console_of(request), session_of(request)
    target = pkce.safe_next(next)
    if session is not None and session.signed_in:
        return RedirectResponse(target, status_code=303)
    session = session or console.store.create()
    session.login = LoginState(secrets.token_urlsafe(24), pkce.nonce(), pkce.verifier(), target)
    response = RedirectResponse(await console.provider.authorization_url(session.login), status_code=303)
    console.set_cookie(response, session)
    return response


@router.get("/auth/callback")
async def callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    console, session = console_of(request), session_of(request)
    login = session.login if session is not None else None
    if session is None or login is None or not secrets.compare_digest(state.encode(), login.state.encode()):
        return _failed(request, "This sign-in was not started here, or it took too long.")
    if error or not code:
        return _failed(request, f"The identity provider ended the sign-in ({error or 'no code'}).")
    try:
        tokens, user = await console.provider.exchange(code, login)
    except SignInFailed as failed:
        log.warning("sign-in refused", extra={"reason": failed.reason})
        return _failed(request, failed.reason)
    session = console.store.rotate(session)  # a new id once signed in: one planted before is worthless
    session.login, session.tokens, session.user = None, tokens, user
    log.info("signed in", extra={"subject": user.subject, "client": user.client_id})
    response = RedirectResponse(login.next, status_code=303)
    console.set_cookie(response, session)
    return response


def _failed(request: Request, reason: str) -> Response:
    return render(request, "signed_out.html", 400, heading="Sign-in failed", reason=reason)


@router.post("/logout")
async def logout(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    if session is None:
        return RedirectResponse("/signed-out", status_code=303)
    try:
        await check_form(request, console, session)
    except Forbidden:
        return RedirectResponse("/", status_code=303)
    console.store.drop(session)
    after = console.settings.public_url.rstrip("/") + "/signed-out"
    target = await console.provider.logout_url(session.tokens, after) or "/signed-out"
    response = RedirectResponse(target, status_code=303)
    console.clear_cookie(response)
    return response


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return render(request, "signed_out.html", heading="You are signed out", reason="")

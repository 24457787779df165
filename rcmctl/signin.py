"""Signing a sample user in to the console the way a browser does, without one: the console sends us
to the provider's login page, we fill in its form, the provider sends us back with the code, and the
console's session cookie is in the client. For scripts that measure or check the console (rcm bench
console); people and the browser tests use the real login page.

The provider's own cookies are Secure, which a browser sends to a loopback address over plain HTTP (a
trustworthy origin) but httpx does not: they are carried by hand to the provider's form."""

import re
from html import unescape
from http.cookies import SimpleCookie

import httpx

FORM = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.DOTALL)


def sign_in(http: httpx.Client, console_url: str, username: str, password: str) -> None:
    """Follows the authorization code flow through the provider's login form; raises if it fails."""
    page = http.get(f"{console_url}/login", follow_redirects=True)
    found = FORM.search(page.text)
    if found is None:
        raise RuntimeError(f"no login form at {page.url} ({page.status_code})")
    jar = SimpleCookie()
    for response in [*page.history, page]:
        if response.url.host == page.url.host:
            for header in response.headers.get_list("set-cookie"):
                jar.load(header)
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    answer = http.post(unescape(found.group(1)), data={"username": username, "password": password,
                                                        "credentialId": ""}, headers={"Cookie": cookies})  # fmt: skip
    back = answer.headers.get("location", "")
    if answer.status_code not in (302, 303) or not back.startswith(console_url):
        raise RuntimeError(f"sign-in of {username} was refused ({answer.status_code})")
    signed = http.get(back, follow_redirects=True)
    if signed.status_code != 200 or not str(signed.url).startswith(console_url):
        raise RuntimeError(f"sign-in of {username} ended at {signed.url} ({signed.status_code})")

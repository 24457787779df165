"""What validating a bearer token costs a service per request (µs), measured, not guessed.

    .venv/bin/python deploy/keycloak/measure_token_validation.py [--keycloak]

Times shared/auth.py on warm key caches (the steady state: the JWKS is fetched once) in CPU time of
this thread, so other work on a busy machine counts less: the validator alone for RS256 (2048-bit)
and ES256 tokens signed here, and a whole FastAPI request with and without `current_principal`
(the difference is what a route pays). With --keycloak it also validates a token of the running
local Keycloak (./rcm stack up).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from shared.auth import Authenticator, OidcSettings, PrincipalDep, TokenValidator

AUDIENCE = "openrcm-api"


def serve_issuer(keys: list[dict]) -> str:
    """A discovery document and JWKS on a loopback port; returns the issuer URL."""
    box: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            doc = (
                {"issuer": box["url"], "jwks_uri": box["url"] + "/certs"}
                if "well-known" in self.path
                else {"keys": keys}
            )
            data = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["url"] = f"http://127.0.0.1:{server.server_port}/realms/bench"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return box["url"]


def local_tokens() -> tuple[str, dict[str, str]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = [
        jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True) | {"kid": "r", "alg": "RS256"},
        jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True) | {"kid": "e", "alg": "ES256"},
    ]
    issuer = serve_issuer(jwks)
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "3f0e6b1c-5d1a-4f0e-9c1b-2a7d8e9f0a1b", "iat": now,
              "exp": now + 3600, "azp": "rcm-console", "preferred_username": "carol.coder",
              "realm_access": {"roles": ["coder", "default-roles-openrcm"]}}  # fmt: skip
    return issuer, {
        "RS256 (2048-bit)": jwt.encode(claims, rsa_key, "RS256", headers={"kid": "r"}),
        "ES256 (P-256)": jwt.encode(claims, ec_key, "ES256", headers={"kid": "e"}),
    }


async def per_call_us(call, n: int) -> tuple[float, float]:
    """Median and 95th percentile of one call in µs, over n calls after a warm-up."""
    for _ in range(min(200, n)):
        await call()
    samples = []
    for _ in range(n):
        began = time.thread_time_ns()
        await call()
        samples.append((time.thread_time_ns() - began) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


async def request_overhead(validator: TokenValidator, token: str, n: int) -> tuple[float, float]:
    app = FastAPI()
    app.state.authenticator = Authenticator(validator.settings, validator)

    @app.get("/open")
    async def open_route() -> dict:
        return {"ok": True}

    @app.get("/guarded")
    async def guarded(principal: PrincipalDep) -> dict:
        return {"ok": True}

    headers = {"Authorization": f"Bearer {token}"}
    samples: dict[str, list[float]] = {"/open": [], "/guarded": []}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for i in range(n + 200):  # interleaved, so both see the same load on a busy machine
            for path, kept in samples.items():
                began = time.thread_time_ns()
                await client.get(path, headers=headers)
                if i >= 200:
                    kept.append((time.thread_time_ns() - began) / 1000)
    return statistics.median(samples["/open"]), statistics.median(samples["/guarded"])


async def keycloak_token() -> tuple[TokenValidator, str]:
    from rcmctl import stack
    from rcmctl.stack import keycloak

    creds = keycloak.credentials(stack.run_dir_from_env())
    async with httpx.AsyncClient() as http:
        form = {"grant_type": "client_credentials", "client_id": "rcm-ehr", "client_secret": creds.clients["rcm-ehr"]}
        response = await http.post(keycloak.token_url(), data=form)
    response.raise_for_status()
    validator = TokenValidator(OidcSettings(issuer=keycloak.issuer(), audience=keycloak.AUDIENCE))
    return validator, response.json()["access_token"]


async def main(n: int, with_keycloak: bool) -> None:
    issuer, tokens = local_tokens()
    validator = TokenValidator(OidcSettings(issuer=issuer, audience=AUDIENCE))
    for label, token in tokens.items():
        median, p95 = await per_call_us(lambda token=token: validator.principal(token), n)
        print(f"validate {label:<18} median {median:6.1f} µs   p95 {p95:6.1f} µs")
    if with_keycloak:
        kc_validator, kc_token = await keycloak_token()
        median, p95 = await per_call_us(lambda: kc_validator.principal(kc_token), n)
        print(f"validate {'Keycloak RS256':<18} median {median:6.1f} µs   p95 {p95:6.1f} µs")
    open_us, guarded_us = await request_overhead(validator, tokens["RS256 (2048-bit)"], n // 5)
    print(f"FastAPI request: open {open_us:.0f} µs, with current_principal {guarded_us:.0f} µs "
          f"(+{guarded_us - open_us:.0f} µs)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="calls per measurement")
    parser.add_argument("--keycloak", action="store_true", help="also a token of the running local Keycloak")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.keycloak))

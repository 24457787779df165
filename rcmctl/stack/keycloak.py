"""Keycloak, the embedded OpenID Connect provider for one machine, run detached like Kafka and PostgreSQL.

    ensure_installed(run_dir)   # unzip the distribution from ~/.m2 (Maven fetches it once) and `kc.sh build` once
    start(run_dir)              # start detached unless running, importing the `openrcm` realm; waits until it answers
    wait_ready(port, pid, log)  # polls the realm's discovery document
    status(run_dir) -> dict     # pid, issuer, whether it answers, log, whether the realm is the repo's
    stop(run_dir)               # SIGTERM, SIGKILL after a grace period
    service_env()               # RCM_OIDC_ISSUER and RCM_OIDC_AUDIENCE for the services
    credentials(run_dir)        # admin, sample users' passwords and client secrets
    sign_in_help(run_dir)       # the text the CLI prints: where to sign in and as whom
    access_token(run_dir, who)  # a sample user's or a machine client's token (`rcm token`)

Layout under <run_dir>:  keycloak/keycloak-<version>/ (the distribution; H2 storage in its data/h2/),
keycloak/credentials.json (0600), keycloak/keycloak.pid and logs/keycloak.log.

The realm ships in the repo (deploy/keycloak/openrcm-realm.json); only its secrets are templated:
`${password:<username>}` and `${client_secret:<client id>}`. Each comes from the environment
(RCM_KEYCLOAK_SAMPLE_PASSWORD for every sample user, RCM_KEYCLOAK_CLIENT_SECRET_<CLIENT_ID> with
`-` as `_`, RCM_KEYCLOAK_ADMIN_USER / RCM_KEYCLOAK_ADMIN_PASSWORD for the master realm's admin), else
it is generated once and kept in credentials.json. Keycloak imports a realm only when it does not
exist yet, so when the rendered realm changes (a new user, another password) the local H2 storage
is discarded and the realm imported afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from rcmctl.stack import procs

VERSION = "26.4.5"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{VERSION}:zip"
REALM = "openrcm"
AUDIENCE = "openrcm-api"  # the audience mapper of every client in the realm puts it in each access token
TEST_CLIENT = "rcm-test"  # the only client with the password grant; for test suites
CONSOLE_CLIENT = "rcm-console"
REALM_TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / f"{REALM}-realm.json"
# Build-time options, baked in once by `kc.sh build` so that every start can be `--optimized`.
# H2 file storage: one machine, nothing to set up.
BUILD_OPTIONS = ("--db=dev-file", "--health-enabled=false", "--metrics-enabled=false")
HEAP = "-Xms64m -Xmx512m"
JVM_EXTRA = "-XX:TieredStopAtLevel=1"  # a small local server: start fast rather than peak throughput
READY_TIMEOUT_S = 240.0
STOP_GRACE_S = 30.0
PLACEHOLDER = re.compile(r"\$\{(password|client_secret):([A-Za-z0-9._-]+)\}")


@dataclass(frozen=True)
class KcPaths:
    root: Path

    @classmethod
    def of(cls, run_dir: Path) -> KcPaths:
        return cls(Path(run_dir).resolve() / "keycloak")

    home = property(lambda s: s.root / f"keycloak-{VERSION}")
    kc_sh = property(lambda s: s.home / "bin" / "kc.sh")
    built = property(lambda s: s.home / ".rcm-built")  # the build options the distribution was built with
    storage = property(lambda s: s.home / "data" / "h2")
    import_file = property(lambda s: s.home / "data" / "import" / f"{REALM}-realm.json")
    imported = property(lambda s: s.root / "realm.sha256")  # digest of the realm the storage holds
    credentials = property(lambda s: s.root / "credentials.json")
    pid_file = property(lambda s: s.root / "keycloak.pid")
    log = property(lambda s: s.root.parent / "logs" / "keycloak.log")


def port() -> int:
    return int(os.environ.get("RCM_KEYCLOAK_PORT", "18080"))


def base_url(listen_port: int | None = None) -> str:
    return f"http://127.0.0.1:{listen_port or port()}"


def issuer(listen_port: int | None = None, realm: str = REALM) -> str:
    """What the services set as RCM_OIDC_ISSUER (the `iss` of every token of the realm)."""
    return f"{base_url(listen_port)}/realms/{realm}"


def service_env(listen_port: int | None = None) -> dict[str, str]:
    """What every service needs to check this provider's tokens (shared.auth.OidcSettings)."""
    return {"RCM_OIDC_ISSUER": issuer(listen_port), "RCM_OIDC_AUDIENCE": AUDIENCE}


def token_url(listen_port: int | None = None, realm: str = REALM) -> str:
    return f"{issuer(listen_port, realm)}/protocol/openid-connect/token"


# --- installation -----------------------------------------------------------------------------------


def ensure_installed(run_dir: Path) -> bool:
    """Unzips the distribution and builds it once (about a minute); later calls return at once. True if it did work."""
    paths = KcPaths.of(run_dir)
    did = False
    if not (paths.kc_sh.exists()):
        _unzip(_distribution_zip(), paths)
        did = True
    wanted = " ".join(BUILD_OPTIONS)
    if not paths.built.exists() or paths.built.read_text().strip() != wanted:
        procs.run([str(paths.kc_sh), "build", *BUILD_OPTIONS], what="kc.sh build", timeout=600, env=_jvm_env())
        paths.built.write_text(wanted + "\n")
        did = True
    return did


def _distribution_zip() -> Path:
    local = Path.home() / ".m2" / "repository" / "org" / "keycloak" / "keycloak-quarkus-dist" / VERSION
    archive = local / f"keycloak-quarkus-dist-{VERSION}.zip"
    if not archive.exists():
        if shutil.which("mvn") is None:
            raise RuntimeError("the Keycloak distribution is not in ~/.m2 and Maven (mvn) is not installed")
        procs.run(["mvn", "-B", "-q", "dependency:get", f"-Dartifact={ARTIFACT}", "-Dtransitive=false"],
                  what="Maven fetch of the Keycloak distribution")  # fmt: skip
    return archive


def _unzip(archive: Path, paths: KcPaths) -> None:
    """Extracts into a staging folder first, so an interrupted unzip never looks installed."""
    staging = paths.root / "unzip.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            target = Path(zipped.extract(member, staging))
            mode = member.external_attr >> 16 & 0o777  # zipfile drops the executable bits
            if mode and not member.is_dir():
                target.chmod(mode)
    shutil.rmtree(paths.home, ignore_errors=True)
    (staging / paths.home.name).rename(paths.home)
    staging.rmdir()


# --- secrets and the realm --------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    admin_user: str
    admin_password: str
    users: dict[str, str]  # sample username -> password
    clients: dict[str, str]  # confidential client id -> secret


def credentials(run_dir: Path) -> Credentials:
    """The environment's values where set, else the ones generated once and kept in credentials.json (0600)."""
    paths = KcPaths.of(run_dir)
    stored = _stored_credentials(paths)
    sample = os.environ.get("RCM_KEYCLOAK_SAMPLE_PASSWORD")
    return Credentials(
        admin_user=os.environ.get("RCM_KEYCLOAK_ADMIN_USER") or stored["admin_user"],
        admin_password=os.environ.get("RCM_KEYCLOAK_ADMIN_PASSWORD") or stored["admin_password"],
        users={user: sample or password for user, password in stored["users"].items()},
        clients={client: os.environ.get(_secret_env(client)) or secret for client, secret in stored["clients"].items()},
    )


def _secret_env(client_id: str) -> str:
    return "RCM_KEYCLOAK_CLIENT_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", client_id).upper()


def _stored_credentials(paths: KcPaths) -> dict:
    """Generates what the realm template asks for and is not stored yet (a user added later gets one too)."""
    stored = json.loads(paths.credentials.read_text()) if paths.credentials.exists() else {}
    wanted = {"admin_user": stored.get("admin_user", "admin"), "admin_password": stored.get("admin_password")}
    wanted["admin_password"] = wanted["admin_password"] or secrets.token_urlsafe(18)
    kinds = {"password": "users", "client_secret": "clients"}
    for kind, name in PLACEHOLDER.findall(REALM_TEMPLATE.read_text()):
        group = wanted.setdefault(kinds[kind], dict(stored.get(kinds[kind], {})))
        group.setdefault(name, secrets.token_urlsafe(18 if kind == "password" else 32))
    if wanted != stored:
        paths.root.mkdir(parents=True, exist_ok=True)
        tmp = paths.credentials.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.chmod(0o600)
        tmp.write_text(json.dumps(wanted, indent=2) + "\n")
        tmp.replace(paths.credentials)
    return wanted


def render_realm(template: str, creds: Credentials) -> str:
    """The realm export with its secret placeholders filled (JSON-escaped); refuses an unknown placeholder."""

    def fill(match: re.Match) -> str:
        kind, name = match.groups()
        values = creds.users if kind == "password" else creds.clients
        if name not in values:
            raise KeyError(f"no {kind} for {name!r}")
        return json.dumps(values[name])[1:-1]

    rendered = PLACEHOLDER.sub(fill, template)
    json.loads(rendered)  # still valid JSON
    return rendered


def _realm_digest(rendered: str, creds: Credentials) -> str:
    return hashlib.sha256(f"{rendered}\n{creds.admin_user}\n{creds.admin_password}".encode()).hexdigest()


def _prepare_realm(paths: KcPaths, creds: Credentials) -> str:
    """Writes the rendered realm for --import-realm; discards the H2 storage if it holds another version.
    Returns the digest to record once the server has imported it."""
    rendered = render_realm(REALM_TEMPLATE.read_text(), creds)
    digest = _realm_digest(rendered, creds)
    if not paths.imported.exists() or paths.imported.read_text().strip() != digest:
        shutil.rmtree(paths.storage, ignore_errors=True)  # the bootstrap admin is created again too
        paths.imported.unlink(missing_ok=True)
    paths.import_file.parent.mkdir(parents=True, exist_ok=True)
    paths.import_file.touch(mode=0o600)
    paths.import_file.chmod(0o600)
    paths.import_file.write_text(rendered)
    return digest


def realm_current(run_dir: Path) -> bool:
    """Whether the storage holds the realm as the repo and the credentials now render it (else: stop, start)."""
    paths = KcPaths.of(run_dir)
    creds = credentials(run_dir)
    digest = _realm_digest(render_realm(REALM_TEMPLATE.read_text(), creds), creds)
    return paths.imported.exists() and paths.imported.read_text().strip() == digest


# --- lifecycle --------------------------------------------------------------------------------------


def start_command(paths: KcPaths, listen_port: int) -> list[str]:
    return [
        str(paths.kc_sh), "start", "--optimized",
        "--http-enabled=true", "--http-host=127.0.0.1", f"--http-port={listen_port}",
        # A fixed issuer: every token says http://127.0.0.1:<port>/realms/openrcm whoever asked.
        f"--hostname={base_url(listen_port)}",
        "--cache=local",  # one node: no cluster discovery at start
        "--import-realm",
        "--log-level=info,org.hibernate:warn,org.infinispan:warn",
    ]  # fmt: skip


def _jvm_env(creds: Credentials | None = None) -> dict[str, str]:
    env = {**os.environ, "JAVA_OPTS_KC_HEAP": HEAP, "JAVA_OPTS_APPEND": JVM_EXTRA}
    if creds is not None:  # read by Keycloak only while the master realm has no admin yet
        env |= {"KC_BOOTSTRAP_ADMIN_USERNAME": creds.admin_user, "KC_BOOTSTRAP_ADMIN_PASSWORD": creds.admin_password}
    return env


def running_pid(paths: KcPaths) -> int | None:
    return procs.live_pid(paths.pid_file, must_contain=str(paths.kc_sh))


def start(run_dir: Path, listen_port: int | None = None) -> bool:
    """Installs if needed and starts detached unless running; waits until the realm answers. True if started."""
    paths, listen_port = KcPaths.of(run_dir), listen_port or port()
    paths.root.mkdir(parents=True, exist_ok=True)
    with procs.exclusive(paths.root / "start.lock"):  # two test sessions at once start one server
        if running_pid(paths):
            return False
        ensure_installed(run_dir)
        if procs.port_in_use(listen_port):
            raise RuntimeError(f"127.0.0.1:{listen_port} is taken by another process (set RCM_KEYCLOAK_PORT)")
        creds = credentials(run_dir)
        digest = _prepare_realm(paths, creds)
        pid = _spawn(paths, start_command(paths, listen_port), _jvm_env(creds))
        try:
            procs.run_async(wait_ready(listen_port, pid, paths.log))
        except BaseException:
            _terminate_group(pid)
            paths.pid_file.unlink(missing_ok=True)
            raise
        paths.imported.write_text(digest + "\n")
    return True


def _spawn(paths: KcPaths, cmd: list[str], env: dict[str, str]) -> int:
    """Like procs.spawn_detached, with the environment the JVM reads (the admin bootstrap stays out of argv)."""
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.log, "ab") as out:
        out.write(f"{procs.START_MARKER} {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=paths.home, env=env, start_new_session=True)  # fmt: skip
    paths.pid_file.write_text(f"{proc.pid}\n")
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()  # no zombie while we live
    return proc.pid


async def wait_ready(listen_port: int, pid: int | None = None, log: Path | None = None,
                     timeout: float = READY_TIMEOUT_S) -> None:  # fmt: skip
    """Polls the realm's discovery document until it answers; fails early if the server died."""
    url = f"{issuer(listen_port)}/.well-known/openid-configuration"
    deadline = time.monotonic() + timeout
    last: object = None
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() < deadline:
            if pid is not None and not procs.alive(pid):
                raise RuntimeError(f"Keycloak exited during startup; see {log}:\n{procs.tail(log)}")
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return
                last = response.status_code
            except httpx.HTTPError as err:
                last = err
            await asyncio.sleep(0.5)
    where = f"; see {log}" if log else ""
    raise TimeoutError(f"Keycloak at {url} not ready after {timeout:.0f}s ({last!r}){where}")


def status(run_dir: Path, listen_port: int | None = None) -> dict:
    paths, listen_port = KcPaths.of(run_dir), listen_port or port()
    try:
        answers = httpx.get(f"{issuer(listen_port)}/.well-known/openid-configuration", timeout=3).status_code == 200
    except httpx.HTTPError:
        answers = False
    return {"pid": running_pid(paths), "issuer": issuer(listen_port), "answers": answers, "log": str(paths.log),
            "realm_current": realm_current(run_dir)}  # fmt: skip


def stop(run_dir: Path) -> bool:
    """SIGTERM (kc.sh passes it to the JVM), SIGKILL of the whole group after a grace period. True if it ran."""
    paths = KcPaths.of(run_dir)
    pid = running_pid(paths)
    if pid:
        _terminate_group(pid)
    paths.pid_file.unlink(missing_ok=True)
    return pid is not None


def _terminate_group(pid: int) -> None:
    procs.terminate(pid, STOP_GRACE_S)
    try:
        os.killpg(pid, signal.SIGKILL)  # the JVM, should kc.sh have gone without it (own session: pgid == pid)
    except ProcessLookupError:
        pass


# --- what people are told ---------------------------------------------------------------------------


def sign_in_help(run_dir: Path, listen_port: int | None = None) -> str:
    """Where to sign in and as whom (the passwords are the local ones: generated, or from the environment)."""
    creds, listen_port = credentials(run_dir), listen_port or port()
    roles = _sample_roles()
    width = max(map(len, creds.users))
    url = base_url(listen_port)
    lines = [
        f"Keycloak  {url}   admin console {url}/admin/  ({creds.admin_user} / {creds.admin_password})",
        f"issuer    {issuer(listen_port)}   audience {AUDIENCE}",
        "sample users (realm openrcm):",
        *(f"  {user:<{width}}  {password}  {', '.join(roles.get(user, []))}" for user, password in creds.users.items()),
        f"secrets: {KcPaths.of(run_dir).credentials}",
        'a token for curl: ./rcm token <user>   (curl -H "Authorization: Bearer $(./rcm token anna.ar)" …)',
    ]
    return "\n".join(lines)


def access_token(run_dir: Path, who: str, machine: bool = False, listen_port: int | None = None) -> str:
    """A sample user's access token (password grant by the test client), or a machine client's (client
    credentials): what `rcm token` prints. ValueError for someone the realm does not have."""
    creds = credentials(run_dir)
    if who not in (creds.clients if machine else creds.users):
        raise ValueError(f"the realm has no {'machine client' if machine else 'sample user'} {who!r}")
    if machine:
        form = {"grant_type": "client_credentials", "client_id": who, "client_secret": creds.clients[who]}
    else:
        form = {"grant_type": "password", "client_id": TEST_CLIENT, "client_secret": creds.clients[TEST_CLIENT],
                "username": who, "password": creds.users[who], "scope": "openid"}  # fmt: skip
    try:
        response = httpx.post(token_url(listen_port), data=form, timeout=30)
    except httpx.HTTPError as err:
        raise RuntimeError(f"Keycloak at {base_url(listen_port)} does not answer ({err}); run `rcm stack up`") from None
    if response.status_code != 200:
        raise RuntimeError(f"Keycloak refused: {response.status_code} {response.text[:200]}")
    return str(response.json()["access_token"])


def _sample_roles() -> dict[str, list[str]]:
    realm = json.loads(REALM_TEMPLATE.read_text())
    return {u["username"]: u.get("realmRoles", []) for u in realm["users"]}


def machine_clients() -> dict[str, list[str]]:
    """Confidential clients with a service account (client credentials) and the realm roles it holds."""
    realm = json.loads(REALM_TEMPLATE.read_text())
    return {
        u["serviceAccountClientId"]: u.get("realmRoles", []) for u in realm["users"] if "serviceAccountClientId" in u
    }


def sample_users() -> dict[str, list[str]]:
    """Sample people (password grant through the test client) and their realm roles."""
    return {user: roles for user, roles in _sample_roles().items() if not user.startswith("service-account-")}

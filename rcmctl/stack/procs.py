"""Small, careful process helpers: run-to-completion, detached daemons, pid files, stopping."""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import os
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

START_MARKER = "=== rcm stack: starting"  # written to a daemon's log before each start


def run(cmd: list[str], what: str, timeout: float = 900, **kwargs) -> str:
    """Runs a command to completion; on failure raises with its output so the cause is visible.

    Output goes through temporary files, not pipes: a daemon started by the command (pg_ctl start)
    could inherit a pipe and keep us waiting forever.
    """
    with tempfile.TemporaryFile("w+") as out:
        try:
            done = subprocess.run(cmd, check=False, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  text=True, timeout=timeout, **kwargs)  # fmt: skip
        except subprocess.TimeoutExpired as err:
            raise RuntimeError(f"{what} timed out after {timeout:.0f}s: {' '.join(cmd)}") from err
        except OSError as err:
            raise RuntimeError(f"{what} failed: {err}") from err
        out.seek(0)
        output = out.read()
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n{output.strip()[-4000:]}")
    return output


def spawn_detached(cmd: list[str], log: Path, pid_file: Path, cwd: Path | None = None) -> int:
    """Starts a daemon in its own session (no terminal signals reach it, it outlives us) and records its pid.

    The child is reaped by a short-lived watcher thread only while we live; after we exit, init adopts it,
    so no zombie remains either way.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"{START_MARKER} {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
    pid_file.write_text(f"{proc.pid}\n")
    _reap_in_background(proc)
    return proc.pid


def _reap_in_background(proc: subprocess.Popen) -> None:
    import threading

    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()


def live_pid(pid_file: Path, must_contain: str) -> int | None:
    """The pid in pid_file if that process still runs and its command line names must_contain.

    The command-line check guards against a stale pid file whose number was reused by another process.
    """
    try:
        pid = int(pid_file.read_text().split()[0])
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return pid if any(must_contain in part for part in proc.cmdline()) else None
    except (FileNotFoundError, IndexError, ValueError, psutil.Error):
        return None


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def terminate(pid: int, grace: float) -> None:
    """SIGTERM, wait up to grace seconds, then SIGKILL."""
    try:
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace)
    except psutil.TimeoutExpired:
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 10)
    except psutil.Error:
        pass


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tail(log: Path | str, lines: int = 8) -> str:
    """The last lines of a log file since the last start, without Java stack frames (they bury the cause),
    after its first ERROR and FATAL lines (a JVM that gives up logs the cause well before its last words)."""
    try:
        text = Path(log).read_text(errors="replace").split(START_MARKER)[-1].splitlines()[1:]
    except OSError:
        return ""
    kept = [line for line in text if line.strip() and not line[0].isspace()]
    errors = [line for line in kept if " ERROR " in line or " FATAL " in line][:5]
    return "\n".join(errors + [line for line in kept[-lines:] if line not in errors])


def run_async(coro):
    """asyncio.run that also works when the caller already runs an event loop (async tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextmanager
def exclusive(lock_file: Path):
    """An inter-process lock (flock): two `up`s at once must not both start a broker."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

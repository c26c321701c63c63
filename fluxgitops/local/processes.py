"""Processes of the local cluster: start bookkeeping, health probes, and the detached state.

``Process`` is one started program with its log; ``free_port`` and ``http_ok``
probe loopback; ``read_state``/``process_status``/``stop_detached``
manage a cluster that ``fluxgitops local up`` left running (its ``state.json``).
I/O only, no Kubernetes API calls. Called by ``fluxgitops.local.controlplane``
and the ``fluxgitops local`` commands.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
Check = Callable[[], bool]


def free_port(preferred: int = 0) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now: ``preferred`` when it is
    free, else any."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sticky_port(record: Path) -> int:
    """The port written in ``record`` when it is still free, else a new one; written back.
    For addresses other processes store: Flux's source-controller puts its storage address
    in every artifact URL, and a plane restarted on its old data must serve the old URLs."""
    try:
        preferred = int(record.read_text())
    except (OSError, ValueError):
        preferred = 0
    port = free_port(preferred)
    record.write_text(str(port))
    return port


@dataclass
class Process:
    """A started program, its log file, and how to stop it."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the program's log, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``timeout``."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)


def read_state(workdir: Path) -> dict[str, Any] | None:
    """The state a detached control plane left in ``workdir``, or None."""
    try:
        state: dict[str, Any] = json.loads((workdir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child (in-process CLI, tests)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_status(workdir: Path) -> dict[str, bool]:
    """Process name → running, for the detached control plane in ``workdir``."""
    state = read_state(workdir) or {}
    return {name: _alive(int(pid)) for name, pid in state.get("processes", {}).items()}


def stop_detached(workdir: Path, timeout: float = 10.0) -> list[str]:
    """Stop the processes of a detached control plane (controllers first); their names."""
    state = read_state(workdir) or {}
    stopped: list[str] = []
    for name, pid in reversed(list(state.get("processes", {}).items())):
        if not _alive(int(pid)):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(int(pid)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid), signal.SIGKILL)
        stopped.append(name)
    (workdir / STATE_FILE).unlink(missing_ok=True)
    return stopped


def unverified_tls() -> ssl.SSLContext:
    """TLS without verification, for the health port of a component's self-signed cert."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def health_check(url: str) -> Check:
    """A check that ``url`` answers 2xx (TLS unverified: components serve self-signed certs)."""
    context = unverified_tls() if url.startswith("https:") else None
    return lambda: http_ok(url, context)


def http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    """True when ``url`` answers 2xx within 2 s."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as answer:
            return bool(200 <= answer.status < 300)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False

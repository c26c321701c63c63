"""Start and stop a real Kubernetes control plane on loopback: etcd + kube-apiserver.

envtest-style: free 127.0.0.1 ports, a throwaway CA and client certificates
(``fluxgitops.local.pki``), RBAC authorization, an admin kubeconfig at a known
path, the Flux CRDs plus our ``FluxConfig`` CRD installed and Established, and the
FluxConfig tenancy admission policy (default settings) installed.
No controller-manager or scheduler runs: namespaces never finish terminating
and no pods start. Processes run in their own session and are stopped on
``stop()``, on context exit and at interpreter exit, so a failing test leaves
none behind. Called by the test fixtures and the ``fluxgitops local`` command.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from lightkube import Client, KubeConfig
from lightkube.codecs import load_all_yaml
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from fluxgitops.errors import ClusterUnavailableError, ToolchainError
from fluxgitops.local.pki import CertificateAuthority, KeyPair
from fluxgitops.local.toolchain import tool_path
from fluxgitops.render.admission import render_admission
from fluxgitops.render.fluxconfig import render_fluxconfig_crd
from fluxgitops.spec.extension import FluxExtensionSpec

READY_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
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


CONTROLLERS = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
)
STATE_FILE = "state.json"


@dataclass
class ControlPlane:
    """etcd + kube-apiserver in ``workdir`` (a temporary directory when not given).

    ``controllers`` names Flux controllers to run as local processes against it
    (source-controller serves artifacts on a loopback port). ``detach`` leaves
    the processes running after this Python process exits (``fluxgitops local
    up``); ``stop_detached`` ends them later from the state file.
    """

    workdir: Path | None = None
    install_crds: bool = True
    controllers: tuple[str, ...] = ()
    detach: bool = False
    processes: list[Process] = field(default_factory=list)
    api_port: int = 0
    etcd_port: int = 0
    storage_port: int = 0
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (``system:masters``)."""
        assert self.workdir is not None
        return self.workdir / "kubeconfig"

    @property
    def server(self) -> str:
        """The API server URL."""
        return f"https://127.0.0.1:{self.api_port}"

    def start(self) -> ControlPlane:
        """Start etcd and kube-apiserver, wait until ready, install the CRDs."""
        etcd_bin, apiserver_bin = tool_path("etcd"), tool_path("kube-apiserver")
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fluxgitops-local-")
            self.workdir = Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        pki_dir = self.workdir / "pki"
        pki_dir.mkdir(exist_ok=True)
        binaries = {name: tool_path(name) for name in self.controllers}
        if not self.detach:
            atexit.register(self.stop)
        try:
            self._start_etcd(etcd_bin)
            self._start_apiserver(apiserver_bin, pki_dir)
            if self.install_crds:
                self._install_crds()
            for name, binary in binaries.items():
                self._start_controller(name, binary)
            self._save_state()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_controller(self, name: str, binary: Path) -> None:
        assert self.workdir is not None
        health = free_port()
        argv = [
            str(binary),
            "--metrics-addr=0",
            f"--health-addr=127.0.0.1:{health}",
            "--watch-all-namespaces=true",
            "--log-level=info",
        ]
        if name == "source-controller":
            self.storage_port = free_port()
            (self.workdir / "artifacts").mkdir(exist_ok=True)
            storage = f"127.0.0.1:{self.storage_port}"
            argv += [
                f"--storage-path={self.workdir / 'artifacts'}",
                f"--storage-addr={storage}",
                f"--storage-adv-addr={storage}",
            ]
        if name == "notification-controller":
            argv += [
                f"--events-addr=127.0.0.1:{free_port()}",
                f"--receiverAddr=127.0.0.1:{free_port()}",
            ]
        environment = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "RUNTIME_NAMESPACE": "flux-system",
        }
        process = self._spawn(name, argv, environment)
        self._wait(process, lambda: _http_ok(f"http://127.0.0.1:{health}/readyz"))

    def _save_state(self) -> None:
        assert self.workdir is not None
        state = {
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "etcdPort": self.etcd_port,
            "apiPort": self.api_port,
            "storagePort": self.storage_port,
            "processes": {p.name: p.popen.pid for p in self.processes},
        }
        (self.workdir / STATE_FILE).write_text(json.dumps(state, indent=2))

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        assert self.workdir is not None
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _start_etcd(self, binary: Path) -> None:
        assert self.workdir is not None
        self.etcd_port, peer = free_port(), free_port()
        url = f"http://127.0.0.1:{self.etcd_port}"
        process = self._spawn(
            "etcd",
            [
                str(binary),
                "--data-dir",
                str(self.workdir / "etcd"),
                "--unsafe-no-fsync",
                "--listen-client-urls",
                url,
                "--advertise-client-urls",
                url,
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer}",
                "--log-level",
                "warn",
            ],
        )
        self._wait(process, lambda: _http_ok(f"{url}/health"))

    def _start_apiserver(self, binary: Path, pki_dir: Path) -> None:
        ca = CertificateAuthority(pki_dir)
        serving = ca.issue("apiserver", "kube-apiserver", server=True)
        self.admin = ca.issue("admin", "fluxgitops-admin", ("system:masters",))
        self._ca = ca
        sa_key = ca.service_account_key()
        self.api_port = free_port()
        process = self._spawn(
            "kube-apiserver",
            [
                str(binary),
                "--etcd-servers",
                f"http://127.0.0.1:{self.etcd_port}",
                "--cert-dir",
                str(pki_dir),
                "--tls-cert-file",
                str(serving.cert),
                "--tls-private-key-file",
                str(serving.key),
                "--client-ca-file",
                str(ca.files.cert),
                "--secure-port",
                str(self.api_port),
                "--bind-address",
                "127.0.0.1",
                "--service-cluster-ip-range",
                "10.0.0.0/24",
                "--allow-privileged=true",
                "--disable-admission-plugins",
                "ServiceAccount",
                "--authorization-mode",
                "RBAC",
                "--service-account-issuer",
                f"https://127.0.0.1:{self.api_port}/",
                "--service-account-key-file",
                str(sa_key.cert),
                "--service-account-signing-key-file",
                str(sa_key.key),
                "--advertise-address",
                "127.0.0.1",
            ],
        )
        self.write_kubeconfig(self.kubeconfig, self.admin)
        self._wait(process, lambda: self._api_ok("/readyz"))

    def user(self, name: str, groups: tuple[str, ...] = ()) -> Path:
        """A kubeconfig for a non-admin user (subject to RBAC)."""
        assert self.workdir is not None
        pair = self._ca.issue(f"user-{name}", name, groups)
        path = self.workdir / f"kubeconfig-{name}"
        self.write_kubeconfig(path, pair, user=name)
        return path

    def write_kubeconfig(self, path: Path, pair: KeyPair, user: str = "admin") -> None:
        """Write a kubeconfig for ``pair`` against this API server."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "local",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(self._ca.files.cert),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {"client-certificate": str(pair.cert), "client-key": str(pair.key)},
                }
            ],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)

    def _ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self._ca.files.cert))
        context.load_cert_chain(str(self.admin.cert), str(self.admin.key))
        return context

    def _api_ok(self, path: str) -> bool:
        return _http_ok(self.server + path, self._ssl())

    def get(self, path: str) -> Any:
        """GET ``path`` as the admin and decode the JSON answer."""
        with urllib.request.urlopen(self.server + path, context=self._ssl(), timeout=10) as answer:
            return json.loads(answer.read())

    def _wait(self, process: Process, ready: Any, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise ToolchainError(
                    f"{process.name} exited with code {process.popen.returncode} while starting; "
                    f"log {str(process.log)!r} ends with:\n{process.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.2)
        raise ClusterUnavailableError(
            f"{process.name} was not ready after {timeout:.0f}s; "
            f"log {str(process.log)!r} ends with:\n{process.log_tail()}"
        )

    def _install_crds(self) -> None:
        client = Client(KubeConfig.from_file(self.kubeconfig), field_manager="fluxgitops")
        crds: list[Any] = []
        for path in sorted(tool_path("flux-crds").glob("*.yaml")):
            crds.extend(load_all_yaml(path.read_text()))
        crds.append(CustomResourceDefinition.from_dict(render_fluxconfig_crd().to_dict()))
        for crd in crds:
            client.apply(crd, force=True)
        for policy in render_admission(FluxExtensionSpec()):  # the tenancy guard, as shipped
            client.apply(load_all_yaml(yaml.safe_dump(policy.to_dict()))[0], force=True)
        deadline = time.monotonic() + READY_TIMEOUT
        for crd in crds:
            while True:
                live = client.get(CustomResourceDefinition, crd.metadata.name)
                conditions = (live.status.conditions if live.status else None) or []
                if any(c.type == "Established" and c.status == "True" for c in conditions):
                    break
                if time.monotonic() > deadline:
                    raise ClusterUnavailableError(
                        f"CRD {crd.metadata.name!r} was not Established in time"
                    )
                time.sleep(0.1)
        self._wait_served(crds, deadline)

    def _wait_served(self, crds: list[Any], deadline: float) -> None:
        """Wait until every CRD's storage answers a list (a fresh CRD briefly answers 429)."""
        for crd in crds:
            version = next(v.name for v in crd.spec.versions if v.served)
            path = f"/apis/{crd.spec.group}/{version}/{crd.spec.names.plural}?limit=1"
            while not self._api_ok(path):
                if time.monotonic() > deadline:
                    raise ClusterUnavailableError(
                        f"CRD {crd.metadata.name!r} is not served in time"
                    )
                time.sleep(0.1)

    def restart_apiserver(self, *, kill: bool = True, down_for: float = 0.0) -> None:
        """Kill (SIGKILL, like a crash) or stop kube-apiserver, wait ``down_for`` seconds, start it
        again with the same arguments, port and certificates (etcd keeps the data); wait until
        ready. For tests of clients that must survive an API server restart."""
        process = next(p for p in self.processes if p.name == "kube-apiserver")
        argv = process.popen.args
        assert isinstance(argv, list), "started with an argument list by _spawn"
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(10)
        else:
            process.stop()
        self.processes.remove(process)
        time.sleep(down_for)
        restarted = self._spawn("kube-apiserver", [str(arg) for arg in argv])
        self._wait(restarted, lambda: self._api_ok("/readyz"))
        self._save_state()

    def stop(self) -> None:
        """Stop every process (apiserver first) and remove a temporary workdir."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def local_dir() -> Path:
    """Where ``fluxgitops local up`` keeps the detached control plane (FLUXGITOPS_LOCAL_DIR)."""
    default = Path.home() / ".cache" / "fluxgitops" / "local"
    return Path(os.environ.get("FLUXGITOPS_LOCAL_DIR", default))


def resolve_kubeconfig(value: str | None) -> str | None:
    """A stack's ``kubeconfig``: ``local`` is the local control plane's; ``~`` is expanded."""
    if value == "local":
        return str(local_dir() / "kubeconfig")
    return str(Path(value).expanduser()) if value else None


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


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as answer:
            return bool(200 <= answer.status < 300)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


@contextlib.contextmanager
def running(
    workdir: Path | None = None, controllers: tuple[str, ...] = ()
) -> Iterator[ControlPlane]:
    """``with running() as cp:`` — a started control plane, always stopped afterwards."""
    plane = ControlPlane(workdir=workdir, controllers=controllers)
    with plane:
        yield plane


__all__ = [
    "ControlPlane",
    "free_port",
    "local_dir",
    "process_status",
    "read_state",
    "resolve_kubeconfig",
    "running",
    "stop_detached",
]

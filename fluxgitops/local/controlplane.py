"""Start and stop a real Kubernetes cluster on loopback, from etcd up to simulated nodes.

envtest-style: free 127.0.0.1 ports, a throwaway CA and client certificates
(``fluxgitops.local.pki``), RBAC authorization, an admin kubeconfig at a known
path, the Flux CRDs plus our ``FluxConfig`` CRD installed and Established, and the
FluxConfig tenancy admission policy (default settings) installed.
Switches add the parts of a real cluster (``fluxgitops.local.kubesystem`` builds
their command lines): ``kube_controllers`` runs kube-controller-manager (GC,
namespace deletion, ServiceAccounts and tokens, Deployments) and kube-scheduler;
``nodes`` simulated Nodes run by kwok, whose pods become Running; ``controllers``
names Flux controllers to run as local processes. Processes that do not depend
on each other start in parallel. They run in their own session and are stopped on
``stop()``, on context exit and at interpreter exit, so a failing test leaves
none behind. Called by the test fixtures, the benchmarks and ``fluxgitops local``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
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
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.codecs import load_all_yaml
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Node, ServiceAccount

from fluxgitops.errors import ClusterUnavailableError, ToolchainError
from fluxgitops.fluxconfig.render import render_fluxconfig_crd
from fluxgitops.local.kubesystem import (
    FLUX_CONTROLLERS,
    SERVICE_CIDR,
    Identity,
    controller_manager_argv,
    fake_node,
    flux_controller_argv,
    kwok_argv,
    node_names,
    scheduler_argv,
)
from fluxgitops.local.pki import CertificateAuthority, KeyPair
from fluxgitops.local.processes import (
    STATE_FILE,
    Check,
    Process,
    free_port,
    health_check,
    http_ok,
    process_status,
    read_state,
    sticky_port,
    stop_detached,
)
from fluxgitops.local.toolchain import tool_path
from fluxgitops.render.admission import render_admission
from fluxgitops.spec.extension import FluxExtensionSpec

READY_TIMEOUT = 60.0


@dataclass
class ControlPlane:
    """etcd + kube-apiserver in ``workdir`` (a temporary directory when not given).

    ``kube_controllers`` adds kube-controller-manager and kube-scheduler; ``nodes``
    creates that many simulated Nodes run by kwok; ``controllers`` names Flux
    controllers to run as local processes against it (source-controller serves
    artifacts on a loopback port). ``ControlPlane.full()`` switches everything on,
    as ``fluxgitops local up`` does. ``detach`` leaves the processes running after
    this Python process exits; ``stop_detached`` ends them later from the state file.
    """

    workdir: Path | None = None
    install_crds: bool = True
    controllers: tuple[str, ...] = ()
    detach: bool = False
    kube_controllers: bool = False
    nodes: int = 0
    processes: list[Process] = field(default_factory=list)
    api_port: int = 0
    etcd_port: int = 0
    storage_port: int = 0
    ready_seconds: dict[str, float] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def full(
        cls,
        workdir: Path | None = None,
        *,
        flux: bool = True,
        nodes: int = 1,
        detach: bool = False,
    ) -> ControlPlane:
        """A cluster that behaves like a real one: controller-manager, scheduler, ``nodes``
        kwok nodes and (with ``flux``) all four Flux controllers."""
        return cls(
            workdir=workdir,
            controllers=FLUX_CONTROLLERS if flux else (),
            detach=detach,
            kube_controllers=True,
            nodes=nodes,
        )

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
        """Start every process, wait until each is ready, install the CRDs, create the nodes.

        Order: etcd and kube-apiserver together (the API server retries etcd); once
        the API answers, controller-manager, scheduler and kwok; the CRDs and Nodes
        meanwhile; then the Flux controllers (they need the CRDs); then wait for all.
        """
        unknown = [name for name in self.controllers if name not in FLUX_CONTROLLERS]
        if unknown:
            raise ToolchainError(
                f"unknown Flux controller(s) {unknown!r}; known: {', '.join(FLUX_CONTROLLERS)}"
            )
        began = time.monotonic()
        binaries = {name: tool_path(name) for name in ("etcd", "kube-apiserver")}
        if self.kube_controllers:
            binaries.update(
                {n: tool_path(n) for n in ("kube-controller-manager", "kube-scheduler")}
            )
        if self.nodes:
            binaries["kwok"] = tool_path("kwok")
        binaries.update({name: tool_path(name) for name in self.controllers})
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fluxgitops-local-")
            self.workdir = Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        pki_dir = self.workdir / "pki"
        pki_dir.mkdir(exist_ok=True)
        if not self.detach:
            atexit.register(self.stop)
        try:
            etcd = self._start_etcd(binaries["etcd"])
            apiserver = self._start_apiserver(binaries["kube-apiserver"], pki_dir)
            self._wait_all([etcd, apiserver], began)
            pending = self._start_kube_system(binaries)
            client = Client(KubeConfig.from_file(self.kubeconfig), field_manager="fluxgitops")
            if self.install_crds:
                self._install_crds(client)
            for name in self.controllers:
                pending.append(self._start_controller(name, binaries[name]))
            self._create_nodes(client)
            self._wait_all(pending, began)
            self._wait_cluster_ready(client, began)
            self.ready_seconds["total"] = round(time.monotonic() - began, 2)
            self._save_state()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_kube_system(self, binaries: dict[str, Path]) -> list[tuple[Process, Check]]:
        """Spawn controller-manager, scheduler and kwok (as switched on); their health checks."""
        assert self.workdir is not None
        started: list[tuple[Process, Check]] = []
        identity = Identity(
            kubeconfig=self.kubeconfig,
            ca_cert=self._ca.files.cert,
            ca_key=self._ca.files.key,
            sa_private_key=self._sa_key.key,
        )
        parts: list[tuple[str, Any]] = []
        if self.kube_controllers:
            parts += [
                ("kube-controller-manager", controller_manager_argv),
                ("kube-scheduler", scheduler_argv),
            ]
        for name, argv_of in parts:
            port, cert_dir = free_port(), self.workdir / name
            cert_dir.mkdir(exist_ok=True)
            process = self._spawn(name, argv_of(binaries[name], identity, port, cert_dir))
            started.append((process, health_check(f"https://127.0.0.1:{port}/healthz")))
        if self.nodes:
            port = free_port()
            process = self._spawn("kwok", kwok_argv(binaries["kwok"], self.kubeconfig, port))
            started.append((process, health_check(f"http://127.0.0.1:{port}/healthz")))
        return started

    def _start_controller(self, name: str, binary: Path) -> tuple[Process, Check]:
        assert self.workdir is not None
        health = free_port()
        ports = {"storage": free_port(), "events": free_port(), "receiver": free_port()}
        if name == "source-controller":
            ports["storage"] = sticky_port(self.workdir / "source-storage.port")
            self.storage_port = ports["storage"]
            (self.workdir / "artifacts").mkdir(exist_ok=True)
        argv = flux_controller_argv(name, binary, health, self.workdir, ports)
        environment = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "RUNTIME_NAMESPACE": "flux-system",
        }
        process = self._spawn(name, argv, environment)
        return process, lambda: http_ok(f"http://127.0.0.1:{health}/readyz")

    def _create_nodes(self, client: Client) -> None:
        for name in node_names(self.nodes):
            try:
                client.create(codecs.from_dict(fake_node(name)))
            except ApiError as exc:
                if exc.status.code != 409:  # kept from an earlier run of this workdir
                    raise ClusterUnavailableError(
                        f"cannot create simulated node {name!r}: {exc.status.message}"
                    ) from exc

    def _wait_cluster_ready(self, client: Client, began: float) -> None:
        """Nodes Ready (kwok took them over) and the ``default`` ServiceAccount made, so a
        Pod or Deployment created right after ``start()`` is admitted and scheduled."""
        assert self.workdir is not None
        deadline = time.monotonic() + READY_TIMEOUT
        names = set(node_names(self.nodes))
        while names:
            ready = {
                n.metadata.name
                for n in client.list(Node)
                if n.metadata and _node_ready(n, untainted=self.kube_controllers)
            }
            names -= ready
            if names and time.monotonic() > deadline:
                raise ClusterUnavailableError(
                    f"simulated node(s) {sorted(names)!r} not Ready after {READY_TIMEOUT:.0f}s; "
                    f"kwok log {str(self.workdir / 'kwok.log')!r}"
                )
            if names:
                time.sleep(0.1)
        if self.nodes:
            self.ready_seconds["nodes"] = round(time.monotonic() - began, 2)
        while self.kube_controllers:
            try:
                client.get(ServiceAccount, "default", namespace="default")
                self.ready_seconds["serviceaccounts"] = round(time.monotonic() - began, 2)
                break
            except ApiError as exc:
                if exc.status.code != 404 or time.monotonic() > deadline:
                    raise ClusterUnavailableError(
                        "ServiceAccount default/default was not created by "
                        f"kube-controller-manager: {exc.status.message}"
                    ) from exc
                time.sleep(0.1)

    def _save_state(self) -> None:
        assert self.workdir is not None
        state = {
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "etcdPort": self.etcd_port,
            "apiPort": self.api_port,
            "storagePort": self.storage_port,
            "nodes": node_names(self.nodes),
            "readySeconds": self.ready_seconds,
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

    def _start_etcd(self, binary: Path) -> tuple[Process, Check]:
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
        return process, lambda: http_ok(f"{url}/health")

    def _start_apiserver(self, binary: Path, pki_dir: Path) -> tuple[Process, Check]:
        ca = CertificateAuthority(pki_dir)
        serving = ca.issue("apiserver", "kube-apiserver", server=True)
        self.admin = ca.issue("admin", "fluxgitops-admin", ("system:masters",))
        self._ca = ca
        self._sa_key = sa_key = ca.service_account_key()
        self.api_port = free_port()
        # Without controller-manager nothing creates the ServiceAccounts the admission
        # plugin would require of every Pod, so it is only on with kube_controllers.
        admission = (
            ["--enable-admission-plugins", "ServiceAccount"]
            if self.kube_controllers
            else ["--disable-admission-plugins", "ServiceAccount"]
        )
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
                SERVICE_CIDR,
                "--allow-privileged=true",
                *admission,
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
        return process, lambda: self._api_ok("/readyz")

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
        return http_ok(self.server + path, self._ssl())

    def get(self, path: str) -> Any:
        """GET ``path`` as the admin and decode the JSON answer."""
        with urllib.request.urlopen(self.server + path, context=self._ssl(), timeout=10) as answer:
            return json.loads(answer.read())

    def _wait(self, process: Process, ready: Check, timeout: float = READY_TIMEOUT) -> None:
        self._wait_all([(process, ready)], time.monotonic(), timeout)

    def _wait_all(
        self, checks: list[tuple[Process, Check]], began: float, timeout: float = READY_TIMEOUT
    ) -> None:
        """Wait until every check passes; a process that exits first is a ``ToolchainError``.

        Records each process's ready time (seconds since ``began``) in ``ready_seconds``.
        """
        deadline = time.monotonic() + timeout
        waiting = list(checks)
        while waiting:
            for process, ready in list(waiting):
                if process.popen.poll() is not None:
                    raise ToolchainError(
                        f"{process.name} exited with code {process.popen.returncode} while "
                        f"starting; log {str(process.log)!r} ends with:\n{process.log_tail()}"
                    )
                if ready():
                    self.ready_seconds[process.name] = round(time.monotonic() - began, 2)
                    waiting.remove((process, ready))
            if not waiting:
                return
            if time.monotonic() > deadline:
                process = waiting[0][0]
                raise ClusterUnavailableError(
                    f"{process.name} was not ready after {timeout:.0f}s; "
                    f"log {str(process.log)!r} ends with:\n{process.log_tail()}"
                )
            time.sleep(0.1)

    def _install_crds(self, client: Client) -> None:
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


def _node_ready(node: Node, *, untainted: bool) -> bool:
    """Ready=True; with ``untainted``, also without the ``node.kubernetes.io/not-ready``
    taint the API server puts on new Nodes and the node lifecycle controller lifts."""
    conditions = (node.status.conditions if node.status else None) or []
    taints = (node.spec.taints if node.spec else None) or []
    if untainted and any(t.key == "node.kubernetes.io/not-ready" for t in taints):
        return False
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


@contextlib.contextmanager
def running(
    workdir: Path | None = None,
    controllers: tuple[str, ...] = (),
    *,
    kube_controllers: bool = False,
    nodes: int = 0,
) -> Iterator[ControlPlane]:
    """``with running() as cp:`` — a started control plane, always stopped afterwards."""
    plane = ControlPlane(
        workdir=workdir, controllers=controllers, kube_controllers=kube_controllers, nodes=nodes
    )
    with plane:
        yield plane


__all__ = [
    "FLUX_CONTROLLERS",
    "ControlPlane",
    "free_port",
    "process_status",
    "read_state",
    "running",
    "stop_detached",
]

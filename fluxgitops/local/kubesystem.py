"""Command lines and objects for the parts of a real cluster beyond the API server.

kube-controller-manager (garbage collector, namespace, ServiceAccount and token
controllers, Deployments/ReplicaSets …), kube-scheduler, kwok (simulated nodes
whose pods it moves to Running) and the four Flux controllers. Pure: it builds
argument lists and Node manifests from paths and ports and starts nothing;
``fluxgitops.local.controlplane`` spawns the processes and waits for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The Flux controllers ``fluxgitops local up`` runs by default, in start order.
FLUX_CONTROLLERS = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
)

#: The annotation kwok selects the Nodes it manages by (value ``fake``).
KWOK_ANNOTATION = "kwok.x-k8s.io/node"

#: kwok's default "fast" stages, copied next to the binary by ``tools/build.py``.
KWOK_STAGES = (
    "node-initialize.yaml",
    "node-heartbeat-with-lease.yaml",
    "pod-ready.yaml",
    "pod-complete.yaml",
    "pod-delete.yaml",
)

#: Pod IPs kwok hands out (outside the service range 10.0.0.0/24 of kube-apiserver).
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.0.0.0/24"

#: What each simulated node offers the scheduler.
NODE_CAPACITY = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"}


@dataclass(frozen=True)
class Identity:
    """The files a Kubernetes component authenticates and signs with."""

    kubeconfig: Path
    ca_cert: Path
    ca_key: Path
    sa_private_key: Path


def controller_manager_argv(
    binary: Path, identity: Identity, port: int, cert_dir: Path
) -> list[str]:
    """kube-controller-manager with every default controller (``*``), no leader election.

    The service-account private key lets its token controller sign tokens the API
    server accepts; the root CA is what it publishes as ``kube-root-ca.crt`` in
    every namespace; the CA pair signs approved CertificateSigningRequests.
    Health on ``https://127.0.0.1:<port>/healthz``.
    """
    return _secure_component_argv(
        binary,
        identity,
        port,
        cert_dir,
        "--controllers=*",
        f"--service-account-private-key-file={identity.sa_private_key}",
        f"--root-ca-file={identity.ca_cert}",
        f"--cluster-signing-cert-file={identity.ca_cert}",
        f"--cluster-signing-key-file={identity.ca_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--concurrent-gc-syncs=20",
    )


def scheduler_argv(binary: Path, identity: Identity, port: int, cert_dir: Path) -> list[str]:
    """kube-scheduler, no leader election; health on ``https://127.0.0.1:<port>/healthz``."""
    return _secure_component_argv(binary, identity, port, cert_dir)


def _secure_component_argv(
    binary: Path, identity: Identity, port: int, cert_dir: Path, *flags: str
) -> list[str]:
    """A control-plane component talking to the API server with the admin kubeconfig, serving
    its health over HTTPS on loopback ``port``, no leader election; ``flags`` its own."""
    kubeconfig = str(identity.kubeconfig)
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        *flags,
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={cert_dir}",
        "--v=1",
    ]


def kwok_argv(binary: Path, kubeconfig: Path, port: int) -> list[str]:
    """kwok managing the Nodes annotated ``kwok.x-k8s.io/node=fake`` with its default stages.

    Node leases are kept (40 s, like a kubelet) so the node lifecycle controller
    sees the nodes alive; health on ``http://127.0.0.1:<port>/healthz``.
    """
    stages = [f"--config={binary.parent / name}" for name in KWOK_STAGES]
    return [
        str(binary),
        *stages,
        f"--kubeconfig={kubeconfig}",
        f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
        "--manage-all-nodes=false",
        f"--cidr={POD_CIDR}",
        "--node-ip=127.0.0.1",
        "--node-lease-duration-seconds=40",
        f"--server-address=127.0.0.1:{port}",
    ]


def flux_controller_argv(
    name: str, binary: Path, health_port: int, workdir: Path, ports: dict[str, int]
) -> list[str]:
    """A Flux controller outside a cluster: all namespaces, no metrics, health on a free port.

    ``ports`` gives source-controller its ``storage`` port and notification-controller
    its ``events`` and ``receiver`` ports; source-controller keeps artifacts in
    ``workdir/artifacts``.
    """
    argv = [
        str(binary),
        "--metrics-addr=0",
        f"--health-addr=127.0.0.1:{health_port}",
        "--watch-all-namespaces=true",
        "--log-level=info",
    ]
    if name == "source-controller":
        storage = f"127.0.0.1:{ports['storage']}"
        argv += [
            f"--storage-path={workdir / 'artifacts'}",
            f"--storage-addr={storage}",
            f"--storage-adv-addr={storage}",
        ]
    if name == "notification-controller":
        argv += [
            f"--events-addr=127.0.0.1:{ports['events']}",
            f"--receiverAddr=127.0.0.1:{ports['receiver']}",
        ]
    return argv


def fake_node(name: str) -> dict[str, Any]:
    """A Node kwok takes over: Linux/amd64, ``NODE_CAPACITY``, no taints (everything may land)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {
            "allocatable": dict(NODE_CAPACITY),
            "capacity": dict(NODE_CAPACITY),
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "kwok",
                "kernelVersion": "fake",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
                "containerRuntimeVersion": "fake",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
            },
        },
    }


def node_names(count: int) -> list[str]:
    """``kwok-node-0`` … for ``count`` simulated nodes."""
    return [f"kwok-node-{index}" for index in range(count)]

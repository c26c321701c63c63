"""The local cluster behaves like a real one: pods run on kwok nodes, GC and namespaces work.

Against the ``cluster`` fixture (kube-controller-manager, kube-scheduler, two kwok
nodes). Waits poll the API until the cluster reaches the state or a generous
deadline passes; they assert on the state, never on how long it took.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError, Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, ServiceAccount
from typer.testing import CliRunner

from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.kubesystem import KWOK_ANNOTATION
from fluxgitops.local.toolchain import program_dirs
from fluxgitops_cli.app import app
from tests.reconciler.support import wait_for

DEADLINE = 90.0


def eventually(what: str, check: Callable[[], Any]) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` at the deadline."""
    return wait_for(what, check, timeout=DEADLINE)


def gone(client: Client, kind: Any, name: str, namespace: str | None = None) -> bool:
    """True once ``kind/name`` answers 404."""
    try:
        client.get(kind, name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return True
        raise
    return False


@pytest.fixture
def namespace(cluster_admin: Client, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards."""
    name = request.node.name.removeprefix("test_").replace("_", "-")[:50].strip("-")
    cluster_admin.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    try:
        cluster_admin.delete(Namespace, name)
    except ApiError as exc:
        if exc.status.code != 404:
            raise


def deployment(name: str, namespace: str, replicas: int) -> Any:
    """A Deployment of ``replicas`` pods asking for a little CPU and memory."""
    labels = {"app": name}
    return codecs.from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "registry.example/web:1.0",
                                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                            }
                        ]
                    },
                },
            },
        }
    )


def test_nodes_are_simulated_by_kwok_and_ready(cluster: ControlPlane) -> None:
    nodes = cluster.get("/api/v1/nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["kwok-node-0", "kwok-node-1"]
    for node in nodes:
        assert node["metadata"]["annotations"][KWOK_ANNOTATION] == "fake"
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True", ready


def test_deployment_becomes_available_with_pods_running_on_kwok_nodes(
    cluster_admin: Client, namespace: str
) -> None:
    cluster_admin.create(deployment("web", namespace, replicas=3))

    def available() -> bool:
        live = cluster_admin.get(Deployment, "web", namespace=namespace)
        conditions = (live.status.conditions if live.status else None) or []
        return any(c.type == "Available" and c.status == "True" for c in conditions) and (
            live.status is not None and live.status.availableReplicas == 3
        )

    eventually("Deployment web Available with 3 replicas", available)
    pods = list(cluster_admin.list(Pod, namespace=namespace, labels={"app": "web"}))
    assert len(pods) == 3
    for pod in pods:
        assert pod.status is not None
        assert pod.status.phase == "Running"
        assert pod.spec is not None
        assert (pod.spec.nodeName or "").startswith("kwok-node-")
        assert (pod.status.podIP or "").startswith("10.244.")


def test_deleted_namespace_finishes_terminating(cluster_admin: Client) -> None:
    name = "short-lived"
    cluster_admin.create(Namespace(metadata=ObjectMeta(name=name)))
    cluster_admin.create(ConfigMap(metadata=ObjectMeta(name="data", namespace=name)))
    cluster_admin.create(deployment("app", name, replicas=1))

    cluster_admin.delete(Namespace, name)

    eventually("namespace short-lived deleted", lambda: gone(cluster_admin, Namespace, name))


def test_owner_reference_garbage_collection_removes_the_dependent(
    cluster_admin: Client, namespace: str
) -> None:
    owner = cluster_admin.create(ConfigMap(metadata=ObjectMeta(name="owner", namespace=namespace)))
    assert owner.metadata is not None
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
    }
    cluster_admin.create(
        codecs.from_dict(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "dependent",
                    "namespace": namespace,
                    "ownerReferences": [reference],
                },
            }
        )
    )

    cluster_admin.delete(ConfigMap, "owner", namespace=namespace)

    eventually(
        "ConfigMap dependent collected",
        lambda: gone(cluster_admin, ConfigMap, "dependent", namespace),
    )


def test_new_namespace_gets_default_service_account_and_root_ca(
    cluster_admin: Client, namespace: str
) -> None:
    eventually(
        "ServiceAccount default created",
        lambda: not gone(cluster_admin, ServiceAccount, "default", namespace),
    )
    root_ca = eventually(
        "ConfigMap kube-root-ca.crt published",
        lambda: next(
            iter(
                cluster_admin.list(
                    ConfigMap, namespace=namespace, fields={"metadata.name": "kube-root-ca.crt"}
                )
            ),
            None,
        ),
    )
    assert root_ca.data["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")


def local_env(cluster: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> str:
    """What ``fluxgitops local env`` prints for ``cluster`` (FLUXGITOPS_LOCAL_DIR = its workdir)."""
    monkeypatch.setenv("FLUXGITOPS_LOCAL_DIR", str(cluster.workdir))
    result = CliRunner().invoke(app, ["local", "env"])
    assert result.exit_code == 0, result.output
    return result.stdout  # what `eval "$(fluxgitops local env)"` sees; warnings go to stderr


def kubectl(env_script: str, command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in bash after ``eval`` of the ``local env`` output."""
    return subprocess.run(
        ["bash", "-c", f"set -e\neval {shlex.quote(env_script)}\n{command}"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )


def test_kubectl_from_local_env_lists_the_nodes(
    cluster: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = local_env(cluster, monkeypatch)

    listed = kubectl(script, "kubectl get nodes -o name")

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["node/kwok-node-0", "node/kwok-node-1"]


def test_service_account_token_from_token_request_authenticates(
    cluster: ControlPlane, cluster_admin: Client, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster_admin.create(ServiceAccount(metadata=ObjectMeta(name="robot", namespace=namespace)))
    script = local_env(cluster, monkeypatch)

    token = kubectl(script, f"kubectl create token robot -n {namespace} --duration=10m")
    assert token.returncode == 0, token.stderr
    assert cluster.workdir is not None
    ca = cluster.workdir / "pki" / "ca.crt"
    whoami = kubectl(  # the token alone: no kubeconfig, so no admin client certificate
        script,
        f"kubectl --kubeconfig=/dev/null --server={cluster.server} --certificate-authority={ca} "
        f"--token={token.stdout.strip()} auth whoami -o jsonpath='{{.status.userInfo.username}}'",
    )

    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout == f"system:serviceaccount:{namespace}:robot"


def test_local_env_puts_kubectl_and_pulumi_on_path(
    cluster: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, missing = program_dirs()
    assert not missing, "\n".join(missing)  # how to build what is missing
    script = local_env(cluster, monkeypatch)

    found = kubectl(script, "command -v kubectl pulumi pulumi-language-python; echo $KUBECONFIG")

    assert found.returncode == 0, found.stderr
    kubectl_path, pulumi_path, host_path, kubeconfig = found.stdout.split()
    assert Path(kubectl_path).name == "kubectl"
    assert Path(pulumi_path).name == "pulumi"
    assert (Path(host_path).parent / "pulumi-language-python-exec").is_file()
    assert kubeconfig == str(cluster.kubeconfig)

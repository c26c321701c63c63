"""The generated Flux install bundle on the real local control plane.

The bundle (``tools/build.py flux-bundle``), adapted by the extension renderer
as ``pulumi up`` would apply it, goes in with server-side apply — the server
also checks it strictly for unknown fields — and, when the control plane has
nodes to schedule pods on (simulated kwok nodes), its Deployments become
Available.

``PLANE`` names the control plane fixture the bundle goes on. With
``control_plane`` (etcd + kube-apiserver only) the availability test is an
expected failure (xfail) that says what is missing; with a fixture whose
control plane has controller-manager, scheduler and kwok nodes (``cluster``,
branch ``cluster``) it must pass, and no nodes there is an error.
``FLUXGITOPS_TEST_NODES=1`` also makes a control plane without nodes an error.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, KubeConfig
from lightkube.resources.apps_v1 import Deployment

from components.flux_extension import load_bundle
from fluxgitops.errors import ToolchainError
from fluxgitops.kube.apply import apply_manifests
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.toolchain import flux_bundle_path
from fluxgitops.manifest import Manifest
from fluxgitops.meta import FIELD_MANAGER
from fluxgitops.render.extension import render_extension
from fluxgitops.spec import parse_extension

PLANE = "cluster"
"""The control plane fixture the bundle is applied to; ``cluster`` has nodes."""

NAMESPACE = "flux-bundle-test"
"""Where the bundle goes: not ``flux-system``, so the namespace move is applied too."""

AVAILABLE_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    """The generated bundle adapted to a default extension in ``NAMESPACE`` (install mode)."""
    spec = parse_extension({"namespace": NAMESPACE})
    return render_extension(spec, mode="install", bundle=load_bundle())


@pytest.fixture(scope="module")
def plane(request: pytest.FixtureRequest) -> ControlPlane:
    """The control plane fixture named by ``PLANE``."""
    found: ControlPlane = request.getfixturevalue(PLANE)
    return found


@pytest.fixture(scope="module")
def applier(plane: ControlPlane) -> Client:
    """An admin client with the provider's field manager, as ``pulumi up`` applies."""
    register_kinds()
    return Client(KubeConfig.from_file(plane.kubeconfig), field_manager=FIELD_MANAGER)


@pytest.fixture(scope="module")
def applied(applier: Client, manifests: list[Manifest]) -> list[dict[str, Any]]:
    """The live objects after one server-side apply of every manifest (no force)."""
    return apply_manifests(applier, manifests)


@pytest.fixture
def plane_nodes(plane: ControlPlane) -> list[str]:
    """The nodes of ``PLANE``; none is an xfail on ``control_plane``, an error otherwise."""
    # Raw JSON: lightkube's Node model wants status.nodeInfo.bootID, which kwok nodes lack.
    names = [item["metadata"]["name"] for item in plane.get("/api/v1/nodes")["items"]]
    if not names:
        why = (
            f"the {PLANE!r} control plane has no nodes, so no pod is scheduled and no "
            "Deployment becomes Available; set PLANE to a fixture with kube-controller-manager, "
            "kube-scheduler and kwok nodes (`cluster`, branch `cluster`)"
        )
        if PLANE != "control_plane" or os.environ.get("FLUXGITOPS_TEST_NODES") == "1":
            pytest.fail(why)
        pytest.xfail(why)
    return names


def _ssl(kubeconfig: Path) -> tuple[str, ssl.SSLContext]:
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    context = ssl.create_default_context(cafile=cluster["certificate-authority"])
    context.load_cert_chain(user["client-certificate"], user["client-key"])
    return cluster["server"], context


def strict_dry_run(control_plane: ControlPlane, manifest: Manifest) -> str | None:
    """Server-side apply ``manifest`` as a dry run with ``fieldValidation=Strict``; the error."""
    server, context = _ssl(control_plane.kubeconfig)
    key = manifest.key
    info = resource_for(key.api_version, key.kind)._api_info
    prefix = "/api" if "/" not in key.api_version else "/apis"
    where = f"/namespaces/{key.namespace}" if key.namespace else ""
    query = urllib.parse.urlencode(
        {"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict", "dryRun": "All"}
    )
    url = f"{server}{prefix}/{key.api_version}{where}/{info.plural}/{key.name}?{query}"
    request = urllib.request.Request(
        url,
        data=json.dumps(manifest.to_dict()).encode(),
        method="PATCH",
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=30):
            return None
    except urllib.error.HTTPError as exc:
        return f"{key}: {exc.code} {exc.read().decode(errors='replace')}"


def test_missing_bundle_error_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLUXGITOPS_FLUX_BUNDLE", str(tmp_path / "nothing"))
    with pytest.raises(ToolchainError) as info:
        flux_bundle_path()
    assert str(info.value).startswith("the Flux install bundle v")
    assert "`python3 tools/build.py flux-bundle`" in str(info.value)


def test_bundle_objects_pass_strict_field_validation(
    plane: ControlPlane, manifests: list[Manifest], applied: list[dict[str, Any]]
) -> None:
    errors = [e for m in manifests if (e := strict_dry_run(plane, m)) is not None]
    assert errors == []


def test_bundle_applies_with_server_side_apply(
    manifests: list[Manifest], applied: list[dict[str, Any]]
) -> None:
    assert len(applied) == len(manifests)
    live = {(o["kind"], o["metadata"]["name"]) for o in applied}
    for name in ("source-controller", "kustomize-controller", "helm-controller"):
        assert ("Deployment", name) in live
    assert ("Namespace", NAMESPACE) in live
    assert ("ClusterRoleBinding", f"cluster-reconciler-{NAMESPACE}") in live


def test_bundle_deployments_become_available(
    applier: Client,
    manifests: list[Manifest],
    applied: list[dict[str, Any]],
    plane_nodes: list[str],
) -> None:
    names = {m.key.name for m in manifests if m.key.kind == "Deployment"}
    deadline = time.monotonic() + AVAILABLE_TIMEOUT
    waiting = set(names)
    last: dict[str, str] = {}
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            status = applier.get(Deployment, name, namespace=NAMESPACE).status
            conditions = (status.conditions if status else None) or []
            available = next((c for c in conditions if c.type == "Available"), None)
            last[name] = f"{available.reason}: {available.message}" if available else "no status"
            if available is not None and available.status == "True":
                waiting.discard(name)
        time.sleep(1)
    assert {name: last[name] for name in waiting} == {}

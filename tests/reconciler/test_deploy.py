"""``deploy/``: generated from the renderer, pinned like the project, and enough RBAC to work.

``deploy/*.yaml`` must equal what ``fluxgitops.render`` produces (rewrite them
with ``FLUXGITOPS_UPDATE_GOLDEN=1``); the Containerfile's pins must be
pyproject's; and a reconciler authenticated as the rendered ServiceAccount
(a real token from the TokenRequest API), under its admission guard, must be
able to do its whole job.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path

from lightkube import Client, KubeConfig
from lightkube.types import PatchType

from fluxgitops.fluxconfig.render import render_fluxconfig_crd
from fluxgitops.kube.apply import apply_manifests, ensure_namespace, read_object
from fluxgitops.kube.client import resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.manifest import Manifest, ObjectKey, to_yaml
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from fluxgitops.render.admission import RECONCILER_POLICY, render_admission
from fluxgitops.render.extension import (
    RECONCILER,
    reconciler_user,
    render_extension,
    render_reconciler,
)
from fluxgitops.spec import FluxExtensionSpec, parse_extension
from reconciler.runner import ReconcilerThread
from tests.reconciler.conftest import options_for
from tests.reconciler.support import (
    apply_fluxconfig,
    https_config,
    refused,
    status_of,
    token_kubeconfig,
    wait_denied,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
HEADER = (
    "# Generated from fluxgitops.render ({what}) for the default FluxExtension with\n"
    "# reconciler.enabled: true; do not edit. Regenerate with\n"
    "#   FLUXGITOPS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reconciler/test_deploy.py\n"
)


def _enabled(**extra: object) -> FluxExtensionSpec:
    return parse_extension({"reconciler": {"enabled": True}, **extra})


def test_deploy_yaml_is_the_renderers_output(golden: Callable[[Path, str], None]) -> None:
    objects = render_reconciler(_enabled())
    rbac = [m for m in objects if m.key.kind != "Deployment"]
    deployment = [m for m in objects if m.key.kind == "Deployment"]
    golden(
        DEPLOY / "crd.yaml",
        HEADER.format(what="render_fluxconfig_crd") + to_yaml([render_fluxconfig_crd()]),
    )
    golden(DEPLOY / "rbac.yaml", HEADER.format(what="render_reconciler") + to_yaml(rbac))
    golden(
        DEPLOY / "deployment.yaml", HEADER.format(what="render_reconciler") + to_yaml(deployment)
    )
    spec = _enabled()
    golden(
        DEPLOY / "admission.yaml",
        HEADER.format(what="render_admission")
        + to_yaml(render_admission(spec, reconciler_user(spec.namespace))),
    )


def test_extension_installs_the_reconciler_only_when_enabled() -> None:
    off = render_extension(parse_extension({"reconciler": {"enabled": False}}), mode="external")
    assert [m.key.kind for m in off] == [
        "CustomResourceDefinition",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    on = render_extension(_enabled(namespace="gitops"), mode="external")
    deployment = next(m for m in on if m.key.kind == "Deployment")
    assert deployment.key.namespace == "gitops"
    pod = deployment.body["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["containers"][0]["resources"]["limits"]["memory"] == "150Mi"


def test_containerfile_pins_are_the_projects() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(pin.split("==") for pin in project)
    text = (DEPLOY / "Containerfile").read_text()
    used = dict(re.findall(r"^\s+([A-Za-z][\w.-]*)==([\w.]+)", text, flags=re.MULTILINE))
    assert used, "no pinned packages found in the Containerfile"
    assert {name: pins.get(name) for name in used} == used
    assert not [name for name in used if "pulumi" in name.lower()]  # the reconciler needs none


def test_reconciler_works_with_exactly_the_rendered_rbac(
    control_plane: ControlPlane, admin: Client, tmp_path: Path
) -> None:
    system, namespace = f"rec-sys-{uuid.uuid4().hex[:6]}", f"rec-{uuid.uuid4().hex[:8]}"
    for name in (system, namespace):
        ensure_namespace(admin, name)
    spec = _enabled(namespace=system)
    rbac = [m for m in render_reconciler(spec) if m.key.kind != "Deployment"]
    guard = render_admission(spec, reconciler_user(system))[2:]  # the reconciler's guard
    assert [m.key.name for m in guard] == [RECONCILER_POLICY, RECONCILER_POLICY]
    apply_manifests(admin, [*rbac, *guard], force=True)
    kubeconfig = token_kubeconfig(control_plane, admin, system, RECONCILER, tmp_path / "kubeconfig")
    as_reconciler = Client(KubeConfig.from_file(kubeconfig), field_manager="probe")
    planted = Manifest(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "p", "namespace": "kube-system"},
        }
    )
    wait_denied(  # the guard is enforced once the API server's informer has it
        "the reconciler guard",
        lambda: refused(as_reconciler, [planted], dry_run=True),
        "may not write secrets in namespace 'kube-system'",
    )
    options = options_for(
        control_plane,
        kubeconfig=str(kubeconfig),
        namespaces=(namespace,),
        lease_namespace=system,
        lease_name="rbac-test",
    )
    with ReconcilerThread(options) as thread:
        wait_for("the least-privileged reconciler to lead", lambda: thread.leading)
        apply_fluxconfig(admin, https_config("wide", namespace))
        narrow = {
            "name": "narrow",
            "namespace": namespace,
            "scope": "namespace",
            "gitRepository": {"url": "git@github.com:example/team.git"},
        }
        apply_fluxconfig(admin, narrow)
        for name in ("wide", "narrow"):

            def reconciled(name: str = name) -> object:
                return status_of(admin, namespace, name).get("observedGeneration")

            wait_for(f"{name} reconciled", reconciled)
            assert status_of(admin, namespace, name)["complianceState"] == "Pending", name
        assert status_of(admin, namespace, "narrow")["repositoryPublicKey"].startswith(
            "ssh-ed25519"
        )
        rbac_api = "rbac.authorization.k8s.io/v1"
        assert read_object(
            admin, ObjectKey(rbac_api, "ClusterRoleBinding", "", f"flux-applier-{namespace}")
        )
        assert read_object(admin, ObjectKey(rbac_api, "Role", namespace, "flux-applier"))
        admin.delete(
            resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND), "wide", namespace=namespace
        )
        key = ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, namespace, "wide")
        wait_for("wide finalized", lambda: read_object(admin, key) is None)
        admin.patch(
            resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND),
            "narrow",
            {"metadata": {"annotations": {"fluxgitops.io/force-finalize": "true"}}},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )

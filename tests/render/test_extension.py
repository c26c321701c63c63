"""The extension renderer: the generated Flux install bundle adapted to the spec (install mode),
a hand-made bundle, and our CRD alone (external mode)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.flux_extension import load_bundle
from fluxgitops.errors import SpecError
from fluxgitops.local.toolchain import version_of
from fluxgitops.manifest import Manifest
from fluxgitops.render.extension import render_extension
from fluxgitops.spec import parse_extension

DEFAULT_CONTROLLERS = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
)


@pytest.fixture(scope="module")
def bundle() -> list[dict[str, Any]]:
    """The Flux install bundle `tools/build.py flux-bundle` generated (an error when not built)."""
    return load_bundle()


def deployment(name: str, args: list[str]) -> dict[str, Any]:
    """A hand-made bundle Deployment without Flux's labels."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"template": {"spec": {"containers": [{"name": "manager", "args": args}]}}},
    }


HAND_MADE = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}},
    *(deployment(name, ["--events-addr=x"]) for name in DEFAULT_CONTROLLERS),
    deployment("image-automation-controller", []),
]


def find(objects: Sequence[Manifest], kind: str, name: str) -> dict[str, Any]:
    """The body of object ``kind``/``name``."""
    return dict(next(m.body for m in objects if m.key.kind == kind and m.key.name == name))


def manager(objects: Sequence[Manifest], name: str) -> dict[str, Any]:
    """The manager container of Deployment ``name``."""
    body = find(objects, "Deployment", name)
    container: dict[str, Any] = body["spec"]["template"]["spec"]["containers"][0]
    return container


def install(bundle: Sequence[dict[str, Any]], **spec: Any) -> list[Manifest]:
    """Render install mode for an extension spec given as keyword arguments."""
    return render_extension(parse_extension(spec), mode="install", bundle=bundle)


def test_external_mode_installs_only_the_fluxconfig_crd_and_its_admission_policies(
    bundle: list[dict[str, Any]],
) -> None:
    spec = parse_extension({"reconciler": {"deploy": False}})  # runs elsewhere (local process)
    objects = render_extension(spec, mode="external", bundle=bundle)
    assert [(m.key.kind, m.key.name) for m in objects] == [
        ("CustomResourceDefinition", "fluxconfigs.fluxgitops.io"),
        ("ValidatingAdmissionPolicy", "fluxgitops-fluxconfig-tenancy"),
        ("ValidatingAdmissionPolicyBinding", "fluxgitops-fluxconfig-tenancy"),
        ("ValidatingAdmissionPolicy", "fluxgitops-reconciler-guard"),
        ("ValidatingAdmissionPolicyBinding", "fluxgitops-reconciler-guard"),
    ]


def test_reconciler_is_deployed_by_default(bundle: list[dict[str, Any]]) -> None:
    objects = render_extension(parse_extension({}), mode="external", bundle=bundle)
    assert ("Deployment", "fluxgitops-reconciler") in [(m.key.kind, m.key.name) for m in objects]


def test_install_mode_needs_a_bundle() -> None:
    with pytest.raises(SpecError) as info:
        render_extension(parse_extension({}), mode="install")
    assert info.value.paths == ["fluxBundle"]
    assert "python3 tools/build.py flux-bundle" in info.value.errors[0].message


def test_generated_bundle_with_the_default_spec_matches_golden(
    bundle: list[dict[str, Any]], testdata: Path, golden: Callable[[Path, str], None]
) -> None:
    objects = install(bundle)
    shown = [
        {"CustomResourceDefinition": m.key.name}
        if m.key.kind == "CustomResourceDefinition"
        else m.to_dict()
        for m in objects
    ]
    text = yaml.safe_dump_all(shown, sort_keys=True)
    golden(testdata / "render" / "extension-install.golden.yaml", text)


def test_generated_bundle_runs_the_built_controller_versions(
    bundle: list[dict[str, Any]],
) -> None:
    objects = install(bundle)
    for name in DEFAULT_CONTROLLERS:
        assert manager(objects, name)["image"] == f"ghcr.io/fluxcd/{name}:{version_of(name)}"
        labels = find(objects, "Deployment", name)["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "flux"
        assert labels["app.kubernetes.io/version"] == version_of("flux-bundle")
    policies = {m.key.name for m in objects if m.key.kind == "NetworkPolicy"}
    assert policies == {"allow-egress", "allow-scraping", "allow-webhooks"}


def test_multi_tenancy_lockdown_flags_on_kustomize_and_helm(
    bundle: list[dict[str, Any]],
) -> None:
    objects = install(bundle)
    for name in ("kustomize-controller", "helm-controller"):
        assert "--no-cross-namespace-refs=true" in manager(objects, name)["args"]
        assert "--default-service-account=flux-applier" in manager(objects, name)["args"]
    assert "--no-cross-namespace-refs=true" not in manager(objects, "source-controller")["args"]


def test_multi_tenancy_opt_out_adds_no_lockdown(bundle: list[dict[str, Any]]) -> None:
    objects = install(bundle, multiTenancy={"enforce": False})
    args = manager(objects, "kustomize-controller")["args"]
    assert not any(a.startswith(("--no-cross", "--default-service-account")) for a in args)


def test_tuning_flags_replace_the_bundles(bundle: list[dict[str, Any]]) -> None:
    tuning = {"concurrent": 20, "requeueDependency": "10s", "kubeApiQps": 50, "kubeApiBurst": 100}
    objects = install(bundle, controllers={"kustomize": {"tuning": tuning}})
    args = manager(objects, "kustomize-controller")["args"]
    assert [a for a in args if a.startswith("--concurrent")] == ["--concurrent=20"]
    assert {"--requeue-dependency=10s", "--kube-api-qps=50", "--kube-api-burst=100"} <= set(args)
    assert "--log-encoding=json" in args  # the bundle's own flags stay


def test_disabled_controller_leaves_out_its_workload_but_keeps_its_crds(
    bundle: list[dict[str, Any]],
) -> None:
    objects = install(bundle, controllers={"notification": {"enabled": False}})
    keys = {(m.key.kind, m.key.name) for m in objects}
    for kind, name in [
        ("Deployment", "notification-controller"),
        ("Service", "notification-controller"),
        ("Service", "webhook-receiver"),
        ("ServiceAccount", "notification-controller"),
    ]:
        assert (kind, name) not in keys
    assert ("CustomResourceDefinition", "alerts.notification.toolkit.fluxcd.io") in keys
    assert ("Deployment", "helm-controller") in keys


def test_without_notification_controller_events_go_nowhere(
    bundle: list[dict[str, Any]],
) -> None:
    objects = install(bundle, controllers={"notification": {"enabled": False}})
    for name in ("source-controller", "kustomize-controller", "helm-controller"):
        events = [a for a in manager(objects, name)["args"] if a.startswith("--events-addr")]
        assert events == ["--events-addr="]


def test_image_controllers_missing_from_the_bundle_are_an_error(
    bundle: list[dict[str, Any]],
) -> None:
    on = {"enabled": True}
    with pytest.raises(SpecError) as info:
        install(bundle, controllers={"imageAutomation": on, "imageReflector": on})
    assert info.value.paths == [
        "controllers.imageAutomation.enabled",
        "controllers.imageReflector.enabled",
    ]
    assert info.value.errors[0].message.startswith(
        "the Flux install bundle has no image-automation-controller Deployment"
    )


def test_helm_drift_detection_and_oom_watch(bundle: list[dict[str, Any]]) -> None:
    helm = {"detectDrift": True, "outOfMemoryWatch": {"enabled": True, "memoryThreshold": 90}}
    args = manager(install(bundle, controllers={"helm": helm}), "helm-controller")["args"]
    assert "--feature-gates=DetectDrift=true,OOMWatch=true" in args
    assert "--oom-watch-memory-threshold=90" in args
    assert "--oom-watch-interval=500ms" in args


def test_resources_from_the_spec(bundle: list[dict[str, Any]]) -> None:
    resources = {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "512Mi"}}
    objects = install(bundle, controllers={"kustomize": {"resources": resources}})
    assert manager(objects, "kustomize-controller")["resources"] == resources


def test_other_namespace_moves_every_reference_to_it(bundle: list[dict[str, Any]]) -> None:
    objects = install(bundle, namespace="gitops")
    # the tenancy policy names 'flux-system' only as a default value of
    # multiTenancy.clusterScopeNamespaces, which is the user's setting, not a reference
    moved = [m.to_dict() for m in objects if not m.key.kind.startswith("ValidatingAdmission")]
    assert "flux-system" not in yaml.safe_dump_all(moved)
    assert find(objects, "Namespace", "gitops")["metadata"]["labels"] == {
        "app.kubernetes.io/instance": "gitops",
        "app.kubernetes.io/part-of": "flux",
        "app.kubernetes.io/version": version_of("flux-bundle"),
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
    }
    binding = find(objects, "ClusterRoleBinding", "crd-controller-gitops")
    assert binding["roleRef"]["name"] == "crd-controller-gitops"
    assert {s["namespace"] for s in binding["subjects"]} == {"gitops"}
    namespaced = [m.key.namespace for m in objects if m.key.namespace]
    assert set(namespaced) == {"gitops"}


def test_pinned_flux_version_other_than_the_bundles_is_an_error(
    bundle: list[dict[str, Any]],
) -> None:
    with pytest.raises(SpecError) as info:
        install(bundle, fluxVersion="2.7.3")
    assert info.value.paths == ["fluxVersion"]
    assert info.value.errors[0].message.startswith(
        f"the Flux install bundle is Flux {version_of('flux-bundle')}"
    )
    assert info.value.errors[0].value == "'2.7.3'"


def test_pinned_flux_version_of_the_bundle_is_accepted(bundle: list[dict[str, Any]]) -> None:
    objects = install(bundle, fluxVersion=version_of("flux-bundle").removeprefix("v"))
    assert any(m.key.kind == "Deployment" for m in objects)


def test_hand_made_bundle_without_flux_labels_is_adapted_by_deployment_name() -> None:
    objects = install(HAND_MADE, namespace="gitops")
    names = {m.key.name for m in objects if m.key.kind == "Deployment"}
    # image-automation-controller is off by default; the reconciler is on by default
    assert names == {*DEFAULT_CONTROLLERS, "fluxgitops-reconciler"}
    assert "--no-cross-namespace-refs=true" in manager(objects, "kustomize-controller")["args"]
    assert find(objects, "Namespace", "gitops")["metadata"] == {"name": "gitops"}


def test_hand_made_bundle_missing_an_enabled_controller_is_an_error() -> None:
    without_helm = [b for b in HAND_MADE if b["metadata"]["name"] != "helm-controller"]
    with pytest.raises(SpecError) as info:
        install(without_helm)
    assert info.value.paths == ["controllers.helm.enabled"]

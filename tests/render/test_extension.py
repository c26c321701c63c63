"""The extension renderer: a Flux bundle adapted to the spec (install), or our CRD (external)."""

from __future__ import annotations

from typing import Any

import pytest

from fluxgitops.errors import SpecError
from fluxgitops.render.extension import render_extension
from fluxgitops.spec import parse_extension


def deployment(name: str, args: list[str]) -> dict[str, Any]:
    """A bundle Deployment shaped like `flux install --export` output."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"template": {"spec": {"containers": [{"name": "manager", "args": args}]}}},
    }


BUNDLE = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}},
    deployment("source-controller", ["--events-addr=x", "--storage-path=/data"]),
    deployment("kustomize-controller", ["--events-addr=x", "--concurrent=4"]),
    deployment("helm-controller", ["--events-addr=x"]),
    deployment("image-automation-controller", []),
]


def args_of(objects: list[Any], name: str) -> list[str]:
    """The manager container's args of Deployment ``name``."""
    body = next(m.body for m in objects if m.key.kind == "Deployment" and m.key.name == name)
    container = body["spec"]["template"]["spec"]["containers"][0]
    return list(container["args"])


def test_external_mode_installs_only_the_fluxconfig_crd() -> None:
    spec = parse_extension({"reconciler": {"deploy": False}})  # runs elsewhere (local process)
    objects = render_extension(spec, mode="external", bundle=BUNDLE)
    assert [m.key.name for m in objects] == ["fluxconfigs.fluxgitops.io"]


def test_reconciler_is_deployed_by_default() -> None:
    objects = render_extension(parse_extension({}), mode="external", bundle=BUNDLE)
    assert ("Deployment", "fluxgitops-reconciler") in [(m.key.kind, m.key.name) for m in objects]


def test_install_mode_needs_a_bundle() -> None:
    with pytest.raises(SpecError) as info:
        render_extension(parse_extension({}), mode="install")
    assert info.value.paths == ["fluxBundle"]


def test_multi_tenancy_lockdown_flags_on_kustomize_and_helm() -> None:
    objects = render_extension(parse_extension({}), mode="install", bundle=BUNDLE)
    for name in ("kustomize-controller", "helm-controller"):
        assert "--no-cross-namespace-refs=true" in args_of(objects, name)
        assert "--default-service-account=flux-applier" in args_of(objects, name)
    assert "--no-cross-namespace-refs=true" not in args_of(objects, "source-controller")


def test_multi_tenancy_opt_out_adds_no_lockdown() -> None:
    objects = render_extension(
        parse_extension({"multiTenancy": {"enforce": False}}), mode="install", bundle=BUNDLE
    )
    assert not any(a.startswith("--no-cross") for a in args_of(objects, "kustomize-controller"))


def test_tuning_flags_replace_the_bundles() -> None:
    spec = parse_extension(
        {
            "controllers": {
                "kustomize": {
                    "tuning": {
                        "concurrent": 20,
                        "requeueDependency": "10s",
                        "kubeApiQps": 50,
                        "kubeApiBurst": 100,
                    }
                }
            }
        }
    )
    args = args_of(render_extension(spec, mode="install", bundle=BUNDLE), "kustomize-controller")
    assert [a for a in args if a.startswith("--concurrent")] == ["--concurrent=20"]
    assert {"--requeue-dependency=10s", "--kube-api-qps=50", "--kube-api-burst=100"} <= set(args)


def test_disabled_controllers_are_dropped() -> None:
    objects = render_extension(parse_extension({}), mode="install", bundle=BUNDLE)
    names = {m.key.name for m in objects if m.key.kind == "Deployment"}
    assert "image-automation-controller" not in names  # off by default, as in Azure
    assert "helm-controller" in names


def test_helm_drift_detection_and_oom_watch() -> None:
    spec = parse_extension(
        {
            "controllers": {
                "helm": {
                    "detectDrift": True,
                    "outOfMemoryWatch": {"enabled": True, "memoryThreshold": 90},
                }
            }
        }
    )
    args = args_of(render_extension(spec, mode="install", bundle=BUNDLE), "helm-controller")
    assert "--feature-gates=DetectDrift=true,OOMWatch=true" in args
    assert "--oom-watch-memory-threshold=90" in args
    assert "--oom-watch-interval=500ms" in args


def test_resources_from_the_spec() -> None:
    objects = render_extension(parse_extension({}), mode="install", bundle=BUNDLE)
    body = next(m.body for m in objects if m.key.name == "source-controller")
    resources = body["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "1000m", "memory": "1Gi"},
    }

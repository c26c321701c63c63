"""Render what the FluxExtension puts on a cluster with the ``kubernetes`` backend.

``install`` mode takes a Flux install bundle (the objects of ``flux install
--export``: CRDs, controllers, RBAC) and adapts it to the spec: disabled
controllers are dropped; kustomize- and helm-controller get the multi-tenancy
lockdown flags (``--no-cross-namespace-refs=true``,
``--default-service-account=flux-applier``) when enforced; tuning flags
(``--concurrent``, ``--requeue-dependency``, ``--kube-api-qps``,
``--kube-api-burst``), helm drift detection and OOM watch become container
args; resources replace the bundle's. ``external`` mode is for clusters whose
controllers are managed elsewhere (and the local control plane): only our
CRD. Both add the ``FluxConfig`` CRD. Called by the FluxExtension component.
Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fluxgitops.errors import FieldError, SpecError
from fluxgitops.render.fluxconfig import render_fluxconfig_crd
from fluxgitops.render.manifest import Manifest
from fluxgitops.render.meta import APPLIER_SERVICE_ACCOUNT
from fluxgitops.spec.durations import format_duration
from fluxgitops.spec.extension import (
    CONTROLLER_NAMES,
    ControllerSpec,
    FluxExtensionSpec,
    HelmControllerSpec,
)

Mode = Literal["install", "external"]

LOCKED_DOWN = ("kustomize", "helm")


def controller_args(name: str, controller: ControllerSpec, multi_tenancy: bool) -> list[str]:
    """The flags fluxgitops adds to one controller's container."""
    args: list[str] = []
    if multi_tenancy and name in LOCKED_DOWN:
        args += [
            "--no-cross-namespace-refs=true",
            f"--default-service-account={APPLIER_SERVICE_ACCOUNT}",
        ]
    tuning = controller.tuning
    if tuning.concurrent is not None:
        args.append(f"--concurrent={tuning.concurrent}")
    if tuning.requeue_dependency is not None:
        args.append(f"--requeue-dependency={format_duration(tuning.requeue_dependency)}")
    if tuning.kube_api_qps is not None:
        args.append(f"--kube-api-qps={tuning.kube_api_qps:g}")
    if tuning.kube_api_burst is not None:
        args.append(f"--kube-api-burst={tuning.kube_api_burst}")
    if isinstance(controller, HelmControllerSpec):
        gates = []
        if controller.detect_drift:
            gates.append("DetectDrift=true")
        oom = controller.out_of_memory_watch
        if oom.enabled:
            gates.append("OOMWatch=true")
            args += [
                f"--oom-watch-memory-threshold={oom.memory_threshold}",
                f"--oom-watch-interval={format_duration(oom.interval)}",
            ]
        if gates:
            args.append(f"--feature-gates={','.join(gates)}")
    return args


def _merge_args(existing: Sequence[str], added: Sequence[str]) -> list[str]:
    """``existing`` with every flag in ``added`` set (a flag given again replaces the old one)."""
    names = {a.split("=", 1)[0] for a in added}
    return [a for a in existing if a.split("=", 1)[0] not in names] + list(added)


def _resources(controller: ControllerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in ("requests", "limits"):
        values = getattr(controller.resources, section).model_dump(exclude_none=True)
        if values:
            out[section] = values
    return out


def _adapt_deployment(body: dict[str, Any], name: str, spec: FluxExtensionSpec) -> dict[str, Any]:
    controller: ControllerSpec = getattr(spec.controllers, name)
    out = copy.deepcopy(body)
    out["metadata"]["namespace"] = spec.namespace
    containers = out["spec"]["template"]["spec"]["containers"]
    for container in containers:
        if container.get("name") != "manager":
            continue
        added = controller_args(name, controller, spec.multi_tenancy.enforce)
        container["args"] = _merge_args(container.get("args") or [], added)
        resources = _resources(controller)
        if resources:
            container["resources"] = resources
    return out


def render_extension(
    spec: FluxExtensionSpec, *, mode: Mode, bundle: Sequence[Mapping[str, Any]] = ()
) -> list[Manifest]:
    """The objects to apply for ``spec``: the adapted bundle (install) and the FluxConfig CRD."""
    if mode == "install" and not bundle:
        raise SpecError(
            "FluxExtension",
            [
                FieldError(
                    "fluxBundle",
                    "install mode needs the Flux install bundle (`flux install --export` "
                    "output); use mode: external when the controllers are managed elsewhere",
                )
            ],
        )
    by_deployment = {v: k for k, v in CONTROLLER_NAMES.items()}
    out: list[Manifest] = []
    for body in bundle if mode == "install" else ():
        kind, name = body.get("kind"), (body.get("metadata") or {}).get("name", "")
        controller = by_deployment.get(name)
        if kind == "Deployment" and controller is not None:
            if not getattr(spec.controllers, controller).enabled:
                continue
            out.append(Manifest(_adapt_deployment(dict(body), controller, spec)))
            continue
        adapted = copy.deepcopy(dict(body))
        if "namespace" in (adapted.get("metadata") or {}):
            adapted["metadata"]["namespace"] = spec.namespace
        out.append(Manifest(adapted))
    out.append(render_fluxconfig_crd())
    return out

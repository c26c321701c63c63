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
CRD. Both add the ``FluxConfig`` CRD and, with ``reconciler.enabled`` and ``deploy``, the
reconciler (``render_reconciler``: ServiceAccount, least-privilege RBAC,
Deployment) — the one source of ``deploy/*.yaml`` too, which a test
regenerates and compares. Called by the FluxExtension component. Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fluxgitops.errors import FieldError, SpecError
from fluxgitops.render.fluxconfig import render_fluxconfig_crd
from fluxgitops.render.manifest import Manifest
from fluxgitops.render.meta import (
    APPLIER_SERVICE_ACCOUNT,
    FLUXCONFIG_PLURAL,
    GROUP,
    KUSTOMIZE_API_VERSION,
    RBAC_API_VERSION,
    SOURCE_API_VERSION,
    metadata,
)
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
    if spec.reconciler.enabled and spec.reconciler.deploy:
        out.extend(render_reconciler(spec))
    return out


# ---------------------------------------------------------------- the reconciler

RECONCILER = "fluxgitops-reconciler"
RECONCILER_UID = 65532
"""The distroless ``nonroot`` user the image runs as."""
HEALTH_PORT = 8080
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def reconciler_rules() -> list[dict[str, Any]]:
    """What the reconciler may do cluster-wide, and nothing more.

    It reads and finalizes FluxConfigs and writes their status; it writes the
    kinds the renderer produces (Flux sources and Kustomizations, Secrets,
    the ``flux-applier`` ServiceAccount and its RBAC). Binding ``flux-applier``
    to ``cluster-admin`` (cluster scope) needs ``bind`` on that one ClusterRole;
    a namespace-scope ``flux-applier`` Role grants everything in its
    namespace, which needs ``escalate`` and ``bind`` on Roles. Leases: list and
    watch (kopf watches the election Lease); writing them is namespaced.
    """
    return [
        {
            "apiGroups": [GROUP],
            "resources": [FLUXCONFIG_PLURAL],
            "verbs": ["get", "list", "watch", "update", "patch"],
        },
        {
            "apiGroups": [GROUP],
            "resources": [f"{FLUXCONFIG_PLURAL}/status"],
            "verbs": ["get", "update", "patch"],
        },
        {
            "apiGroups": [GROUP],
            "resources": [f"{FLUXCONFIG_PLURAL}/finalizers"],
            "verbs": ["update"],
        },
        {
            "apiGroups": [_group(SOURCE_API_VERSION)],
            "resources": ["gitrepositories", "buckets", "ocirepositories"],
            "verbs": list(WRITE),
        },
        {
            "apiGroups": [_group(KUSTOMIZE_API_VERSION)],
            "resources": ["kustomizations"],
            "verbs": list(WRITE),
        },
        {"apiGroups": [""], "resources": ["secrets", "serviceaccounts"], "verbs": list(WRITE)},
        {
            "apiGroups": [_group(RBAC_API_VERSION)],
            "resources": ["roles", "rolebindings", "clusterrolebindings"],
            "verbs": list(WRITE),
        },
        {
            "apiGroups": [_group(RBAC_API_VERSION)],
            "resources": ["roles"],
            "verbs": ["bind", "escalate"],
        },
        {
            "apiGroups": [_group(RBAC_API_VERSION)],
            "resources": ["clusterroles"],
            "resourceNames": ["cluster-admin"],
            "verbs": ["bind"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["list", "watch"]},
    ]


def _reconciler_labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": RECONCILER, "app.kubernetes.io/part-of": "fluxgitops"}


def _reconciler_deployment(spec: FluxExtensionSpec) -> dict[str, Any]:
    labels = _reconciler_labels()
    settings = spec.reconciler
    container: dict[str, Any] = {
        "name": "reconciler",
        "image": settings.image,
        "args": [
            "run",
            "--all-namespaces",
            f"--liveness=http://0.0.0.0:{HEALTH_PORT}/healthz",
        ],
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            },
        ],
        "ports": [{"name": "healthz", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "healthz"},
            "initialDelaySeconds": 15,
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    resources = {
        section: values
        for section in ("requests", "limits")
        if (values := getattr(settings.resources, section).model_dump(exclude_none=True))
    }
    if resources:
        container["resources"] = resources
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(RECONCILER, spec.namespace, labels),
        "spec": {
            "replicas": settings.replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "serviceAccountName": RECONCILER,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RECONCILER_UID,
                        "runAsGroup": RECONCILER_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "topologyKey": "kubernetes.io/hostname",
                                        "labelSelector": {"matchLabels": dict(labels)},
                                    },
                                }
                            ]
                        }
                    },
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
                },
            },
        },
    }


def render_reconciler(spec: FluxExtensionSpec) -> list[Manifest]:
    """The reconciler in ``spec.namespace``: ServiceAccount, ClusterRole + binding, the Lease
    Role + binding, and the Deployment (``spec.reconciler``: replicas, image, resources)."""
    ns = spec.namespace
    labels = _reconciler_labels()
    subject = [{"kind": "ServiceAccount", "name": RECONCILER, "namespace": ns}]
    election = f"{RECONCILER}-leader-election"
    bodies: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(RECONCILER, ns, labels),
        },
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "ClusterRole",
            "metadata": metadata(RECONCILER, None, labels),
            "rules": reconciler_rules(),
        },
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "ClusterRoleBinding",
            "metadata": metadata(RECONCILER, None, labels),
            "roleRef": {
                "apiGroup": _group(RBAC_API_VERSION),
                "kind": "ClusterRole",
                "name": RECONCILER,
            },
            "subjects": subject,
        },
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "Role",
            "metadata": metadata(election, ns, labels),
            "rules": [
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "create", "update"],
                }
            ],
        },
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "RoleBinding",
            "metadata": metadata(election, ns, labels),
            "roleRef": {"apiGroup": _group(RBAC_API_VERSION), "kind": "Role", "name": election},
            "subjects": subject,
        },
        _reconciler_deployment(spec),
    ]
    return [Manifest(body) for body in bodies]

"""Render what the FluxExtension puts on a cluster with the ``kubernetes`` backend.

``install`` mode takes a Flux install bundle — the objects ``flux install
--export`` prints (CRDs, Namespace, ServiceAccounts, RBAC, Deployments,
Services, NetworkPolicies); by default the one ``tools/build.py flux-bundle``
generates at the versions of the built controllers, read by the caller
(``components.flux_extension.load_bundle``) and passed in — and adapts it to
the spec:

- the namespace: namespaced objects move to ``spec.namespace``; when that is
  not the bundle's own namespace, the Namespace object, RBAC subjects, the
  ``-<namespace>`` suffix of cluster-scoped RBAC names and the
  ``app.kubernetes.io/instance`` label follow, as ``flux install
  --namespace`` would write them;
- a controller switched off loses its Deployment, Services and ServiceAccount
  (objects labelled ``app.kubernetes.io/component: <controller>``); its CRDs
  stay, since deleting a CRD deletes every object of that kind. Without
  notification-controller the others get ``--events-addr=``, as ``flux
  install`` writes it. A controller switched on that the bundle lacks is an
  error (the generated bundle has no image controllers: their modules are not
  served);
- kustomize- and helm-controller get the multi-tenancy lockdown flags
  (``--no-cross-namespace-refs=true``,
  ``--default-service-account=flux-applier``) when enforced; tuning flags
  (``--concurrent``, ``--requeue-dependency``, ``--kube-api-qps``,
  ``--kube-api-burst``), helm drift detection and OOM watch become container
  args; resources replace the bundle's;
- ``fluxVersion``, when set, must be the bundle's ``app.kubernetes.io/version``.

``external`` mode is for clusters whose controllers are managed elsewhere (and
the local control plane): only our CRD. Both add the ``FluxConfig`` CRD, the
tenancy admission policy (``fluxgitops.render.admission``; with the reconciler
also its guard) and, with ``reconciler.enabled`` and ``deploy``, the reconciler
(``render_reconciler``: ServiceAccount, least-privilege RBAC, Deployment) — the one source of
``deploy/*.yaml`` too, which a test regenerates and compares. Called by the
FluxExtension component. Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic.alias_generators import to_camel

from fluxgitops.errors import FieldError, SpecError
from fluxgitops.fluxconfig.render import render_fluxconfig_crd
from fluxgitops.kinds import rendered_plurals
from fluxgitops.manifest import Manifest
from fluxgitops.meta import (
    APPLIER_SERVICE_ACCOUNT,
    FLUXCONFIG_PLURAL,
    GROUP,
    KUSTOMIZE_API_VERSION,
    RBAC_API_VERSION,
    SOURCE_API_VERSION,
    metadata,
)
from fluxgitops.render.admission import render_admission
from fluxgitops.render.rbac import CLUSTER_ADMIN, cluster_binding_name
from fluxgitops.spec.durations import format_duration
from fluxgitops.spec.extension import (
    CONTROLLER_NAMES,
    ControllerSpec,
    FluxExtensionSpec,
    HelmControllerSpec,
)

Mode = Literal["install", "external"]

LOCKED_DOWN = ("kustomize", "helm")
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_VERSION = "app.kubernetes.io/version"
EVENTS_ADDR = "--events-addr"


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
    """``body`` (already moved to the spec's namespace) with our flags and resources."""
    controller: ControllerSpec = getattr(spec.controllers, name)
    out = copy.deepcopy(body)
    containers = out["spec"]["template"]["spec"]["containers"]
    for container in containers:
        if container.get("name") != "manager":
            continue
        existing = container.get("args") or []
        added = controller_args(name, controller, spec.multi_tenancy.enforce)
        has_events = any(a.split("=", 1)[0] == EVENTS_ADDR for a in existing)
        if has_events and not spec.controllers.notification.enabled:
            added.append(f"{EVENTS_ADDR}=")
        container["args"] = _merge_args(existing, added)
        resources = _resources(controller)
        if resources:
            container["resources"] = resources
    return out


def _labels(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return (body.get("metadata") or {}).get("labels") or {}


def _controller_of(body: Mapping[str, Any]) -> str | None:
    """The ``Controllers`` field an object of the bundle belongs to, if any."""
    by_name = {v: k for k, v in CONTROLLER_NAMES.items()}
    component = _labels(body).get(LABEL_COMPONENT)
    if component in by_name:
        return by_name[component]
    if body.get("kind") == "Deployment":  # a hand-made bundle without Flux's labels
        return by_name.get((body.get("metadata") or {}).get("name", ""))
    return None


def _bundle_namespace(bundle: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The bundle's Namespace object (``flux install`` writes exactly one)."""
    found = [body for body in bundle if body.get("kind") == "Namespace"]
    return found[0] if len(found) == 1 else None


def _move(body: Mapping[str, Any], old: str | None, new: str) -> dict[str, Any]:
    """``body`` as ``flux install --namespace NEW`` writes it, for a bundle made for ``old``."""
    out = copy.deepcopy(dict(body))
    meta = out.setdefault("metadata", {})
    if "namespace" in meta:
        meta["namespace"] = new
    if old is None or old == new:
        return out
    suffix = f"-{old}"
    if out.get("kind") == "Namespace" and meta.get("name") == old:
        meta["name"] = new
    elif str(meta.get("name", "")).endswith(suffix):
        meta["name"] = meta["name"].removesuffix(suffix) + f"-{new}"
    ref = out.get("roleRef")
    if isinstance(ref, dict) and str(ref.get("name", "")).endswith(suffix):
        ref["name"] = ref["name"].removesuffix(suffix) + f"-{new}"
    for subject in out.get("subjects") or []:
        if subject.get("namespace") == old:
            subject["namespace"] = new
    template = ((out.get("spec") or {}).get("template") or {}).get("metadata") or {}
    for labels in (meta.get("labels"), template.get("labels")):
        if isinstance(labels, dict) and labels.get(LABEL_INSTANCE) == old:
            labels[LABEL_INSTANCE] = new
    return out


def check_bundle(spec: FluxExtensionSpec, bundle: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """What in ``spec`` the bundle cannot install: missing controllers, another Flux version."""
    errors: list[FieldError] = []
    present = {_controller_of(b) for b in bundle if b.get("kind") == "Deployment"}
    for name, controller in spec.controllers.items():
        if controller.enabled and name not in present:
            errors.append(
                FieldError(
                    f"controllers.{to_camel(name)}.enabled",
                    f"the Flux install bundle has no {CONTROLLER_NAMES[name]} Deployment (the "
                    "bundle tools/build.py generates leaves the image controllers out: their "
                    "modules are not served); set it to false or give a fluxBundle: that has it",
                    "True",
                )
            )
    namespace = _bundle_namespace(bundle)
    version = str(_labels(namespace).get(LABEL_VERSION, "")) if namespace else ""
    pinned = "flux_version" in spec.model_fields_set
    if pinned and version and version.removeprefix("v") != spec.flux_version:
        errors.append(
            FieldError(
                "fluxVersion",
                f"the Flux install bundle is Flux {version}; set fluxVersion to "
                f"{version.removeprefix('v')!r} (or leave it out), or give a "
                f"fluxBundle: of Flux {spec.flux_version}",
                repr(spec.flux_version),
            )
        )
    return errors


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
                    "output, or `python3 tools/build.py flux-bundle`); use mode: external when "
                    "the controllers are managed elsewhere",
                )
            ],
        )
    out: list[Manifest] = []
    if mode == "install":
        errors = check_bundle(spec, bundle)
        if errors:
            raise SpecError(f"FluxExtension {spec.name!r}", errors)
        namespace = _bundle_namespace(bundle)
        old = (namespace.get("metadata") or {}).get("name") if namespace else None
        for body in bundle:
            controller = _controller_of(body)
            moved = _move(body, old, spec.namespace)
            if controller is not None and body.get("kind") != "CustomResourceDefinition":
                if not getattr(spec.controllers, controller).enabled:
                    continue
                if body.get("kind") == "Deployment":
                    moved = _adapt_deployment(moved, controller, spec)
            out.append(Manifest(moved))
    out.append(render_fluxconfig_crd())
    user = reconciler_user(spec.namespace) if spec.reconciler.enabled else None
    out.extend(render_admission(spec, user))
    if spec.reconciler.enabled and spec.reconciler.deploy:
        out.extend(render_reconciler(spec))
    return out


# ---------------------------------------------------------------- the reconciler

RECONCILER = "fluxgitops-reconciler"
RECONCILER_UID = 65532
"""The distroless ``nonroot`` user the image runs as."""
HEALTH_PORT = 8080
READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete")


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def reconciler_rules() -> list[dict[str, Any]]:
    """What the reconciler may do in the namespaces it serves (ClusterRole ``RECONCILER``).

    Bound cluster-wide when it serves every namespace, by one RoleBinding per
    namespace when ``reconciler.namespaces`` names them. It reads and finalizes
    FluxConfigs and writes their status; it writes the Flux sources and
    Kustomizations and the auth Secrets the renderer produces (their names
    derive from user input, so RBAC cannot list them; the admission guard
    ``fluxgitops-reconciler-guard`` limits these writes to objects labelled as
    ours, Opaque Secrets, outside ``kube-system``). Of RBAC it writes only the
    ``flux-applier`` ServiceAccount, Role and RoleBinding, by name (server-side
    apply names the object, so ``resourceNames`` covers creation too); the
    namespace-scope ``flux-applier`` Role grants everything in its namespace,
    which needs ``escalate`` and ``bind`` — on that one Role name only.
    Reading (``get``/``list``/``watch``) is wide: the label-selected watches
    need it, and RBAC cannot grant by label. Leases: list and watch (kopf
    watches the election Lease); writing them is a Role in its own namespace.
    """
    applier = [APPLIER_SERVICE_ACCOUNT]
    rbac = _group(RBAC_API_VERSION)
    return [
        {
            "apiGroups": [GROUP],
            "resources": [FLUXCONFIG_PLURAL],
            "verbs": [*READ, "update", "patch"],
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
            "resources": rendered_plurals(SOURCE_API_VERSION),
            "verbs": [*READ, *WRITE],
        },
        {
            "apiGroups": [_group(KUSTOMIZE_API_VERSION)],
            "resources": rendered_plurals(KUSTOMIZE_API_VERSION),
            "verbs": [*READ, *WRITE],
        },
        {"apiGroups": [""], "resources": ["secrets"], "verbs": [*READ, *WRITE]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": list(READ)},
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts"],
            "resourceNames": list(applier),
            "verbs": list(WRITE),
        },
        {"apiGroups": [rbac], "resources": ["roles", "rolebindings"], "verbs": list(READ)},
        {
            "apiGroups": [rbac],
            "resources": ["rolebindings"],
            "resourceNames": list(applier),
            "verbs": list(WRITE),
        },
        {
            "apiGroups": [rbac],
            "resources": ["roles"],
            "resourceNames": list(applier),
            "verbs": [*WRITE, "bind", "escalate"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["list", "watch"]},
    ]


def reconciler_cluster_rules(namespaces: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Cluster-scoped needs (ClusterRole ``RECONCILER-cluster``): the cluster-scope
    ``flux-applier-<ns>`` ClusterRoleBindings and ``bind`` on ``cluster-admin`` alone.

    With ``namespaces`` the bindings are granted by name; serving every
    namespace, the names cannot be listed and the admission guard allows only
    ``flux-applier-<ns>`` → ``cluster-admin`` for ``flux-applier`` of ``<ns>``.
    """
    rbac = _group(RBAC_API_VERSION)
    write: dict[str, Any] = {
        "apiGroups": [rbac],
        "resources": ["clusterrolebindings"],
        "verbs": list(WRITE),
    }
    if namespaces:
        write["resourceNames"] = [cluster_binding_name(ns) for ns in namespaces]
    return [
        {"apiGroups": [rbac], "resources": ["clusterrolebindings"], "verbs": list(READ)},
        write,
        {
            "apiGroups": [rbac],
            "resources": ["clusterroles"],
            "resourceNames": [CLUSTER_ADMIN],
            "verbs": ["bind"],
        },
    ]


def reconciler_user(namespace: str) -> str:
    """The reconciler ServiceAccount's user name, as admission sees it."""
    return f"system:serviceaccount:{namespace}:{RECONCILER}"


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
            *([f"--namespace={ns}" for ns in settings.namespaces] or ["--all-namespaces"]),
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


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": _group(RBAC_API_VERSION), "kind": kind, "name": name}


def render_reconciler(spec: FluxExtensionSpec) -> list[Manifest]:
    """The reconciler in ``spec.namespace``: ServiceAccount, its two ClusterRoles and their
    bindings (cluster-wide, or per served namespace), the Lease Role + binding, and the
    Deployment (``spec.reconciler``: replicas, image, resources, namespaces)."""
    ns = spec.namespace
    labels = _reconciler_labels()
    subject = [{"kind": "ServiceAccount", "name": RECONCILER, "namespace": ns}]
    election = f"{RECONCILER}-leader-election"
    cluster = f"{RECONCILER}-cluster"
    served = spec.reconciler.namespaces
    if served:
        # kopf also watches the reconciler's own namespace (the Lease's)
        bindings = [
            {
                "apiVersion": RBAC_API_VERSION,
                "kind": "RoleBinding",
                "metadata": metadata(RECONCILER, namespace, labels),
                "roleRef": _ref("ClusterRole", RECONCILER),
                "subjects": subject,
            }
            for namespace in sorted({*served, ns})
        ]
    else:
        bindings = [
            {
                "apiVersion": RBAC_API_VERSION,
                "kind": "ClusterRoleBinding",
                "metadata": metadata(RECONCILER, None, labels),
                "roleRef": _ref("ClusterRole", RECONCILER),
                "subjects": subject,
            }
        ]
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
        *bindings,
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "ClusterRole",
            "metadata": metadata(cluster, None, labels),
            "rules": reconciler_cluster_rules(served),
        },
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "ClusterRoleBinding",
            "metadata": metadata(cluster, None, labels),
            "roleRef": _ref("ClusterRole", cluster),
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
            "roleRef": _ref("Role", election),
            "subjects": subject,
        },
        _reconciler_deployment(spec),
    ]
    return [Manifest(body) for body in bodies]

"""What the reconciler and a tenant can and cannot do, with real credentials on the API server.

The reconciler is its rendered ServiceAccount, RBAC and admission guard with a
token from the TokenRequest API; a tenant is a client-certificate user allowed
only to write FluxConfigs in her namespace (and read one Secret there). Each
test asks ``SelfSubjectAccessReview`` what RBAC allows and proves with a real
request what admission then refuses (issue 16, items 1 and 2).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, KubeConfig
from lightkube.models.authorization_v1 import ResourceAttributes, SelfSubjectAccessReviewSpec
from lightkube.resources.authorization_v1 import SelfSubjectAccessReview

from fluxgitops.errors import ClusterRejectedError
from fluxgitops.kube.apply import apply_manifests, delete_objects, ensure_namespace
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, LABEL_MANAGED_BY
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.render.admission import RECONCILER_POLICY, render_admission
from fluxgitops.render.extension import RECONCILER, reconciler_user, render_reconciler
from fluxgitops.spec import parse_configuration, parse_extension
from tests.reconciler.support import refused, token_kubeconfig, wait_denied

RBAC = "rbac.authorization.k8s.io/v1"
DENIED = "denied request: "


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


def can_i(
    client: Client,
    verb: str,
    resource: str,
    namespace: str = "",
    *,
    name: str = "",
    group: str = "",
) -> bool:
    """``kubectl auth can-i`` for the client's own credentials (SelfSubjectAccessReview)."""
    review = client.create(
        SelfSubjectAccessReview(
            spec=SelfSubjectAccessReviewSpec(
                resourceAttributes=ResourceAttributes(
                    verb=verb, resource=resource, group=group, namespace=namespace, name=name
                )
            )
        )
    )
    return bool(review.status and review.status.allowed)


def manifest(body: Mapping[str, Any]) -> Manifest:
    """A manifest from a plain body."""
    return Manifest(dict(body))


def secret(namespace: str, name: str, *, ours: bool = True, kind: str = "Opaque") -> Manifest:
    """A Secret, labelled as fluxgitops' unless ``ours`` is False."""
    labels = {LABEL_MANAGED_BY: "fluxgitops"} if ours else {}
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "type": kind,
            "stringData": {"token": "not-a-real-token"},
        }
    )


def cluster_admin_binding(name: str, namespace: str, account: str) -> Manifest:
    """A ClusterRoleBinding of ``namespace/account`` to cluster-admin, labelled as ours."""
    return manifest(
        {
            "apiVersion": RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {LABEL_MANAGED_BY: "fluxgitops"}},
            "roleRef": {
                "apiGroup": RBAC.split("/", maxsplit=1)[0],
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        }
    )


def fluxconfig(raw: Mapping[str, Any]) -> Manifest:
    """The FluxConfig the renderer makes of configuration ``raw`` (multi-tenancy on)."""
    spec = parse_configuration(raw)
    return next(
        m
        for m in render_configuration(spec, RenderOptions(multi_tenancy=True))
        if m.key.kind == FLUXCONFIG_KIND
    )


def with_spec(base: Manifest, **changes: Any) -> Manifest:
    """``base`` with top-level spec fields replaced."""
    body = base.to_dict()
    body["spec"].update(changes)
    return Manifest(body)


# ---------------------------------------------------------------- the reconciler


@dataclass
class Reconciler:
    """A reconciler identity: its namespace, a client with its token, the namespaces it serves."""

    system: str
    client: Client
    served: tuple[str, ...]


def _reconciler(
    control_plane: ControlPlane, admin: Client, tmp: Path, served: tuple[str, ...], named: bool
) -> Reconciler:
    system = f"tok-sys-{_suffix()}"
    for namespace in (system, *served):
        ensure_namespace(admin, namespace)
    settings: dict[str, Any] = {"enabled": True}
    if named:
        settings["namespaces"] = list(served)
    spec = parse_extension({"namespace": system, "reconciler": settings})
    rbac = [m for m in render_reconciler(spec) if m.key.kind != "Deployment"]
    guard = [
        m
        for m in render_admission(spec, reconciler_user(system))
        if RECONCILER_POLICY in m.key.name
    ]
    apply_manifests(admin, [*rbac, *guard], force=True)
    path = token_kubeconfig(control_plane, admin, system, RECONCILER, tmp / f"{system}.kubeconfig")
    register_kinds()
    client = Client(KubeConfig.from_file(path), field_manager="fluxgitops-reconciler")
    wait_denied(  # RBAC allows this write in a served namespace; the guard refuses it
        "the reconciler guard",
        lambda: refused(client, [secret(served[0], "probe", ours=False)], dry_run=True),
        "must carry app.kubernetes.io/managed-by=fluxgitops",
    )
    return Reconciler(system, client, served)


@pytest.fixture(scope="module")
def clusterwide(
    control_plane: ControlPlane, admin: Client, tmp_path_factory: pytest.TempPathFactory
) -> Reconciler:
    """The reconciler as deployed by default (every namespace), serving two test namespaces."""
    served = (f"tok-a-{_suffix()}", f"tok-b-{_suffix()}")
    return _reconciler(control_plane, admin, tmp_path_factory.mktemp("tok"), served, named=False)


@pytest.fixture(scope="module")
def namespaced(
    control_plane: ControlPlane, admin: Client, tmp_path_factory: pytest.TempPathFactory
) -> Reconciler:
    """A reconciler told its one namespace (``reconciler.namespaces``)."""
    served = (f"tok-n-{_suffix()}",)
    return _reconciler(control_plane, admin, tmp_path_factory.mktemp("tok"), served, named=True)


def test_reconciler_cannot_bind_cluster_admin_to_itself(clusterwide: Reconciler) -> None:
    client, system = clusterwide.client, clusterwide.system
    for name in ("pwn", f"flux-applier-{system}"):
        message = refused(client, [cluster_admin_binding(name, system, RECONCILER)])
        assert (
            DENIED + "roleRef/subjects: a ClusterRoleBinding written by the reconciler must be"
            in message
        ), message


def test_reconciler_cannot_bind_other_cluster_roles(clusterwide: Reconciler) -> None:
    client, served = clusterwide.client, clusterwide.served[0]
    assert can_i(
        client, "bind", "clusterroles", name="cluster-admin", group="rbac.authorization.k8s.io"
    )
    assert not can_i(
        client, "bind", "clusterroles", name="admin", group="rbac.authorization.k8s.io"
    )
    binding = cluster_admin_binding(f"flux-applier-{served}", served, "flux-applier").to_dict()
    binding["roleRef"]["name"] = "admin"
    assert "refused it (403)" in refused(client, [manifest(binding)])


def test_reconciler_cannot_write_roles_other_than_flux_applier(clusterwide: Reconciler) -> None:
    client, served = clusterwide.client, clusterwide.served[0]
    group = "rbac.authorization.k8s.io"
    assert can_i(client, "escalate", "roles", served, name="flux-applier", group=group)
    assert not can_i(client, "escalate", "roles", served, name="sneaky", group=group)
    assert not can_i(client, "create", "roles", served, name="sneaky", group=group)
    role = {
        "apiVersion": RBAC,
        "kind": "Role",
        "metadata": {
            "name": "sneaky",
            "namespace": served,
            "labels": {LABEL_MANAGED_BY: "fluxgitops"},
        },
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }
    assert "refused it (403)" in refused(client, [manifest(role)])


def test_reconciler_cannot_write_in_kube_system(clusterwide: Reconciler) -> None:
    client = clusterwide.client
    # RBAC cannot exclude a namespace from a cluster-wide grant; the admission guard does
    assert can_i(client, "create", "secrets", "kube-system")
    message = refused(client, [secret("kube-system", "planted")])
    assert (
        DENIED + "the fluxgitops reconciler may not write secrets in namespace 'kube-system'"
        in message
    )
    binding = cluster_admin_binding("flux-applier-kube-system", "kube-system", "flux-applier")
    assert DENIED + "roleRef/subjects: a ClusterRoleBinding" in refused(client, [binding])


def test_reconciler_cannot_mint_service_account_token_secrets(clusterwide: Reconciler) -> None:
    token = secret(clusterwide.served[0], "minted", kind="kubernetes.io/service-account-token")
    body = token.to_dict()
    body["metadata"]["annotations"] = {"kubernetes.io/service-account.name": "flux-applier"}
    message = refused(clusterwide.client, [manifest(body)])
    assert DENIED + "type: 'kubernetes.io/service-account-token' is not allowed" in message


def test_reconciler_cannot_take_over_or_delete_an_unlabelled_secret(
    clusterwide: Reconciler, admin: Client
) -> None:
    served = clusterwide.served[0]
    apply_manifests(admin, [secret(served, "users-key", ours=False)], force=True)
    message = refused(clusterwide.client, [secret(served, "users-key")])
    assert (
        DENIED + "secrets 'users-key' is not labelled app.kubernetes.io/managed-by=fluxgitops"
        in message
    )
    with pytest.raises(ClusterRejectedError, match="is not labelled"):
        delete_objects(
            clusterwide.client, [ObjectKey("v1", "Secret", served, "users-key")], timeout=0
        )


def test_reconciler_can_apply_and_delete_what_reconciling_needs(clusterwide: Reconciler) -> None:
    wide, narrow = clusterwide.served
    objects: list[Manifest] = []
    for raw in (
        {
            "name": "wide",
            "namespace": wide,
            "gitRepository": {
                "url": "https://git.example.com/a.git",
                "httpsUser": "u",
                "httpsKey": "k",
            },
        },
        {
            "name": "narrow",
            "namespace": narrow,
            "scope": "namespace",
            "gitRepository": {"url": "https://git.example.com/b.git"},
        },
    ):
        rendered = render_configuration(parse_configuration(raw), RenderOptions(multi_tenancy=True))
        objects += [m for m in rendered if m.key.kind != FLUXCONFIG_KIND]
    kinds = {m.key.kind for m in objects}
    assert {"ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount", "Secret"} <= kinds
    apply_manifests(clusterwide.client, objects, force=True)
    apply_manifests(clusterwide.client, objects, force=True)  # and again: an update
    delete_objects(clusterwide.client, [m.key for m in objects], timeout=5, poll=0.1)


def test_namespaced_reconciler_reads_and_writes_secrets_only_where_it_serves(
    namespaced: Reconciler,
) -> None:
    client, served = namespaced.client, namespaced.served[0]
    group = "rbac.authorization.k8s.io"
    assert not can_i(client, "get", "secrets", "kube-system")
    assert not can_i(client, "list", "secrets", "default")
    assert can_i(client, "create", "secrets", served)
    assert can_i(
        client, "create", "clusterrolebindings", name=f"flux-applier-{served}", group=group
    )
    assert not can_i(
        client, "create", "clusterrolebindings", name="flux-applier-default", group=group
    )
    assert "refused it (403)" in refused(client, [secret("default", "planted")])


# ---------------------------------------------------------------- a tenant


@dataclass
class Tenant:
    """A user who may write FluxConfigs in ``namespace`` and read only Secret ``readable``."""

    namespace: str
    user: str
    client: Client


@pytest.fixture(scope="module")
def tenant(control_plane: ControlPlane, admin: Client) -> Tenant:
    """Alice: FluxConfigs in her namespace; Secrets ``readable`` (hers) and ``admin-only`` there."""
    namespace, user = f"tenant-{_suffix()}", f"alice-{_suffix()}"
    ensure_namespace(admin, namespace)
    group = FLUXCONFIG_API_VERSION.split("/")[0]
    role = {
        "apiVersion": RBAC,
        "kind": "Role",
        "metadata": {"name": "fluxconfig-author", "namespace": namespace},
        "rules": [
            {
                "apiGroups": [group],
                "resources": ["fluxconfigs"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["readable"],
                "verbs": ["get"],
            },
        ],
    }
    binding = {
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {"name": "fluxconfig-author", "namespace": namespace},
        "roleRef": {
            "apiGroup": RBAC.split("/", maxsplit=1)[0],
            "kind": "Role",
            "name": "fluxconfig-author",
        },
        "subjects": [{"apiGroup": RBAC.split("/", maxsplit=1)[0], "kind": "User", "name": user}],
    }
    apply_manifests(
        admin,
        [
            manifest(role),
            manifest(binding),
            secret(namespace, "readable", ours=False),
            secret(namespace, "admin-only", ours=False),
        ],
        force=True,
    )
    register_kinds()
    client = Client(KubeConfig.from_file(control_plane.user(user)), field_manager="alice")
    probe = fluxconfig(
        {"name": "probe", "namespace": namespace, "gitRepository": {"url": "https://h/r.git"}}
    )
    wait_denied("the tenancy policy", lambda: refused(client, [probe], dry_run=True), "spec.scope")
    return Tenant(namespace, user, client)


def _git(namespace: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "gitRepository": {"url": "https://git.example.com/t.git"},
        **extra,
    }


def test_tenant_cannot_create_a_fluxconfig_with_default_cluster_scope(tenant: Tenant) -> None:
    body = fluxconfig(_git(tenant.namespace, "default-scope")).to_dict()
    del body["spec"]["scope"]  # as a tenant writes it by hand: Azure's default is cluster
    message = refused(tenant.client, [Manifest(body)])
    assert (
        DENIED + "spec.scope: unset (means 'cluster') is allowed only in the namespaces "
        "'flux-system', 'cluster-config' (multiTenancy.clusterScopeNamespaces)"
    ) in message, message
    assert f"in namespace '{tenant.namespace}' set scope: namespace" in message


def test_tenant_cannot_create_a_cluster_scope_fluxconfig(tenant: Tenant) -> None:
    config = fluxconfig(_git(tenant.namespace, "explicit", scope="cluster"))
    assert DENIED + "spec.scope: 'cluster' is allowed only" in refused(tenant.client, [config])


def test_tenant_can_create_a_namespace_scope_fluxconfig(tenant: Tenant) -> None:
    config = fluxconfig(_git(tenant.namespace, "mine", scope="namespace"))
    apply_manifests(tenant.client, [config], force=True)


def test_tenant_cannot_switch_to_cluster_scope_on_update(tenant: Tenant) -> None:
    config = fluxconfig(_git(tenant.namespace, "switch", scope="namespace"))
    apply_manifests(tenant.client, [config], force=True)
    message = refused(tenant.client, [with_spec(config, scope="cluster")])
    assert DENIED + "spec.scope: 'cluster' is allowed only" in message


def test_tenant_cannot_reference_a_secret_she_cannot_read(tenant: Tenant) -> None:
    raw = _git(tenant.namespace, "borrow", scope="namespace")
    raw["gitRepository"]["localAuthRef"] = "admin-only"
    message = refused(tenant.client, [fluxconfig(raw)])
    assert (
        DENIED + f"spec.gitRepository.localAuthRef: Secret 'admin-only' in namespace "
        f"'{tenant.namespace}' is not readable by '{tenant.user}'"
    ) in message, message


def test_tenant_can_reference_a_secret_she_can_read(tenant: Tenant) -> None:
    raw = _git(tenant.namespace, "own-secret", scope="namespace")
    raw["gitRepository"]["localAuthRef"] = "readable"
    apply_manifests(tenant.client, [fluxconfig(raw)], force=True)


def test_tenant_cannot_substitute_from_a_secret_she_cannot_read(tenant: Tenant) -> None:
    raw = _git(tenant.namespace, "subst", scope="namespace")
    raw["kustomizations"] = {
        "apps": {"postBuild": {"substituteFrom": [{"kind": "Secret", "name": "admin-only"}]}}
    }
    message = refused(tenant.client, [fluxconfig(raw)])
    assert (
        DENIED + "spec.kustomizations.apps.postBuild.substituteFrom: a Secret named there is "
        f"not readable by '{tenant.user}'"
    ) in message, message


def test_tenant_cannot_point_protected_settings_at_another_secret(tenant: Tenant) -> None:
    config = fluxconfig(_git(tenant.namespace, "steal", scope="namespace"))
    message = refused(tenant.client, [with_spec(config, protectedSettingsRef={"name": "readable"})])
    assert DENIED + "spec.protectedSettingsRef.name: 'readable' is not allowed" in message


def test_tenant_cannot_switch_multi_tenancy_off(tenant: Tenant) -> None:
    config = fluxconfig(_git(tenant.namespace, "off", scope="namespace"))
    message = refused(tenant.client, [with_spec(config, multiTenancy={"enforce": False})])
    assert DENIED + "spec.multiTenancy.enforce: false is not allowed" in message


def test_tenant_can_i(tenant: Tenant) -> None:
    client, namespace = tenant.client, tenant.namespace
    group = FLUXCONFIG_API_VERSION.split("/")[0]
    assert can_i(client, "create", "fluxconfigs", namespace, group=group)
    assert can_i(client, "get", "secrets", namespace, name="readable")
    assert not can_i(client, "get", "secrets", namespace, name="admin-only")
    assert not can_i(client, "*", "*", namespace)
    assert not can_i(client, "get", "secrets", "kube-system")
    assert not can_i(client, "create", "clusterrolebindings", group="rbac.authorization.k8s.io")


def test_admin_may_create_cluster_scope_anywhere(admin: Client, tenant: Tenant) -> None:
    apply_manifests(admin, [fluxconfig(_git(tenant.namespace, "by-admin"))], force=True)

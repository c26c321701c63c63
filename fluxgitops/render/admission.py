"""Render the admission guards: two ValidatingAdmissionPolicies (CEL, no webhook server).

``fluxgitops-fluxconfig-tenancy`` decides who may write which FluxConfig — the
in-cluster equivalent of the ARM RBAC check Azure makes before a
fluxConfiguration reaches the cluster:

- ``scope: cluster`` (its ``flux-applier`` is bound to ``cluster-admin``) only in
  the namespaces ``multiTenancy.clusterScopeNamespaces`` names, unless the
  author is in one of ``multiTenancy.adminGroups``; ``scope: namespace``
  anywhere;
- every Secret the CR references (``localAuthRef`` of any source,
  ``postBuild.substituteFrom`` of kind Secret, ``protectedSettingsRef``) must be
  one the author may ``get`` — asked of the API server's own authorizer through
  CEL's ``authorizer`` library, so the answer is the author's real RBAC;
- ``protectedSettingsRef`` names only the configuration's own ``<name>-auth``;
- with ``multiTenancy.enforce`` the CR cannot switch enforcement off.

Admins (``adminGroups``) are not checked; an update that leaves the spec
unchanged (finalizers, labels) is not checked either.

``fluxgitops-reconciler-guard`` narrows what the reconciler's ServiceAccount
may write below what RBAC can express: nothing in ``kube-system``,
``kube-public`` or ``kube-node-lease``; only objects labelled
``app.kubernetes.io/managed-by: fluxgitops`` (never adopting or deleting
another tool's object); Secrets only of type ``Opaque`` (no service-account
token Secrets); ServiceAccount, Role and RoleBinding only ``flux-applier`` with
exactly the ``flux-applier`` subject; ClusterRoleBindings only
``flux-applier-<ns>`` → ``cluster-admin`` for ``flux-applier`` of ``<ns>``.

Called by ``fluxgitops.render.extension`` (shipped with the extension) and by
the local control plane. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fluxgitops.manifest import Manifest
from fluxgitops.meta import (
    APPLIER_SERVICE_ACCOUNT,
    FLUXCONFIG_PLURAL,
    GROUP,
    KUSTOMIZE_API_VERSION,
    LABEL_MANAGED_BY,
    SOURCE_API_VERSION,
    auth_secret_name,
    metadata,
)
from fluxgitops.render.rbac import CLUSTER_ADMIN, cluster_binding_name
from fluxgitops.spec.extension import FluxExtensionSpec
from fluxgitops.spec.rules import SOURCE_BLOCKS

ADMISSION_API_VERSION = "admissionregistration.k8s.io/v1"
TENANCY_POLICY = "fluxgitops-fluxconfig-tenancy"
RECONCILER_POLICY = "fluxgitops-reconciler-guard"
PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
"""Namespaces the reconciler never writes to."""


def cel(value: object) -> str:
    """A CEL literal for a string or a list of strings (JSON quoting is valid CEL)."""
    return json.dumps(value)


def _has(path: str) -> str:
    """``has()`` of every step of a dotted ``object.…`` path, so a missing parent is no error."""
    parts = path.split(".")
    return " && ".join(f"has({'.'.join(parts[: i + 1])})" for i in range(1, len(parts)))


class E(str):
    """A CEL expression inside ``message`` (plain ``str`` parts are literal text)."""


def message(*parts: str) -> str:
    """A CEL ``messageExpression`` concatenating literal text and ``E`` expressions."""
    return " + ".join(f"({p})" if isinstance(p, E) else cel(p) for p in parts)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values) if values else "(none)"


def _labels() -> dict[str, str]:
    return {LABEL_MANAGED_BY: "fluxgitops"}


def _can_get_secret(name: str) -> str:
    return (
        "authorizer.group('').resource('secrets').namespace(object.metadata.namespace)"
        f".name({name}).check('get').allowed()"
    )


def _policy(
    name: str, rules: list[dict[str, Any]], conditions: list[tuple[str, str]], body: dict[str, Any]
) -> Manifest:
    return Manifest(
        {
            "apiVersion": ADMISSION_API_VERSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": metadata(name, None, _labels()),
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": rules},
                "matchConditions": [{"name": n, "expression": e} for n, e in conditions],
                **body,
            },
        }
    )


def _binding(policy: str) -> Manifest:
    return Manifest(
        {
            "apiVersion": ADMISSION_API_VERSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": metadata(policy, None, _labels()),
            "spec": {"policyName": policy, "validationActions": ["Deny"]},
        }
    )


# ---------------------------------------------------------------- tenants


SECRET_REF_PATHS = (
    *(f"spec.{block}.localAuthRef" for block in SOURCE_BLOCKS.values()),
    "spec.protectedSettingsRef.name",
)
"""Every field of the CR that names one Secret of its namespace."""


def _readable_ref(path: str, namespace: E, user: E) -> dict[str, Any]:
    """The validation that the Secret named at ``path`` is one the author may ``get``.

    One per field: a ``messageExpression`` cannot call the authorizer, so each
    message names its own field."""
    field = f"object.{path}"
    return {
        "expression": f"!({_has(field)}) || {_can_get_secret(f'string({field})')}",
        "messageExpression": message(
            f"{path}: Secret '",
            E(f"string({field})"),
            "' in namespace '",
            namespace,
            "' is not readable by '",
            user,
            "'; reference only a Secret you may get (RBAC)",
        ),
        "reason": "Forbidden",
    }


def tenancy_policy(spec: FluxExtensionSpec) -> Manifest:
    """The FluxConfig policy for ``spec.multiTenancy`` (see the module docstring)."""
    tenancy = spec.multi_tenancy
    namespaces, admins = list(tenancy.cluster_scope_namespaces), list(tenancy.admin_groups)
    kustomization = "object.spec.kustomizations[k]"
    namespace = E("object.metadata.namespace")
    user = E("request.userInfo.username")
    validations: list[dict[str, Any]] = [
        {
            "expression": (
                "variables.scope != 'cluster' || object.metadata.namespace in "
                "variables.clusterScopeNamespaces"
            ),
            "messageExpression": message(
                "spec.scope: ",
                E(f"{_has('object.spec.scope')} ? \"'cluster'\" : \"unset (means 'cluster')\""),
                f" is allowed only in the namespaces {_quoted(namespaces)} "
                f"(multiTenancy.clusterScopeNamespaces) or for members of {_quoted(admins)}; "
                "in namespace '",
                namespace,
                "' set scope: namespace",
            ),
            "reason": "Forbidden",
        },
        *(_readable_ref(path, namespace, user) for path in SECRET_REF_PATHS),
        {
            "expression": (
                f"!({_has('object.spec.kustomizations')}) || object.spec.kustomizations.all(k, "
                f"!has({kustomization}.postBuild) || !has({kustomization}.postBuild.substituteFrom)"
                f" || {kustomization}.postBuild.substituteFrom.all(s, s.kind != 'Secret' || "
                f"{_can_get_secret('s.name')}))"
            ),
            "messageExpression": message(
                E(
                    "object.spec.kustomizations.filter(k, has("
                    f"{kustomization}.postBuild) && has({kustomization}.postBuild.substituteFrom) "
                    f"&& {kustomization}.postBuild.substituteFrom.exists(s, s.kind == 'Secret'))"
                    ".map(k, 'spec.kustomizations.' + k + '.postBuild.substituteFrom').join('; ')"
                ),
                ": a Secret named there is not readable by '",
                user,
                "' in namespace '",
                namespace,
                "'; reference only Secrets you may get (RBAC)",
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"!({_has('object.spec.protectedSettingsRef.name')}) || "
                "object.spec.protectedSettingsRef.name == object.metadata.name + "
                f"{cel(auth_secret_name(''))}"
            ),
            "messageExpression": message(
                "spec.protectedSettingsRef.name: '",
                E("object.spec.protectedSettingsRef.name"),
                "' is not allowed; only the configuration's own '",
                E("object.metadata.name"),
                f"{auth_secret_name('')}'",
            ),
            "reason": "Invalid",
        },
    ]
    if tenancy.enforce:
        validations.append(
            {
                "expression": (
                    f"!({_has('object.spec.multiTenancy.enforce')}) || "
                    "object.spec.multiTenancy.enforce == true"
                ),
                "message": (
                    "spec.multiTenancy.enforce: false is not allowed: the extension enforces "
                    "multi-tenancy (multiTenancy.enforce: true); remove it or set it to true"
                ),
                "reason": "Forbidden",
            }
        )
    return _policy(
        TENANCY_POLICY,
        [
            {
                "apiGroups": [GROUP],
                "apiVersions": ["*"],
                "operations": ["CREATE", "UPDATE"],
                "resources": [FLUXCONFIG_PLURAL],
            }
        ],
        [
            ("not-an-admin", f"!request.userInfo.groups.exists(g, g in {cel(admins)})"),
            (
                "spec-written",
                "request.operation == 'CREATE' || !has(object.spec) || !has(oldObject.spec) || "
                "object.spec != oldObject.spec",
            ),
        ],
        {
            "variables": [
                {"name": "clusterScopeNamespaces", "expression": cel(namespaces)},
                {
                    "name": "scope",
                    "expression": f"{_has('object.spec.scope')} ? object.spec.scope : 'cluster'",
                },
            ],
            "validations": validations,
        },
    )


# ---------------------------------------------------------------- the reconciler


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def reconciler_policy(reconciler_user: str) -> Manifest:
    """The guard on the reconciler's writes (``reconciler_user``: its ServiceAccount's user)."""
    applier, managed = cel(APPLIER_SERVICE_ACCOUNT), cel(LABEL_MANAGED_BY)
    writes = "request.operation != 'DELETE'"
    resource = "request.resource.resource"
    subject = "object.subjects[0]"
    validations: list[dict[str, Any]] = [
        {
            "expression": (
                f"!has(request.namespace) || !(request.namespace in "
                f"{cel(list(PROTECTED_NAMESPACES))})"
            ),
            "messageExpression": message(
                "the fluxgitops reconciler may not write ",
                E(resource),
                " in namespace '",
                E("request.namespace"),
                f"' (protected: {_quoted(PROTECTED_NAMESPACES)})",
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"request.operation == 'CREATE' || (has(oldObject.metadata.labels) && {managed} "
                f"in oldObject.metadata.labels && oldObject.metadata.labels[{managed}] == "
                "'fluxgitops')"
            ),
            "messageExpression": message(
                E(resource),
                " '",
                E("request.name"),
                f"' is not labelled {LABEL_MANAGED_BY}=fluxgitops: the reconciler never changes "
                "or deletes an object it did not create",
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"!({writes}) || (has(object.metadata.labels) && {managed} in "
                f"object.metadata.labels && object.metadata.labels[{managed}] == 'fluxgitops')"
            ),
            "messageExpression": message(
                "metadata.labels: ",
                E(resource),
                " '",
                E("request.name"),
                f"' must carry {LABEL_MANAGED_BY}=fluxgitops when the reconciler writes it",
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"{resource} != 'secrets' || !({writes}) || !has(object.type) || "
                "object.type == 'Opaque'"
            ),
            "messageExpression": message(
                "type: '",
                E("object.type"),
                "' is not allowed for Secret '",
                E("request.name"),
                "'; the reconciler writes only Opaque Secrets",
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"!({resource} in ['serviceaccounts', 'roles', 'rolebindings']) || "
                f"request.name == {applier}"
            ),
            "messageExpression": message(
                "metadata.name: '",
                E("request.name"),
                "' is not allowed for ",
                E(resource),
                f" written by the reconciler; only {APPLIER_SERVICE_ACCOUNT!r}",
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"{resource} != 'rolebindings' || !({writes}) || (object.roleRef.kind == 'Role' "
                f"&& object.roleRef.name == {applier} && has(object.subjects) && "
                "object.subjects.all(s, s.kind == 'ServiceAccount' && "
                f"s.name == {applier} && s.namespace == request.namespace))"
            ),
            "message": (
                f"roleRef/subjects: a RoleBinding written by the reconciler binds only Role "
                f"{APPLIER_SERVICE_ACCOUNT!r} to ServiceAccount {APPLIER_SERVICE_ACCOUNT!r} of "
                "its own namespace"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"{resource} != 'clusterrolebindings' || (!({writes}) ? "
                f"request.name.startsWith({cel(cluster_binding_name(''))}) : "
                f"(object.roleRef.kind == 'ClusterRole' && object.roleRef.name == "
                f"{cel(CLUSTER_ADMIN)} && has(object.subjects) && size(object.subjects) == 1 && "
                f"{subject}.kind == 'ServiceAccount' && {subject}.name == {applier} && "
                f"has({subject}.namespace) && "
                f"!({subject}.namespace in {cel(list(PROTECTED_NAMESPACES))}) && "
                f"request.name == {cel(cluster_binding_name(''))} + {subject}.namespace))"
            ),
            "message": (
                "roleRef/subjects: a ClusterRoleBinding written by the reconciler must be "
                f"{cluster_binding_name('<ns>')!r}, bind ClusterRole {CLUSTER_ADMIN!r} and have "
                f"exactly one subject, ServiceAccount {APPLIER_SERVICE_ACCOUNT!r} of <ns> "
                "(not a protected namespace)"
            ),
            "reason": "Forbidden",
        },
    ]
    operations = ["CREATE", "UPDATE", "DELETE"]
    rbac = "rbac.authorization.k8s.io"
    rules = [
        {
            "apiGroups": [""],
            "apiVersions": ["*"],
            "operations": list(operations),
            "resources": ["secrets", "serviceaccounts"],
        },
        {
            "apiGroups": [rbac],
            "apiVersions": ["*"],
            "operations": list(operations),
            "resources": ["roles", "rolebindings", "clusterrolebindings"],
        },
        {
            "apiGroups": [_group(SOURCE_API_VERSION)],
            "apiVersions": ["*"],
            "operations": list(operations),
            "resources": ["gitrepositories", "buckets", "ocirepositories"],
        },
        {
            "apiGroups": [_group(KUSTOMIZE_API_VERSION)],
            "apiVersions": ["*"],
            "operations": list(operations),
            "resources": ["kustomizations"],
        },
    ]
    return _policy(
        RECONCILER_POLICY,
        rules,
        [("is-the-reconciler", f"request.userInfo.username == {cel(reconciler_user)}")],
        {"validations": validations},
    )


def render_admission(spec: FluxExtensionSpec, reconciler_user: str | None = None) -> list[Manifest]:
    """The tenancy policy and its binding; with ``reconciler_user``, the reconciler guard too."""
    out = [tenancy_policy(spec), _binding(TENANCY_POLICY)]
    if reconciler_user is not None:
        out += [reconciler_policy(reconciler_user), _binding(RECONCILER_POLICY)]
    return out

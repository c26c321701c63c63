"""The admission guards as rendered: settings reach the CEL, and the real API server accepts
the policies with no type-check warnings against the real FluxConfig CRD.

What the policies admit and deny for real users is in ``tests/reconciler/test_rbac_tokens.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import Client

from fluxgitops.kube.apply import apply_manifests, read_object
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.manifest import ObjectKey
from fluxgitops.render.admission import (
    ADMISSION_API_VERSION,
    RECONCILER_POLICY,
    TENANCY_POLICY,
    render_admission,
)
from fluxgitops.render.extension import reconciler_user, render_extension
from fluxgitops.spec import parse_extension


def _policy(objects: list[Any], name: str) -> dict[str, Any]:
    body: dict[str, Any] = next(
        m.body for m in objects if m.key.kind == "ValidatingAdmissionPolicy" and m.key.name == name
    )
    return body


def _expressions(policy: dict[str, Any]) -> str:
    spec = policy["spec"]
    parts = [c["expression"] for c in spec.get("matchConditions", [])]
    parts += [v["expression"] for v in spec.get("variables", [])]
    parts += [v["expression"] for v in spec["validations"]]
    parts += [v.get("messageExpression", v.get("message", "")) for v in spec["validations"]]
    return "\n".join(parts)


def test_settings_reach_the_tenancy_policy() -> None:
    spec = parse_extension(
        {"multiTenancy": {"clusterScopeNamespaces": ["platform"], "adminGroups": ["ops"]}}
    )
    text = _expressions(_policy(render_admission(spec), TENANCY_POLICY))
    assert '["platform"]' in text
    assert 'g in ["ops"]' in text
    assert "flux-system" not in text


def test_enforcement_off_keeps_the_scope_guard_but_not_the_enforce_rule() -> None:
    spec = parse_extension({"multiTenancy": {"enforce": False}})
    policy = _policy(render_admission(spec), TENANCY_POLICY)
    text = _expressions(policy)
    assert "variables.scope != 'cluster'" in text
    assert "multiTenancy.enforce" not in text


def test_reconciler_guard_only_with_the_reconciler() -> None:
    off = render_extension(parse_extension({"reconciler": {"enabled": False}}), mode="external")
    assert [m.key.name for m in off if m.key.kind == "ValidatingAdmissionPolicy"] == [
        TENANCY_POLICY
    ]
    on = render_extension(
        parse_extension({"namespace": "gitops", "reconciler": {"enabled": True}}), mode="external"
    )
    guard = _expressions(_policy(on, RECONCILER_POLICY))
    assert '"system:serviceaccount:gitops:fluxgitops-reconciler"' in guard


def test_every_policy_has_a_binding_that_denies() -> None:
    objects = render_admission(parse_extension({}), reconciler_user("flux-system"))
    policies = {m.key.name for m in objects if m.key.kind == "ValidatingAdmissionPolicy"}
    bindings = {
        m.body["spec"]["policyName"]: m.body["spec"]["validationActions"]
        for m in objects
        if m.key.kind == "ValidatingAdmissionPolicyBinding"
    }
    assert bindings == {name: ["Deny"] for name in policies}


@pytest.mark.parametrize("enforce", [True, False])
def test_api_server_compiles_the_policies(
    control_plane: ControlPlane, admin: Client, enforce: bool
) -> None:
    """The API server compiles every CEL expression when the policy is written (a type error
    is a 422 naming the expression). The type-check warnings against the CRD schema are
    written by kube-controller-manager, which the local control plane does not run."""
    spec = parse_extension(
        {"multiTenancy": {"enforce": enforce, "clusterScopeNamespaces": ["flux-system"]}}
    )
    manifests = render_admission(spec, reconciler_user("flux-system"))
    try:
        applied = apply_manifests(admin, manifests, force=True)
        assert [a["metadata"]["name"] for a in applied] == [m.key.name for m in manifests]
        for name in (TENANCY_POLICY, RECONCILER_POLICY):
            key = ObjectKey(ADMISSION_API_VERSION, "ValidatingAdmissionPolicy", "", name)
            assert read_object(admin, key) is not None
    finally:  # back to what the control plane installs
        apply_manifests(admin, render_admission(parse_extension({})), force=True)

"""Compliance aggregation and the condition helper, in Flux's vocabulary."""

from __future__ import annotations

from typing import Any

from fluxgitops.status import (
    applied_flux_objects,
    compliance,
    configuration_compliance,
    helm_release_properties,
    inventory,
    set_condition,
    status_entry,
    synced_commit,
)


def flux(
    kind: str,
    name: str,
    ready: str | None = None,
    *,
    reason: str = "",
    message: str = "",
    generation: int = 1,
    observed: int = 1,
    suspend: bool = False,
) -> dict[str, Any]:
    """A Flux object with an optional Ready condition."""
    status: dict[str, Any] = {"observedGeneration": observed}
    if ready is not None:
        status["conditions"] = [
            {"type": "Ready", "status": ready, "reason": reason, "message": message}
        ]
    return {
        "kind": kind,
        "metadata": {"name": name, "generation": generation},
        "spec": {"suspend": suspend},
        "status": status,
    }


def not_ready(kind: str, name: str, ready: str, reason: str, message: str) -> dict[str, Any]:
    """A Flux object whose Ready condition is ``ready`` (False / Unknown) with a reason."""
    return flux(kind, name, ready, reason=reason, message=message)


def test_pending_until_reconciled() -> None:
    state = compliance([flux("GitRepository", "r"), flux("Kustomization", "k", "True")])
    assert state.state == "Pending"
    assert state.message.startswith("GitRepository/r: not reconciled yet")


def test_pending_when_generation_not_observed() -> None:
    assert (
        compliance([flux("Kustomization", "k", "True", generation=2, observed=1)]).state
        == "Pending"
    )


def test_non_compliant_when_ready_false_and_never_observed() -> None:
    state = compliance(
        [
            flux(
                "GitRepository",
                "r",
                "False",
                reason="GitOperationFailed",
                message="failed to checkout and determine revision",
                observed=-1,
            )
        ]
    )
    assert state.state == "Non-Compliant"
    assert state.message == (
        "GitRepository/r: GitOperationFailed: failed to checkout and determine revision"
    )


def test_non_compliant_when_ready_false_for_an_older_generation() -> None:
    state = compliance(
        [flux("Kustomization", "k", "False", reason="BuildFailed", generation=3, observed=2)]
    )
    assert state.state == "Non-Compliant"
    assert state.message.startswith("Kustomization/k: BuildFailed: ")


def test_pending_when_ready_unknown() -> None:
    state = compliance(
        [not_ready("Kustomization", "k", "Unknown", "Progressing", "reconciliation in progress")]
    )
    assert state.state == "Pending"
    assert state.message == "Kustomization/k: Progressing: reconciliation in progress"


def test_pending_while_waiting_for_a_dependency() -> None:
    state = compliance(
        [
            not_ready(
                "Kustomization",
                "apps",
                "False",
                "DependencyNotReady",
                "dependency 'ns/infra' is not ready",
            )
        ]
    )
    assert state.state == "Pending"
    assert state.message.startswith("Kustomization/apps: DependencyNotReady: ")


def state_of(kind: str, reason: str, message: str) -> tuple[str, str]:
    """Compliance and message of one object whose Ready=False has ``reason`` and ``message``."""
    found = compliance([not_ready(kind, "x", "False", reason, message)])
    return found.state, found.message


def test_pending_while_the_source_has_no_artifact_yet() -> None:
    state, message = state_of(
        "Kustomization", "ArtifactFailed", "Source artifact not found, retrying in 30s"
    )
    assert state == "Pending"
    assert message.startswith("Kustomization/x: ArtifactFailed: Source artifact")


def test_pending_while_the_helm_chart_has_no_artifact_yet() -> None:
    chart = "HelmChart 'flux-system/flux-system-web' is not ready: does not have an artifact"
    assert state_of("HelmRelease", "SourceNotReady", chart)[0] == "Pending"


def test_non_compliant_when_the_helm_chart_failed() -> None:
    chart = "HelmChart 'flux-system/flux-system-web' is not ready: chart path 'x' not found"
    state, message = state_of("HelmRelease", "SourceNotReady", chart)
    assert state == "Non-Compliant"
    assert message.startswith("HelmRelease/x: SourceNotReady: HelmChart")


def test_non_compliant_when_the_artifact_cannot_be_loaded() -> None:
    reason, message = "ArtifactFailed", "Could not load chart: chart.yaml missing"
    assert state_of("HelmRelease", reason, message)[0] == "Non-Compliant"


def test_non_compliant_wins_over_pending() -> None:
    state = compliance(
        [
            flux("GitRepository", "r", "False", reason="GitOperationFailed", observed=-1),
            flux("Kustomization", "k"),
        ]
    )
    assert state.state == "Non-Compliant"
    assert state.message.startswith("GitRepository/r: GitOperationFailed")


def test_compliant_when_every_object_is_ready() -> None:
    state = compliance([flux("GitRepository", "r", "True"), flux("Kustomization", "k", "True")])
    assert (state.state, state.message) == ("Compliant", "every object is Ready")


def test_non_compliant_names_the_failing_object() -> None:
    state = compliance(
        [
            flux("GitRepository", "r", "True"),
            not_ready("Kustomization", "k", "False", "BuildFailed", "kustomization path not found"),
        ]
    )
    assert state.state == "Non-Compliant"
    assert state.message == "Kustomization/k: BuildFailed: kustomization path not found"


def test_suspended_and_unknown() -> None:
    assert compliance([flux("Kustomization", "k", suspend=True)]).state == "Suspended"
    assert compliance([{"kind": "Secret", "metadata": {"name": "s"}}]).state == "Unknown"


def test_synced_commit_from_artifact_revision() -> None:
    source = {"status": {"artifact": {"revision": "main@sha1:0123abcd"}}}
    assert synced_commit(source) == "0123abcd"
    assert synced_commit(None) == ""


def test_set_condition_moves_transition_time_only_on_status_change() -> None:
    first = set_condition(
        [], "Ready", False, reason="Progressing", message="m", generation=1, now="t1"
    )
    same = set_condition(
        first, "Ready", False, reason="ProgressingWithRetry", message="m2", generation=2, now="t2"
    )
    assert same[0]["lastTransitionTime"] == "t1"
    assert same[0]["reason"] == "ProgressingWithRetry"
    flipped = set_condition(
        same, "Ready", True, reason="Succeeded", message="ok", generation=2, now="t3"
    )
    assert (flipped[0]["status"], flipped[0]["lastTransitionTime"]) == ("True", "t3")


def test_set_condition_keeps_other_conditions_sorted() -> None:
    out = set_condition(
        [{"type": "Stalled", "status": "False"}],
        "Ready",
        None,
        reason="Unknown",
        message="",
        generation=1,
        now="t",
    )
    assert [c["type"] for c in out] == ["Ready", "Stalled"]
    assert out[0]["status"] == "Unknown"


HELM_RELEASE: dict[str, Any] = {
    "apiVersion": "helm.toolkit.fluxcd.io/v2",
    "kind": "HelmRelease",
    "metadata": {"name": "podinfo", "namespace": "cluster-config", "generation": 1},
    "status": {
        "observedGeneration": 1,
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "InstallSucceeded", "message": "ok"}
        ],
        "helmChart": "cluster-config/cluster-config-podinfo",
        "history": [{"version": 3, "status": "deployed"}, {"version": 2}],
        "failures": 2,
        "installFailures": 1,
        "upgradeFailures": 1,
    },
}


def kustomization_with(*ids: str) -> dict[str, Any]:
    """A Kustomization whose inventory lists ``ids`` (Flux's ``ns_name_group_kind``)."""
    return {
        "kind": "Kustomization",
        "metadata": {"name": "cluster-config-infra", "namespace": "cluster-config"},
        "status": {"inventory": {"entries": [{"id": i, "v": "v1"} for i in ids]}},
    }


def test_inventory_reads_flux_entries() -> None:
    found = inventory(
        kustomization_with(
            "_podinfo__Namespace", "podinfo_web_apps_Deployment", "broken-entry", "ns__g_Kind"
        )
    )
    assert [str(a) for a in found] == ["Namespace podinfo", "Deployment podinfo/web"]
    assert [a.api_version for a in found] == ["v1", "apps/v1"]


def test_applied_flux_objects_keep_the_applying_kustomization() -> None:
    kustomization = kustomization_with(
        "cluster-config_podinfo_helm.toolkit.fluxcd.io_HelmRelease", "_podinfo__Namespace"
    )
    found = applied_flux_objects([kustomization, None])
    assert [(str(a), by) for a, by in found] == [
        ("HelmRelease cluster-config/podinfo", ("cluster-config", "cluster-config-infra"))
    ]


def test_helm_release_properties_as_azure_reports_them() -> None:
    assert helm_release_properties(HELM_RELEASE) == {
        "lastRevisionApplied": 3,
        "failureCount": 2,
        "installFailureCount": 1,
        "upgradeFailureCount": 1,
        "helmChartRef": {"name": "cluster-config-podinfo", "namespace": "cluster-config"},
    }


def test_status_entry_of_an_applied_helm_release() -> None:
    entry = status_entry(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "cluster-config",
        "podinfo",
        HELM_RELEASE,
        applied_by=("cluster-config", "cluster-config-infra"),
        now="2026-01-01T00:00:00Z",
    )
    assert entry["complianceState"] == "Compliant"
    assert entry["appliedBy"] == {"namespace": "cluster-config", "name": "cluster-config-infra"}
    assert entry["helmReleaseProperties"]["lastRevisionApplied"] == 3
    assert entry["statusConditions"][0]["reason"] == "InstallSucceeded"


def test_status_entry_of_a_missing_object_is_pending() -> None:
    entry = status_entry("v1", "Kustomization", "ns", "k", None, now="2026-01-01T00:00:00Z")
    assert (entry["complianceState"], entry["statusConditions"]) == ("Pending", [])
    assert "appliedBy" not in entry


def fluxconfig(generation: int, observed: int | None, state: str = "", error: str = "") -> Any:
    """A FluxConfig with the status the reconciler writes."""
    status: dict[str, Any] = {"complianceState": state, "errorMessage": error}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"metadata": {"name": "c", "generation": generation}, "status": status}


def test_configuration_pending_until_the_reconciler_observed_it() -> None:
    state = configuration_compliance(
        fluxconfig(2, 1, "Compliant"), [flux("GitRepository", "r", "True")], reconciler=True
    )
    assert state.state == "Pending"
    assert state.message.startswith("FluxConfig/c: not reconciled yet by the reconciler")


def test_configuration_non_compliant_from_the_reconciler_message() -> None:
    state = configuration_compliance(
        fluxconfig(1, 1, "Non-Compliant", "spec.url: must be a URL"), [], reconciler=True
    )
    assert (state.state, state.message) == (
        "Non-Compliant",
        "FluxConfig/c: spec.url: must be a URL",
    )


def test_configuration_non_compliant_from_a_failing_helm_release() -> None:
    failing = {
        **HELM_RELEASE,
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "InstallFailed", "message": "boom"}
            ],
        },
    }
    state = configuration_compliance(
        fluxconfig(1, 1, "Compliant"),
        [flux("GitRepository", "r", "True"), failing],
        reconciler=True,
    )
    assert (state.state, state.message) == (
        "Non-Compliant",
        "HelmRelease/podinfo: InstallFailed: boom",
    )


def test_configuration_without_reconciler_ignores_the_fluxconfig() -> None:
    state = configuration_compliance(None, [flux("GitRepository", "r", "True")], reconciler=False)
    assert state.state == "Compliant"

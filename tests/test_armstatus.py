"""ARM fluxConfigurations GET bodies mapped to status documents and roll-up observations."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fluxgitops.armstatus import (
    READ_FROM_ARM,
    arm_observation,
    arm_status_document,
    compliance,
    parse_time,
)
from fluxgitops.rollup import STALE, cluster_verdict
from fluxgitops.status import COMPLIANT, NON_COMPLIANT, PENDING, SUSPENDED, UNKNOWN

DATA = Path(__file__).parent / "testdata" / "armstatus"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return loaded


@pytest.fixture
def compliant() -> dict[str, Any]:
    """The AKS body: Git source, a Kustomization and a HelmRelease, all Compliant."""
    return _body("compliant")


@pytest.fixture
def noncompliant() -> dict[str, Any]:
    """The Arc body whose ``apps`` Kustomization fails to build."""
    return _body("noncompliant")


def test_compliant_body_maps_to_the_kubernetes_document_shape(compliant: dict[str, Any]) -> None:
    doc = arm_status_document("aks-prod", "flux-system", "platform", compliant)
    assert set(doc) >= {
        "cluster",
        "namespace",
        "name",
        "complianceState",
        "message",
        "source",
        "sourceSyncedCommitId",
        "statuses",
        "appliedObjects",
    }
    assert doc["complianceState"] == COMPLIANT
    assert doc["message"] == ""
    assert doc["readFrom"] == READ_FROM_ARM
    assert doc["sourceSyncedCommitId"] == "4b1e8c3a2f6d9e0b7c5a1d2e3f4a5b6c7d8e9f01"
    assert doc["source"]["url"] == "https://github.com/contoso/platform"
    assert doc["source"]["reason"] == "Succeeded"
    assert [f"{e['kind']}/{e['name']}" for e in doc["statuses"]] == [
        "GitRepository/platform",
        "Kustomization/platform-infra",
        "HelmRelease/ingress-nginx",
    ]


def test_helm_release_properties_and_applied_by_are_kept(compliant: dict[str, Any]) -> None:
    doc = arm_status_document("aks-prod", "flux-system", "platform", compliant)
    helm = doc["statuses"][2]
    assert helm["appliedBy"] == {"namespace": "flux-system", "name": "platform-infra"}
    assert helm["helmReleaseProperties"]["lastRevisionApplied"] == 3
    assert helm["helmReleaseProperties"]["helmChartRef"] == {
        "name": "ingress-ingress-nginx",
        "namespace": "flux-system",
    }
    assert [c["type"] for c in helm["statusConditions"]] == ["Ready", "Released"]


def test_non_compliant_message_names_the_failing_object(noncompliant: dict[str, Any]) -> None:
    state, message = compliance(noncompliant, "apps/apps")
    assert state == NON_COMPLIANT
    assert message.startswith("Kustomization/apps-apps: kustomize build failed:")


def test_error_message_explains_the_state_when_arm_gives_one(
    noncompliant: dict[str, Any],
) -> None:
    noncompliant["properties"]["errorMessage"] = "GitRepository apps: authentication required"
    assert compliance(noncompliant, "apps/apps") == (
        NON_COMPLIANT,
        "GitRepository apps: authentication required",
    )


def test_failed_provisioning_is_non_compliant_not_pending(compliant: dict[str, Any]) -> None:
    props = compliant["properties"]
    props.update(
        provisioningState="Failed", complianceState="Pending", errorMessage="extension missing"
    )
    assert compliance(compliant, "x") == (
        NON_COMPLIANT,
        "provisioningState Failed: extension missing",
    )


def test_pending_without_statuses_says_the_agent_has_not_reported(
    compliant: dict[str, Any],
) -> None:
    props = compliant["properties"]
    props.update(complianceState="Pending", statuses=[], provisioningState="Creating")
    state, message = compliance(compliant, "x")
    assert state == PENDING
    assert message.startswith("provisioningState Creating;")


def test_suspended_configuration_says_so(compliant: dict[str, Any]) -> None:
    compliant["properties"].update(complianceState="Suspended", suspend=True)
    assert compliance(compliant, "x") == (
        SUSPENDED,
        "reconciliation is suspended (suspend: true)",
    )


def test_unknown_compliance_word_is_unknown_and_quoted(compliant: dict[str, Any]) -> None:
    compliant["properties"]["complianceState"] = "Partial"
    state, message = compliance(compliant, "fluxConfiguration flux-system/platform")
    assert state == UNKNOWN
    assert message == (
        "fluxConfiguration flux-system/platform: complianceState 'Partial' is not one of "
        "Compliant, Non-Compliant, Pending, Suspended, Unknown"
    )


def test_flattened_invoke_body_maps_like_the_rest_body(compliant: dict[str, Any]) -> None:
    flat = copy.deepcopy(compliant["properties"])
    assert arm_status_document("c", "n", "platform", flat) == arm_status_document(
        "c", "n", "platform", compliant
    )


def test_observation_carries_status_updated_at(compliant: dict[str, Any]) -> None:
    obs = arm_observation("aks-prod", "flux-system", "platform", compliant, "platform")
    assert obs.configuration == "flux-system/platform"
    assert obs.state == COMPLIANT
    assert obs.fleet == "platform"
    assert obs.reported_at == datetime(2026, 12, 2, 8, 59, 45, 123456, tzinfo=UTC)


def test_stale_status_updated_at_makes_the_cluster_stale() -> None:
    obs = arm_observation("arc-store-40", "flux-system", "platform", _body("stale"))
    verdict = cluster_verdict("arc-store-40", [obs], now=NOW)
    assert verdict.state == STALE
    assert verdict.message.startswith("no status report for 75 h (more than 48 h)")


def test_non_compliant_observation_decides_the_verdict(noncompliant: dict[str, Any]) -> None:
    obs = arm_observation("arc-store-12", "apps", "apps", noncompliant)
    verdict = cluster_verdict("arc-store-12", [obs], now=NOW)
    assert verdict.state == NON_COMPLIANT
    assert verdict.configuration == "apps/apps"
    assert verdict.message.startswith("Kustomization/apps-apps: kustomize build failed")


def test_timestamp_without_zone_or_garbage_is_not_a_report_time() -> None:
    assert parse_time("2026-12-02T08:00:00") is None
    assert parse_time("yesterday") is None
    assert parse_time(None) is None
    assert parse_time("2026-12-02T08:00:00Z") == datetime(2026, 12, 2, 8, tzinfo=UTC)


def test_stale_document_keeps_arms_state_and_says_it_is_stale() -> None:
    doc = arm_status_document("arc-store-40", "flux-system", "platform", _body("stale"), NOW)
    assert (doc["complianceState"], doc["stale"]) == (COMPLIANT, True)
    assert doc["message"].startswith("no status report for 75 h (more than 48 h)")


def test_fresh_document_is_not_stale(compliant: dict[str, Any]) -> None:
    doc = arm_status_document("aks-prod", "flux-system", "platform", compliant, NOW)
    assert (doc["stale"], doc["message"]) == (False, "")

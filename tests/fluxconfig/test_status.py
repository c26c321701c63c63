"""The FluxConfig status: compliance, conditions, per-object statuses, stale keys."""

from __future__ import annotations

from fluxgitops.fluxconfig.status import (
    Outcome,
    build_status,
    flux_keys,
    stale_keys,
    status_changed,
)
from fluxgitops.fluxconfig.vocabulary import (
    REASON_FAILED,
    REASON_INVALID,
    REASON_PROGRESSING,
    REASON_SUCCEEDED,
)
from fluxgitops.manifest import ObjectKey
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration
from tests.fluxconfig.support import NOW, flux_object

LATER = "2026-01-01T00:05:00Z"


def test_status_moves_pending_compliant_non_compliant() -> None:
    key = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "n", "k")
    applied = Outcome("applied", 3, applied=4)
    pending = build_status(None, outcome=applied, flux=[(key, None)], now=NOW)
    ready = {c["type"]: c for c in pending["conditions"]}
    assert pending["complianceState"] == "Pending"
    assert (ready["Ready"]["status"], ready["Ready"]["reason"]) == ("Unknown", REASON_PROGRESSING)
    assert pending["observedGeneration"] == 3

    compliant = build_status(pending, outcome=applied, flux=[(key, flux_object("True"))], now=LATER)
    ready = {c["type"]: c for c in compliant["conditions"]}
    assert compliant["complianceState"] == "Compliant"
    assert (ready["Ready"]["status"], ready["Ready"]["reason"]) == ("True", REASON_SUCCEEDED)
    assert ready["Ready"]["lastTransitionTime"] == LATER
    assert compliant["statuses"][0]["statusConditions"][0]["type"] == "Ready"

    same = build_status(
        compliant, outcome=applied, flux=[(key, flux_object("True"))], now="2027-01-01T00:00:00Z"
    )
    assert not status_changed(compliant, same)
    assert same["statusUpdatedAt"] == compliant["statusUpdatedAt"]

    failing = flux_object("False", reason="BuildFailed", message="kustomize build failed")
    broken = build_status(compliant, outcome=applied, flux=[(key, failing)], now=LATER)
    ready = {c["type"]: c for c in broken["conditions"]}
    assert broken["complianceState"] == "Non-Compliant"
    assert broken["errorMessage"] == "Kustomization/k: BuildFailed: kustomize build failed"
    assert (ready["Ready"]["status"], ready["Ready"]["reason"]) == ("False", REASON_FAILED)


def test_status_non_compliant_for_a_source_that_never_fetched() -> None:
    key = ObjectKey("source.toolkit.fluxcd.io/v1", "GitRepository", "n", "r")
    source = {
        "kind": "GitRepository",
        "metadata": {"name": "r", "namespace": "n", "generation": 1},
        "status": {
            "observedGeneration": -1,
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "GitOperationFailed", "message": "x"}
            ],
        },
    }
    status = build_status(
        None, outcome=Outcome("applied", 1, applied=3), flux=[(key, source)], now=NOW
    )
    assert status["complianceState"] == "Non-Compliant"
    assert status["errorMessage"] == "GitRepository/r: GitOperationFailed: x"


def test_status_lists_applied_helm_releases_with_applied_by() -> None:
    key = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "n", "k")
    release = ObjectKey("helm.toolkit.fluxcd.io/v2", "HelmRelease", "n", "web")
    failing = {
        "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "n", "generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed"}],
            "installFailures": 2,
        },
    }
    status = build_status(
        None,
        outcome=Outcome("applied", 1, applied=3),
        flux=[(key, flux_object("True"))],
        deployed=[(release, failing, ("n", "k"))],
        now=NOW,
    )
    assert status["complianceState"] == "Non-Compliant"
    entry = status["statuses"][1]
    assert (entry["kind"], entry["appliedBy"]) == ("HelmRelease", {"namespace": "n", "name": "k"})
    assert entry["helmReleaseProperties"]["installFailureCount"] == 2


def test_invalid_outcome_is_stalled() -> None:
    status = build_status(
        None, outcome=Outcome("invalid", 2, "FluxConfig a/b is invalid"), flux=[], now=NOW
    )
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Stalled"]["status"] == "True"
    assert conditions["Stalled"]["reason"] == REASON_INVALID
    assert status["errorMessage"] == "FluxConfig a/b is invalid"


def test_stale_keys_keep_the_protected_secret() -> None:
    a, b, c = (ObjectKey("v1", "Secret", "n", x) for x in "abc")
    assert stale_keys([a, b, c], [a], keep=[c]) == [b]
    manifests = render_configuration(
        parse_configuration({"name": "x", "gitRepository": {"url": "https://h/r"}})
    )
    assert [k.kind for k in flux_keys(manifests)] == ["GitRepository", "Kustomization"]

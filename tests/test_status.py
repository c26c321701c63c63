"""Compliance aggregation and the condition helper, in Flux's vocabulary."""

from __future__ import annotations

from typing import Any

from fluxgitops.status import compliance, set_condition, synced_commit


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


def test_pending_until_reconciled() -> None:
    state = compliance([flux("GitRepository", "r"), flux("Kustomization", "k", "True")])
    assert state.state == "Pending"
    assert state.message.startswith("GitRepository/r: not reconciled yet")


def test_pending_when_generation_not_observed() -> None:
    assert (
        compliance([flux("Kustomization", "k", "True", generation=2, observed=1)]).state
        == "Pending"
    )


def test_compliant_when_every_object_is_ready() -> None:
    state = compliance([flux("GitRepository", "r", "True"), flux("Kustomization", "k", "True")])
    assert (state.state, state.message) == ("Compliant", "every object is Ready")


def test_non_compliant_names_the_failing_object() -> None:
    state = compliance(
        [
            flux("GitRepository", "r", "True"),
            flux(
                "Kustomization",
                "k",
                "False",
                reason="BuildFailed",
                message="kustomization path not found",
            ),
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

"""Fleet compliance roll-up rules: per-cluster verdicts, counts, staleness, exit codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fluxgitops.rollup import (
    EXIT_ALL_COMPLIANT,
    EXIT_NOT_COMPLIANT,
    STACK_CLUSTERS,
    STALE,
    UNREACHABLE,
    Observation,
    cluster_verdict,
    exit_code,
    fleet_rollup,
)
from fluxgitops.status import COMPLIANT, NON_COMPLIANT, PENDING

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _obs(cluster: str, state: str = COMPLIANT, message: str = "", **kw: object) -> Observation:
    return Observation(cluster, "cluster-config/platform", state, message, "platform", **kw)  # type: ignore[arg-type]


def test_all_compliant_counts_every_cluster_and_exits_zero() -> None:
    (rollup,) = fleet_rollup(
        {"platform": ["a", "b", "c"]}, [_obs("a"), _obs("b"), _obs("c")], now=NOW
    )
    assert rollup.headline() == "fleet platform: 3 of 3 clusters Compliant"
    assert rollup.problems == []
    assert exit_code([rollup]) == EXIT_ALL_COMPLIANT


def test_non_compliant_and_unreachable_are_listed_worst_first() -> None:
    observations = [
        _obs("a"),
        _obs("b", NON_COMPLIANT, "Kustomization/platform-apps: kustomize build failed"),
        _obs("c", PENDING, "GitRepository/platform: not created yet", reachable=False),
    ]
    (rollup,) = fleet_rollup({"platform": ["a", "b", "c"]}, observations, now=NOW)
    assert rollup.headline() == "fleet platform: 1 of 3 clusters Compliant"
    assert [(p.cluster, p.state) for p in rollup.problems] == [
        ("c", UNREACHABLE),
        ("b", NON_COMPLIANT),
    ]
    assert rollup.problems[1].message.startswith("Kustomization/platform-apps: kustomize")
    assert exit_code([rollup]) == EXIT_NOT_COMPLIANT


def test_cluster_not_reported_for_longer_than_threshold_is_stale() -> None:
    old = NOW - timedelta(hours=49)
    verdict = cluster_verdict("a", [_obs("a", reported_at=old)], now=NOW)
    assert verdict.state == STALE
    assert verdict.message.startswith("no status report for 49 h (more than 48 h)")


def test_stale_threshold_is_configurable() -> None:
    recent = NOW - timedelta(minutes=30)
    obs = [_obs("a", reported_at=recent)]
    assert cluster_verdict("a", obs, now=NOW).state == COMPLIANT
    assert cluster_verdict("a", obs, now=NOW, stale_after=timedelta(minutes=10)).state == STALE


def test_non_compliant_wins_over_stale() -> None:
    old = NOW - timedelta(days=3)
    verdict = cluster_verdict("a", [_obs("a", NON_COMPLIANT, "bad", reported_at=old)], now=NOW)
    assert (verdict.state, verdict.message) == (NON_COMPLIANT, "bad")


def test_cluster_without_observation_is_unknown_not_compliant() -> None:
    (rollup,) = fleet_rollup({"platform": ["a", "b"]}, [_obs("a")], now=NOW)
    assert [(p.cluster, p.state) for p in rollup.problems] == [("b", "Unknown")]


def test_configurations_without_fleet_are_their_own_group() -> None:
    loose = Observation("k1", "team-a/team-a", COMPLIANT, "")
    rollups = fleet_rollup({"platform": ["a"]}, [_obs("a"), loose], now=NOW)
    assert [r.fleet for r in rollups] == ["platform", STACK_CLUSTERS]
    assert rollups[1].to_json()["clusters"] == [
        {"cluster": "k1", "state": COMPLIANT, "configuration": "", "message": ""}
    ]

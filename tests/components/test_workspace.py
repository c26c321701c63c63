"""``components.workspace``: which stacks write their state once per run, the pinned CLI
version, and the environment every run gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.workspace import (
    PARALLEL_DIFF,
    SKIP_CHECKPOINTS,
    checkpoint_environment,
    pulumi_environment,
)
from fluxgitops.local.toolchain import pinned_version, version_of


def stack(tmp_path: Path, config: dict[str, Any]) -> Path:
    """``Pulumi.s.yaml`` holding ``config``."""
    path = tmp_path / "Pulumi.s.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


@pytest.fixture(autouse=True)
def no_user_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' environment has no ``PULUMI_SKIP_CHECKPOINTS`` of its own."""
    monkeypatch.delenv(SKIP_CHECKPOINTS, raising=False)


def test_kubernetes_clusters_skip_checkpoints(tmp_path: Path) -> None:
    clusters = [{"name": "a"}, {"name": "b", "backend": "kubernetes"}]
    path = stack(tmp_path, {"fluxgitops:clusters": clusters})
    assert checkpoint_environment(path) == {SKIP_CHECKPOINTS: "true"}


def test_azure_cluster_keeps_checkpoints(tmp_path: Path) -> None:
    clusters = [{"name": "a"}, {"name": "b", "backend": "azure"}]
    assert checkpoint_environment(stack(tmp_path, {"fluxgitops:clusters": clusters})) == {}


def test_policy_fleet_keeps_checkpoints(tmp_path: Path) -> None:
    config = {
        "fluxgitops:clusters": [{"name": "a"}],
        "fluxgitops:fleets": [{"name": "f", "policy": {"scope": "/subscriptions/x"}}],
    }
    assert checkpoint_environment(stack(tmp_path, config)) == {}


def test_fleet_without_policy_skips_checkpoints(tmp_path: Path) -> None:
    config = {"fluxgitops:clusters": [{"name": "a"}], "fluxgitops:fleets": [{"name": "f"}]}
    assert checkpoint_environment(stack(tmp_path, config)) == {SKIP_CHECKPOINTS: "true"}


def test_malformed_stack_keeps_checkpoints(tmp_path: Path) -> None:
    assert checkpoint_environment(stack(tmp_path, {"fluxgitops:clusters": "a"})) == {}
    assert checkpoint_environment(stack(tmp_path, {"fluxgitops:clusters": []})) == {}


def test_user_choice_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SKIP_CHECKPOINTS, "false")
    assert checkpoint_environment(stack(tmp_path, {"fluxgitops:clusters": [{"name": "a"}]})) == {}


def test_pinned_version_is_the_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUXGITOPS_PULUMI", raising=False)
    assert pinned_version("pulumi") == version_of("pulumi")


def test_pinned_version_unknown_for_another_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXGITOPS_PULUMI", "/opt/pulumi/bin/pulumi")
    assert pinned_version("pulumi") is None


def test_diffs_run_in_parallel_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PARALLEL_DIFF, raising=False)
    assert pulumi_environment("local")[PARALLEL_DIFF] == "true"


def test_parallel_diff_user_choice_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PARALLEL_DIFF, "false")
    assert pulumi_environment("local")[PARALLEL_DIFF] == "false"

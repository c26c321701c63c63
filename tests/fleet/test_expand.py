"""Fleet templates in the stack config: selection, substitution, overrides, error paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fluxgitops.errors import SpecError
from fluxgitops.spec.fleet import FLEETS_KEY
from fluxgitops.stack import CONFIG_KEY, parse_stack
from fluxgitops_cli.app import app

STACKS_DIR = Path(__file__).parent.parent.parent / "stacks"


def _cluster(name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "labels": labels, "kubeconfig": f"~/.kube/{name}.yaml"}


def _azure(name: str, group: str, **tags: str) -> dict[str, Any]:
    return {
        "name": name,
        "labels": {"region": "weu"},
        "backend": "azure",
        "azure": {
            "resourceGroupName": group,
            "clusterName": f"aks-{name}",
            "subscriptionId": "00000000-0000-0000-0000-000000000001",
            "tags": tags,
        },
    }


TEMPLATE: dict[str, Any] = {
    "name": "platform",
    "namespace": "cluster-config",
    "gitRepository": {
        "url": "https://github.com/example/fleet-infra",
        "repositoryRef": {"branch": "main"},
    },
    "kustomizations": {
        "apps": {
            "path": "./apps/${cluster.labels.region}",
            "postBuild": {"substitute": {"cluster_name": "${cluster.name}"}},
        }
    },
}


@pytest.fixture
def five_clusters() -> list[dict[str, Any]]:
    """Five kubernetes clusters; three are env=prod (weu, neu, edge), two are env=dev."""
    return [
        _cluster("prod-weu", env="prod", region="weu"),
        _cluster("dev-weu", env="dev", region="weu"),
        _cluster("prod-neu", env="prod", region="neu"),
        _cluster("dev-neu", env="dev", region="neu"),
        _cluster("prod-edge", env="prod", region="edge"),
    ]


def _stack(clusters: list[dict[str, Any]], **fleet: Any) -> dict[str, Any]:
    body = {"name": "platform", "configurations": [TEMPLATE], **fleet}
    return {CONFIG_KEY: clusters, FLEETS_KEY: [body]}


def test_selector_matching_three_of_five_renders_exactly_those(
    five_clusters: list[dict[str, Any]],
) -> None:
    stack = parse_stack(_stack(five_clusters, selector={"matchLabels": {"env": "prod"}}))
    with_config = {c.name: c.configurations for c in stack.clusters if c.configurations}
    assert sorted(with_config) == ["prod-edge", "prod-neu", "prod-weu"]
    for name, region in (("prod-weu", "weu"), ("prod-neu", "neu"), ("prod-edge", "edge")):
        (spec,) = with_config[name]
        apps = spec.kustomizations["apps"]
        assert apps.path == f"apps/{region}"
        assert apps.post_build is not None
        assert apps.post_build.substitute == {"cluster_name": name}
    (members,) = stack.fleets
    assert members.clusters == ("prod-weu", "prod-neu", "prod-edge")
    origins = {c.name: c.origins for c in stack.clusters if c.configurations}
    assert set(origins.values()) == {("platform",)}


def test_match_expressions_select_by_set(five_clusters: list[dict[str, Any]]) -> None:
    selector = {"matchExpressions": [{"key": "region", "operator": "In", "values": ["neu"]}]}
    stack = parse_stack(_stack(five_clusters, selector=selector))
    assert stack.fleets[0].clusters == ("prod-neu", "dev-neu")


def test_bad_override_names_the_fleet_cluster_and_path(
    five_clusters: list[dict[str, Any]],
) -> None:
    overrides = {
        "prod-neu": {
            "configurations": {"platform": {"kustomizations": {"apps": {"prune": "sometimes"}}}}
        }
    }
    raw = _stack(five_clusters, selector={"matchLabels": {"env": "prod"}}, overrides=overrides)
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    assert info.value.paths == [
        "fleets.platform.clusters[prod-neu].configurations[0].kustomizations.apps.prune"
    ]
    assert "'sometimes'" in str(info.value)


def test_override_applies_to_one_cluster_only(five_clusters: list[dict[str, Any]]) -> None:
    overrides = {
        "prod-edge": {
            "configurations": {
                "platform": {"kustomizations": {"apps": {"path": "./apps/edge-special"}}}
            }
        }
    }
    raw = _stack(five_clusters, selector={"matchLabels": {"env": "prod"}}, overrides=overrides)
    paths = {
        c.name: c.configurations[0].kustomizations["apps"].path
        for c in parse_stack(raw).clusters
        if c.configurations
    }
    assert paths == {
        "prod-weu": "apps/weu",
        "prod-neu": "apps/neu",
        "prod-edge": "apps/edge-special",
    }


def test_override_for_unmatched_cluster_is_an_error(five_clusters: list[dict[str, Any]]) -> None:
    raw = _stack(
        five_clusters, selector={"matchLabels": {"env": "prod"}}, overrides={"dev-weu": {}}
    )
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    assert info.value.paths == ["fleets.platform.overrides.dev-weu"]
    assert "matched: prod-weu, prod-neu, prod-edge" in str(info.value)


def test_selector_matching_nothing_is_an_error(five_clusters: list[dict[str, Any]]) -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(five_clusters, selector={"matchLabels": {"env": "staging"}}))
    assert info.value.paths == ["fleets.platform.selector"]
    assert "matches none of the stack's 5 cluster(s)" in str(info.value)


def test_unknown_cluster_variable_names_path_and_allowed(
    five_clusters: list[dict[str, Any]],
) -> None:
    template = {**TEMPLATE, "kustomizations": {"apps": {"path": "./apps/${cluster.labels.regoin}"}}}
    raw = {
        CONFIG_KEY: five_clusters[:1],
        FLEETS_KEY: [{"name": "platform", "selector": {}, "configurations": [template]}],
    }
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    (error,) = info.value.errors
    assert (
        error.path
        == "fleets.platform.clusters[prod-weu].configurations[0].kustomizations.apps.path"
    )
    assert error.value == "'./apps/${cluster.labels.regoin}'"
    assert "cluster.labels.region" in error.message


def test_azure_selector_by_resource_group_and_tags() -> None:
    clusters = [
        _azure("a1", "rg-prod", fleet="platform"),
        _azure("a2", "rg-prod"),
        _azure("a3", "rg-dev", fleet="platform"),
        _cluster("k1", env="prod"),
    ]
    selector = {"resourceGroups": ["rg-prod"], "tags": {"fleet": "platform"}}
    stack = parse_stack(_stack(clusters, selector=selector))
    assert stack.fleets[0].clusters == ("a1",)


def test_fleet_configuration_clashing_with_cluster_one_is_an_error() -> None:
    cluster = {**_cluster("c1", env="prod", region="weu"), "configurations": [TEMPLATE]}
    with pytest.raises(SpecError) as info:
        parse_stack(_stack([cluster], selector={}))
    assert info.value.paths == ["fleets.platform.clusters[c1].configurations[0].name"]


def test_bad_selector_field_is_named() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack([_cluster("c1")], selector={"matchLabel": {"env": "prod"}}))
    assert info.value.paths == ["fleets.platform.selector.matchLabel"]


def test_prod_stack_is_one_fleet_over_four_clusters() -> None:
    raw = yaml.safe_load((STACKS_DIR / "Pulumi.prod.yaml").read_text())["config"]
    stack = parse_stack(raw)
    assert stack.fleets[0].clusters == ("prod-weu", "prod-neu", "store-0042", "onprem-1")
    paths = {c.name: c.configurations[0].kustomizations["apps"].path for c in stack.clusters}
    assert paths == {
        "prod-weu": "apps/production/westeurope",
        "prod-neu": "apps/production/northeurope",
        "store-0042": "apps/edge",
        "onprem-1": "apps/production/onprem",
    }


def test_fleet_show_prints_matched_clusters_and_policy_assignments() -> None:
    result = CliRunner().invoke(app, ["fleet", "show", str(STACKS_DIR / "Pulumi.prod.yaml")])
    assert result.exit_code == 0, result.output
    platform, retail = yaml.safe_load(result.stdout)
    assert platform["clusters"] == ["prod-weu", "prod-neu", "store-0042", "onprem-1"]
    apps = platform["expanded"]["prod-neu"][0]["kustomizations"]["apps"]
    assert apps["postBuild"]["substitute"] == {"cluster_name": "prod-neu", "cluster_tier": "core"}
    assert [a["assignment"] for a in retail["azurePolicy"]] == [
        "retail-flux-extension",
        "retail-store",
    ]


def test_fleet_show_resolves_a_stack_name_like_every_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(STACKS_DIR.parent / "examples")  # below the project's Pulumi.yaml
    result = CliRunner().invoke(app, ["fleet", "show", "-s", "prod"])
    assert result.exit_code == 0, result.output
    platform, _ = yaml.safe_load(result.stdout)
    assert platform["clusters"] == ["prod-weu", "prod-neu", "store-0042", "onprem-1"]


def test_fleet_status_of_a_missing_stack_says_so_before_reading_anything() -> None:
    result = CliRunner().invoke(app, ["fleet", "status", "-s", "nope"])
    assert result.exit_code == 1
    assert "stack 'nope': no file" in result.output

"""The typed stack config: the shipped stacks parse, errors carry their full location."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxgitops.errors import SpecError
from fluxgitops.stack import CONFIG_KEY, parse_stack

STACKS_DIR = Path(__file__).parent.parent / "stacks"
STACKS = sorted(STACKS_DIR.glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("path", STACKS, ids=[p.name for p in STACKS])
def test_shipped_stack_files_are_valid(path: Path) -> None:
    config = yaml.safe_load(path.read_text())["config"]
    stack = parse_stack(config)
    assert stack.clusters
    assert all(c.configurations for c in stack.clusters)


def test_local_stack_is_the_default_target() -> None:
    stack = parse_stack(yaml.safe_load((STACKS_DIR / "Pulumi.local.yaml").read_text())["config"])
    (cluster,) = stack.clusters
    assert (cluster.name, cluster.backend, cluster.mode) == ("local", "kubernetes", "external")


def _stack(*configurations: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    return {CONFIG_KEY: [{"name": "c1", "configurations": list(configurations), **cluster}]}


def test_configuration_errors_are_prefixed_with_their_location() -> None:
    raw = _stack(
        {"name": "ok", "gitRepository": {"url": "https://h/r"}},
        {"name": "bad", "gitRepository": {"url": "ftp://h/r"}},
    )
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    assert info.value.paths == ["clusters[c1].configurations[bad].gitRepository.url"]


def test_azure_backend_needs_cluster_coordinates() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(backend="azure"))
    assert info.value.paths == ["clusters[c1].azure"]
    assert info.value.errors[0].message.startswith("is required when backend is 'azure'")


def test_flux_bundle_outside_kubernetes_install_mode_is_rejected() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(mode="external", fluxBundle="./flux.yaml"))
    assert info.value.paths == ["clusters[c1].fluxBundle"]
    assert info.value.errors[0].message.startswith(
        "is only used with backend 'kubernetes' and mode 'install'"
    )
    assert info.value.errors[0].value == "'./flux.yaml'"


def test_duplicate_configuration_in_a_namespace() -> None:
    body = {"name": "same", "gitRepository": {"url": "https://h/r"}}
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(body, body))
    assert info.value.paths == ["clusters[c1].configurations[1].name"]


def test_extension_errors_are_prefixed() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(extension={"multiTenancy": {"enforce": "maybe"}}))
    assert info.value.paths == ["clusters[c1].extension.multiTenancy.enforce"]


def test_missing_clusters_key() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack({})
    assert info.value.paths == [CONFIG_KEY]


def test_azure_cluster_rejects_what_arm_cannot_express() -> None:
    raw = _stack(
        {
            "name": "oci",
            "sourceKind": "OCIRepository",
            "ociRepository": {
                "url": "oci://r/x",
                "repositoryRef": {"semver": ">=1.0.0", "semverFilter": ".*"},
            },
        },
        backend="azure",
        azure={"resourceGroupName": "rg", "clusterName": "aks"},
        extension={"controllers": {"kustomize": {"tuning": {"concurrent": 5}}}},
    )
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    assert info.value.paths == [
        "clusters[c1].configurations[oci].ociRepository.repositoryRef.semverFilter",
        "clusters[c1].extension.controllers.kustomize.tuning.concurrent",
    ]


def test_local_stack_points_at_the_local_git_server() -> None:
    raw = yaml.safe_load((STACKS_DIR / "Pulumi.local.yaml").read_text())["config"]
    stack = parse_stack(raw, placeholders={"local.git": "http://127.0.0.1:1234"})
    urls = {
        s.name: s.git_repository.url for s in stack.clusters[0].configurations if s.git_repository
    }
    assert urls == {
        "cluster-config": "http://127.0.0.1:1234/gitops.git",
        "team-a": "http://127.0.0.1:1234/gitops.git",
    }
    assert stack.clusters[0].extension.reconciler.enabled


def test_placeholder_defaults_to_the_fixed_git_port() -> None:
    raw = _stack({"name": "a", "gitRepository": {"url": "${local.git}/r.git"}})
    spec = parse_stack(raw).clusters[0].configurations[0]
    assert spec.git_repository is not None
    assert spec.git_repository.url == "http://127.0.0.1:8479/r.git"


def test_unknown_placeholder_is_left_for_validation_to_name() -> None:
    raw = _stack({"name": "a", "gitRepository": {"url": "${nope}/r.git"}})
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    assert info.value.paths == ["clusters[c1].configurations[a].gitRepository.url"]


def test_ssh_without_key_and_reconciler_off_names_the_field() -> None:
    raw = _stack(
        {"name": "a", "gitRepository": {"url": "ssh://git@h/r.git"}},
        extension={"reconciler": {"enabled": False}},
    )
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    (error,) = info.value.errors
    assert error.path == "clusters[c1].configurations[a].gitRepository.sshPrivateKey"
    assert error.message.startswith("is required for an ssh:// URL when the reconciler is off")
    assert error.value == "'ssh://git@h/r.git'"


def test_ssh_without_key_is_fine_with_the_reconciler() -> None:
    raw = _stack({"name": "a", "gitRepository": {"url": "ssh://git@h/r.git"}})
    assert parse_stack(raw).clusters[0].extension.reconciler.enabled


def test_mistyped_backend_does_not_hide_the_clusters_other_errors() -> None:
    raw = _stack({"name": "web", "gitRepository": {"url": "ftp://h/r"}}, backend="kubernets")
    with pytest.raises(SpecError) as info:
        parse_stack(raw)
    assert info.value.paths == [
        "clusters[c1].backend",
        "clusters[c1].configurations[web].gitRepository.url",
    ]


def test_items_without_a_unique_name_keep_their_index() -> None:
    body = {"name": "same", "gitRepository": {"url": "ftp://h/r"}}
    with pytest.raises(SpecError) as info:
        parse_stack({"clusters": [{"configurations": [body, body]}]})
    assert "clusters[0].name" in info.value.paths
    assert "clusters[0].configurations[1].gitRepository.url" in info.value.paths

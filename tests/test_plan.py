"""The plan printers: snapshot tests of text and Markdown, JSON shape, exit codes."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from fluxgitops.diff import ManifestDiff, diff_manifests
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.plan import (
    LiveReader,
    Plan,
    build_plan,
    stack_plan,
    to_json,
    to_markdown,
    to_text,
)
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.stack import Cluster, parse_stack

OLD_TOKEN, NEW_TOKEN = "ghp_old-token-0000", "ghp_new-token-1111"
SNAPSHOTS = Path(__file__).parent / "testdata" / "plan"


def _raw(token: str) -> dict[str, Any]:
    return {
        "name": "web",
        "namespace": "apps",
        "gitRepository": {"url": "https://h/r.git", "httpsUser": "bot", "httpsKey": token},
        "kustomizations": {
            "infra": {"path": "infra"},
            "apps": {"path": "apps", "dependsOn": ["infra"]},
        },
    }


@pytest.fixture
def plan() -> Plan:
    """A change (interval), an addition (monitoring), a removal (apps) and a changed secret."""
    old = _raw(OLD_TOKEN)
    new = copy.deepcopy(old)
    new["gitRepository"]["httpsKey"] = NEW_TOKEN
    new["kustomizations"]["infra"]["syncInterval"] = "5m"
    del new["kustomizations"]["apps"]
    new["kustomizations"]["monitoring"] = {"path": "monitoring"}
    diff = diff_manifests(
        render_configuration(parse_configuration(old)),
        render_configuration(parse_configuration(new)),
    )
    same = render_configuration(parse_configuration({**_raw(OLD_TOKEN), "name": "same"}))
    return build_plan(
        [("prod", "apps/web", diff), ("prod", "apps/same", diff_manifests(same, same))]
    )


def test_text_snapshot(plan: Plan, golden: Callable[[Path, str], None]) -> None:
    golden(SNAPSHOTS / "plan.txt", to_text(plan))


def test_markdown_snapshot(plan: Plan, golden: Callable[[Path, str], None]) -> None:
    golden(SNAPSHOTS / "plan.md", to_markdown(plan))


def test_secret_values_never_printed(plan: Plan) -> None:
    for text in (to_text(plan), to_markdown(plan), repr(to_json(plan))):
        assert OLD_TOKEN not in text
        assert NEW_TOKEN not in text
    assert '~ data.password: "[secret]" → "[secret]"' in to_text(plan)


def test_counts_and_exit_code(plan: Plan) -> None:
    assert plan.counts() == {"create": 1, "update": 2, "delete": 1}  # FluxConfig folded
    assert plan.exit_code == 2
    assert to_json(plan)["configurations"][0]["changes"][0]["action"] == "create"


def test_no_changes_exit_code_zero() -> None:
    empty = build_plan([("prod", "apps/web", diff_manifests([], []))])
    assert empty.exit_code == 0
    assert to_text(empty) == "No changes. The clusters match the configuration.\n"


class DictReader:
    """A cluster's objects held in a dict, for the pure plan logic (the Kubernetes reader is
    tested against a real API server in ``tests/cli/test_plan_cli.py``)."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = {Manifest(o).key: o for o in objects}

    def read(self, keys: Any) -> Mapping[ObjectKey, Mapping[str, Any] | None]:
        return {k: self.objects.get(k) for k in keys}

    def owned(self, namespace: str, configuration: str) -> list[Mapping[str, Any]]:
        return [
            o
            for k, o in self.objects.items()
            if k.namespace == namespace
            and o["metadata"].get("labels", {}).get("fluxgitops.io/configuration") == configuration
        ]

    def configurations(self, namespaces: Any) -> list[tuple[str, str]]:
        return [
            (k.namespace, k.name)
            for k in self.objects
            if k.kind == "FluxConfig" and k.namespace in namespaces
        ]


def _stack(*configurations: dict[str, Any], reconciler: bool = True) -> Any:
    return parse_stack(
        {
            "clusters": [
                {
                    "name": "c1",
                    "extension": {"reconciler": {"enabled": reconciler}},
                    "configurations": list(configurations),
                }
            ]
        }
    )


def _applied(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [m.to_dict() for m in render_configuration(parse_configuration(raw))]


def _plan(stack: Any, live: list[dict[str, Any]], recorded: Any = None) -> Plan:
    def reader_for(_cluster: Cluster) -> LiveReader:
        return DictReader(live)

    return stack_plan(stack, reader_for, "t", recorded)


def _diff(plan: Plan, configuration: str) -> ManifestDiff:
    return next(c.diff for c in plan.configurations if c.configuration == configuration)


def test_removed_configuration_shows_as_deletions() -> None:
    web, api = _raw(OLD_TOKEN), {**_raw(OLD_TOKEN), "name": "api"}
    plan = _plan(_stack(web), _applied(web) + _applied(api))
    removed = next(c for c in plan.configurations if c.configuration == "apps/api")
    assert removed.removed
    assert {str(c.key) for c in removed.diff.of("delete")} >= {
        "GitRepository apps/api",
        "Kustomization apps/api-apps",
        "FluxConfig apps/api",
    }
    assert _diff(plan, "apps/web").empty
    assert plan.exit_code == 2
    assert "cluster c1 · configuration apps/api (removed from the stack)" in to_text(plan)


def test_removed_configuration_from_pulumi_state_outside_the_stack_namespaces() -> None:
    web = _raw(OLD_TOKEN)
    other = {**_raw(OLD_TOKEN), "name": "other", "namespace": "elsewhere"}
    live = _applied(web) + _applied(other)
    assert not _plan(_stack(web), live).changed  # not in the stack's namespaces: not ours
    plan = _plan(_stack(web), live, {"c1": [("apps", "web"), ("elsewhere", "other")]})
    assert [c.configuration for c in plan.configurations if c.removed] == ["elsewhere/other"]


def test_reconciler_generated_ssh_key_is_not_removed() -> None:
    ssh = {"name": "sshcfg", "gitRepository": {"url": "ssh://git@h/r.git"}}
    generated = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "sshcfg-auth",
            "namespace": "default",
            "labels": {"fluxgitops.io/configuration": "sshcfg"},
        },
        "data": {"identity": "c2VjcmV0"},
    }
    plan = _plan(_stack(ssh), [*_applied(ssh), generated])
    assert plan.exit_code == 0, to_text(plan)


def test_generated_ssh_key_without_reconciler_is_a_stale_object() -> None:
    raw = {"name": "https", "gitRepository": {"url": "https://h/r.git"}}
    stale = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "https-auth",
            "namespace": "default",
            "labels": {"fluxgitops.io/configuration": "https"},
        },
        "data": {"password": "c2VjcmV0"},
    }
    plan = _plan(_stack(raw), [*_applied(raw), stale])
    assert [str(c.key) for c in _diff(plan, "default/https").of("delete")] == [
        "Secret default/https-auth"
    ]
    assert "c2VjcmV0" not in to_text(plan)


def test_created_objects_show_their_fields() -> None:
    plan = _plan(_stack(_raw(OLD_TOKEN)), [])
    text = to_text(plan)
    assert "+ Kustomization apps/web-apps" in text
    assert '+ spec.path: "./apps"' in text
    assert OLD_TOKEN not in text


def test_deleting_a_pruning_kustomization_is_flagged_destructive() -> None:
    old = copy.deepcopy(_raw(OLD_TOKEN))
    old["kustomizations"]["apps"]["prune"] = True
    new = copy.deepcopy(old)
    del new["kustomizations"]["apps"]
    plan = _plan(_stack(new), _applied(old))
    assert "- Kustomization apps/web-apps  (destructive: prune: true" in to_text(plan)
    assert plan.destructive == 1
    assert summary_line(plan).endswith("1 to delete (1 destructive).")


def summary_line(plan: Plan) -> str:
    return to_text(plan).splitlines()[-1]


def test_long_values_are_wrapped_not_cut() -> None:
    raw = _raw(OLD_TOKEN)
    raw["kustomizations"]["apps"]["path"] = "apps/" + "x" * 120
    text = to_text(_plan(_stack(raw), []), width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    assert "x" * 60 in text.replace("\n", "")


def test_markdown_markers_in_column_zero_and_stack_named() -> None:
    old = _raw(OLD_TOKEN)
    new = copy.deepcopy(old)
    new["kustomizations"]["infra"]["path"] = "infra2"
    md = to_markdown(_plan(_stack(new), _applied(old)))
    assert md.startswith("### fluxgitops plan · stack `t`")
    block = md.split("```diff\n", 1)[1].split("```", 1)[0].splitlines()
    assert block == [
        "~ Kustomization apps/web-infra",
        '-     spec.path: "./infra"',
        '+     spec.path: "./infra2"',
    ]


def test_azure_cluster_is_a_note_not_a_silent_skip() -> None:
    stack = parse_stack(
        {
            "clusters": [
                {
                    "name": "aks",
                    "backend": "azure",
                    "azure": {"resourceGroupName": "rg", "clusterName": "aks"},
                }
            ]
        }
    )
    plan = _plan(stack, [])
    assert plan.notes == (
        "cluster 'aks': backend 'azure' is not planned here; `fluxgitops preview` shows its "
        "ARM changes",
    )

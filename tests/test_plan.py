"""The plan printers: snapshot tests of text and Markdown, JSON shape, exit codes."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from fluxgitops.diff import ManifestDiff, diff_manifests
from fluxgitops.fluxconfig.ownership import with_inventory
from fluxgitops.kinds import PLANNED_KINDS
from fluxgitops.plan import (
    EVERYWHERE,
    LiveReader,
    Plan,
    Snapshot,
    build_plan,
    stack_plan,
    to_json,
    to_markdown,
    to_text,
)
from fluxgitops.render import render_configuration
from fluxgitops.render.manifest import Manifest, ObjectKey
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
    tested against a real API server in ``tests/kube/test_live.py``)."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = {Manifest(o).key: o for o in objects}
        self.read_keys: list[ObjectKey] = []

    def snapshot(self, namespaces: Sequence[str]) -> Snapshot:
        listed = frozenset(
            (k.api_version, k.kind, ns)
            for k in PLANNED_KINDS
            for ns in (namespaces if k.namespaced else [EVERYWHERE])
        )
        snap = Snapshot({}, listed)
        return Snapshot({k: o for k, o in self.objects.items() if snap.covers(k)}, listed)

    def read(self, keys: Any) -> Mapping[ObjectKey, Mapping[str, Any] | None]:
        self.read_keys += keys
        return {k: self.objects.get(k) for k in keys}


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


def _with_inventory(fluxconfig: dict[str, Any], keys: list[ObjectKey]) -> dict[str, Any]:
    return {**fluxconfig, "status": with_inventory({}, keys)}


def _unlabelled(raw: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """A rendered object of ``raw`` renamed and stripped of its labels: only an inventory can
    say it is the configuration's."""
    body = next(o for o in _applied(raw) if o["kind"] == kind)
    return {**body, "metadata": {"name": name, "namespace": body["metadata"]["namespace"]}}


def _fluxconfig_with(raw: dict[str, Any], keys: list[ObjectKey]) -> list[dict[str, Any]]:
    return [_with_inventory(o, keys) if o["kind"] == "FluxConfig" else o for o in _applied(raw)]


def test_inventory_object_no_longer_rendered_is_a_deletion() -> None:
    web = _raw(OLD_TOKEN)
    old = _unlabelled(web, "Kustomization", "web-old")
    live = [*_fluxconfig_with(web, [Manifest(old).key]), old]
    plan = _plan(_stack(web), live)
    assert [str(c.key) for c in _diff(plan, "apps/web").of("delete")] == [
        "Kustomization apps/web-old"
    ]


def test_inventory_entry_already_gone_is_no_change() -> None:
    web = _raw(OLD_TOKEN)
    gone = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps", "web-gone")
    plan = _plan(_stack(web), _fluxconfig_with(web, [gone]))
    assert not plan.changed, to_text(plan)


def test_inventory_in_a_namespace_the_stack_does_not_use_is_read_by_key() -> None:
    web = _raw(OLD_TOKEN)
    far = {**_unlabelled(web, "Kustomization", "far")}
    far["metadata"] = {**far["metadata"], "namespace": "elsewhere"}
    reader = DictReader([*_fluxconfig_with(web, [Manifest(far).key]), far])
    plan = stack_plan(_stack(web), lambda _c: reader, "t")
    assert [str(c.key) for c in _diff(plan, "apps/web").of("delete")] == [
        "Kustomization elsewhere/far"
    ]
    assert reader.read_keys == [Manifest(far).key]


def test_labelled_object_in_another_inventory_is_not_an_orphan() -> None:
    web, api = _raw(OLD_TOKEN), {**_raw(OLD_TOKEN), "name": "api"}
    moved = _unlabelled(web, "Kustomization", "moved")
    moved["metadata"]["labels"] = {"fluxgitops.io/configuration": "web"}
    live = [*_applied(web), *_fluxconfig_with(api, [Manifest(moved).key]), moved]
    plan = _plan(_stack(web, api), live)
    assert _diff(plan, "apps/web").empty, to_text(plan)
    assert [str(c.key) for c in _diff(plan, "apps/api").of("delete")] == [
        "Kustomization apps/moved"
    ]


def test_removed_configuration_keeps_the_shared_rbac_of_its_inventory() -> None:
    web, api = _raw(OLD_TOKEN), {**_raw(OLD_TOKEN), "name": "api"}
    rendered = [Manifest(o).key for o in _applied(api) if o["kind"] != "FluxConfig"]
    live = [*_applied(web), *_fluxconfig_with(api, rendered)]
    live += [o for o in _applied(api) if o["kind"] != "FluxConfig"]
    removed = next(c for c in _plan(_stack(web), live).configurations if c.removed)
    deleted = {c.key.kind for c in removed.diff.of("delete")}
    assert deleted == {"FluxConfig", "GitRepository", "Kustomization", "Secret"}


def test_one_snapshot_per_cluster() -> None:
    web, api = _raw(OLD_TOKEN), {**_raw(OLD_TOKEN), "name": "api", "namespace": "team"}
    calls: list[Sequence[str]] = []

    class Counting(DictReader):
        def snapshot(self, namespaces: Sequence[str]) -> Snapshot:
            calls.append(namespaces)
            return super().snapshot(namespaces)

    reader = Counting(_applied(web) + _applied(api))
    assert not stack_plan(_stack(web, api), lambda _c: reader, "t").changed
    assert calls == [["apps", "team"]]
    assert reader.read_keys == []

"""The plan: what would change on each cluster, per configuration, object and field.

``stack_plan`` compares every configuration of a stack with what a cluster
holds, read once per cluster through a ``LiveReader`` (``fluxgitops.kube.live``
implements it with one LIST per kind, per namespace or cluster-wide): the
rendered objects against the live ones; what the configuration owns but no
longer renders — its FluxConfig's ``status.inventory``
(``fluxconfig.ownership.owned_keys``), plus objects labelled for it that no
inventory records (``Live.labelled_orphans``) — as deletions; and every live
FluxConfig the stack no longer lists as a removed configuration — what ``pulumi
preview`` deletes. Objects the in-cluster reconciler owns (the SSH key Secret
it generates) are never "removed". ``to_text``, ``to_markdown`` and ``to_json``
print a ``Plan`` for a terminal, a pull-request comment (``diff`` blocks with
the marker in column 0, so GitHub colours them) and machines. A change appears
once: the FluxConfig, which mirrors the Flux objects, is only shown when
nothing else of its configuration changes. Secret values never appear (the diff
masks them). ``exit_code`` follows ``terraform plan -detailed-exitcode``: 0 no
change, 2 changes. Called by ``fluxgitops plan`` and ``benchmarks/plan.py``.
Pure: the reader does the I/O.
"""

from __future__ import annotations

import functools
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fluxgitops.diff import FieldChange, ManifestDiff, ObjectChange, diff_manifests
from fluxgitops.fluxconfig.ownership import inventory_keys, owned_keys
from fluxgitops.kinds import OWNED_KINDS, RBAC_KINDS
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.render.manifest import Manifest, ObjectKey
from fluxgitops.render.meta import (
    FLUXCONFIG_API_VERSION,
    FLUXCONFIG_KIND,
    LABEL_CONFIGURATION,
    LABEL_MANAGED_BY,
    auth_secret_name,
)
from fluxgitops.spec import FluxConfigurationSpec
from fluxgitops.stack import Cluster, StackConfig

SIGNS = {"create": "+", "delete": "-", "update": "~"}
SHOWN_SECTIONS_SKIPPED = ("apiVersion", "kind", "metadata", "status")
DESTRUCTIVE = "destructive: prune: true, Flux deletes every object it applied"


@dataclass(frozen=True)
class Snapshot:
    """What one cluster holds of the kinds a plan reads, from one LIST per kind and namespace
    (or one per kind for the whole cluster): every object, by key."""

    objects: Mapping[ObjectKey, Mapping[str, Any]]
    listed: frozenset[tuple[str, str, str]]
    """(apiVersion, kind, namespace) listed — an object of these absent from ``objects`` does
    not exist; namespace ``EVERYWHERE``: the kind was listed in every namespace (or is
    cluster-scoped). A kind the API server does not serve is listed, with no objects."""

    def covers(self, key: ObjectKey) -> bool:
        """True when the snapshot says whether ``key`` exists."""
        return (key.api_version, key.kind, EVERYWHERE) in self.listed or (
            key.api_version,
            key.kind,
            key.namespace,
        ) in self.listed


EVERYWHERE = "*"
"""``Snapshot.listed`` namespace of a kind listed cluster-wide."""


class LiveReader(Protocol):
    """What a plan reads from one cluster (``fluxgitops.kube.live.ClusterReader``)."""

    def snapshot(self, namespaces: Sequence[str]) -> Snapshot:
        """Every object of ``fluxgitops.kinds.PLANNED_KINDS`` in ``namespaces`` (cluster-scoped
        kinds: all of them)."""
        ...

    def read(self, keys: Sequence[ObjectKey]) -> Mapping[ObjectKey, Mapping[str, Any] | None]:
        """The live objects with these keys (None: absent): for the few a snapshot does not
        cover (an inventory naming a namespace the stack does not use)."""
        ...


class Live:
    """One cluster's objects for a plan: the snapshot, and a read for what it does not cover."""

    def __init__(self, reader: LiveReader, namespaces: Sequence[str]) -> None:
        self.reader = reader
        self.snapshot = reader.snapshot(namespaces)
        self.extra: dict[ObjectKey, Mapping[str, Any] | None] = {}

    def get(self, keys: Iterable[ObjectKey]) -> dict[ObjectKey, Mapping[str, Any]]:
        """The live objects among ``keys`` (absent ones left out), in the order given."""
        keys = list(keys)
        missing = [k for k in keys if not self.snapshot.covers(k) and k not in self.extra]
        if missing:
            self.extra.update(self.reader.read(missing))
        found: dict[ObjectKey, Mapping[str, Any]] = {}
        for key in keys:
            body = (
                self.snapshot.objects.get(key) if self.snapshot.covers(key) else self.extra.get(key)
            )
            if body is not None:
                found[key] = body
        return found

    def fluxconfig(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The live FluxConfig ``namespace/name`` (None: absent)."""
        key = ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, namespace, name)
        return self.get([key]).get(key)

    def configurations(self, namespaces: Iterable[str]) -> list[tuple[str, str]]:
        """(namespace, name) of every live FluxConfig fluxgitops manages in ``namespaces``."""
        wanted = set(namespaces)
        return sorted(
            (k.namespace, k.name)
            for k, body in self.snapshot.objects.items()
            if k.kind == FLUXCONFIG_KIND
            and k.namespace in wanted
            and _labels(body).get(LABEL_MANAGED_BY) == "fluxgitops"
        )

    def labelled_orphans(
        self, namespace: str, configuration: str, owned: Iterable[ObjectKey]
    ) -> list[Mapping[str, Any]]:
        """Objects labelled as generated for ``configuration`` in ``namespace`` that are not in
        ``owned`` nor in any live FluxConfig's inventory: applied before an inventory recorded
        them (a crash, a stack older than the inventory). The label listing's only use."""
        skip = set(owned) | self.inventoried
        labelled = self.labelled.get((namespace, configuration), [])
        return [body for key, body in labelled if key not in skip]

    @functools.cached_property
    def labelled(self) -> dict[tuple[str, str], list[tuple[ObjectKey, Mapping[str, Any]]]]:
        """(namespace, configuration label) → the objects of ``OWNED_KINDS`` carrying it."""
        found: dict[tuple[str, str], list[tuple[ObjectKey, Mapping[str, Any]]]] = {}
        for key, body in self.snapshot.objects.items():
            configuration = _labels(body).get(LABEL_CONFIGURATION)
            if configuration and (key.api_version, key.kind) in OWNED_KINDS:
                found.setdefault((key.namespace, str(configuration)), []).append((key, body))
        return found

    @functools.cached_property
    def inventoried(self) -> set[ObjectKey]:
        """Every key some live FluxConfig's inventory records."""
        return {
            key
            for k, body in self.snapshot.objects.items()
            if k.kind == FLUXCONFIG_KIND
            for key in inventory_keys(body.get("status"))
        }


def _labels(body: Mapping[str, Any]) -> Mapping[str, Any]:
    labels: Mapping[str, Any] = (body.get("metadata") or {}).get("labels") or {}
    return labels


@dataclass(frozen=True)
class ConfigurationPlan:
    """The changes of one configuration on one cluster (``removed``: no longer in the stack)."""

    cluster: str
    configuration: str
    diff: ManifestDiff
    removed: bool = False

    @property
    def shown(self) -> tuple[ObjectChange, ...]:
        """The changes to show and count: the FluxConfig only when nothing else changes
        (it records the same change as the Flux objects)."""
        others = tuple(c for c in self.diff.changes if c.key.kind != FLUXCONFIG_KIND)
        return others or self.diff.changes


@dataclass(frozen=True)
class Plan:
    """Every configuration's changes, in stack order, then removed configurations."""

    configurations: tuple[ConfigurationPlan, ...]
    stack: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """True when anything would change."""
        return any(not c.diff.empty for c in self.configurations)

    def counts(self) -> dict[str, int]:
        """Objects to create, update and delete over the whole plan."""
        out = {"create": 0, "update": 0, "delete": 0}
        for config in self.configurations:
            for change in config.shown:
                out[change.action] += 1
        return out

    @property
    def destructive(self) -> int:
        """How many deletions also delete workloads (a Kustomization with ``prune: true``)."""
        return sum(is_destructive(c) for config in self.configurations for c in config.shown)

    @property
    def exit_code(self) -> int:
        """0 when nothing changes, 2 when something would (1 is for errors, set by the caller)."""
        return 2 if self.changed else 0


def build_plan(
    items: Iterable[tuple[str, str, ManifestDiff]], stack: str = "", notes: Sequence[str] = ()
) -> Plan:
    """A plan from (cluster, configuration, diff) triples."""
    return Plan(tuple(ConfigurationPlan(c, n, d) for c, n, d in items), stack, tuple(notes))


def reconciler_owned(spec: FluxConfigurationSpec, reconciler: bool) -> frozenset[ObjectKey]:
    """Objects of ``spec`` the in-cluster reconciler creates and keeps, which the renderer
    cannot know: the ``<name>-auth`` Secret holding the SSH key it generates."""
    git = spec.git_repository
    if not reconciler or git is None or not git.generates_ssh_key:
        return frozenset()
    return frozenset({ObjectKey("v1", "Secret", spec.namespace, auth_secret_name(spec.name))})


def owned_deletions(
    live: Live,
    namespace: str,
    name: str,
    rendered: Sequence[ObjectKey],
    keep: Iterable[ObjectKey],
) -> list[Mapping[str, Any]]:
    """The live objects configuration ``namespace/name`` owns beyond what it ``rendered``: its
    FluxConfig (when not rendered: a removed configuration), what that FluxConfig's inventory
    records (``fluxconfig.ownership.owned_keys``) and its labelled orphans; never ``keep`` nor
    the namespace's shared RBAC (removed with the last configuration there)."""
    itself = ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, namespace, name)
    owned = owned_keys(live.fluxconfig(namespace, name), [*rendered, itself])
    skip = set(rendered) | set(keep)
    inventory = [k for k in owned if k not in skip and k.kind not in RBAC_KINDS]
    extra = list(live.get(inventory).values())
    orphans = [
        body
        for body in live.labelled_orphans(namespace, name, owned)
        if Manifest(body).key not in skip
    ]
    return [*extra, *orphans]


def configuration_diff(
    cluster: Cluster, spec: FluxConfigurationSpec, desired: Sequence[Manifest], live: Live
) -> ManifestDiff:
    """Rendered vs live objects of one configuration; what it owns but no longer renders (its
    inventory, its labelled orphans) are deletions, except what the reconciler owns."""
    keys = [m.key for m in desired]
    current = [dict(b) for b in live.get(keys).values()]
    keep = reconciler_owned(spec, cluster.extension.reconciler.enabled)
    extra = [dict(b) for b in owned_deletions(live, spec.namespace, spec.name, keys, keep)]
    return diff_manifests([*current, *extra], list(desired), live=True)


def stack_plan(
    config: StackConfig,
    reader_for: Callable[[Cluster], LiveReader],
    stack: str = "",
    recorded: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> Plan:
    """Every kubernetes-backend cluster of ``config`` against what it holds, read once per
    cluster (``LiveReader.snapshot`` of the namespaces the configurations use). Configurations
    the stack no longer lists come last, as deletions: those Pulumi's state ``recorded`` per
    cluster (what ``pulumi up`` would delete), or without a state the live FluxConfigs in the
    namespaces the stack uses (another stack's configurations elsewhere are not ours)."""
    items: list[ConfigurationPlan] = []
    notes: list[str] = []
    for cluster in config.clusters:
        if cluster.backend != "kubernetes":
            notes.append(
                f"cluster {cluster.name!r}: backend {cluster.backend!r} is not planned here; "
                "`fluxgitops preview` shows its ARM changes"
            )
            continue
        options = RenderOptions(multi_tenancy=cluster.extension.multi_tenancy.enforce)
        rendered = [(spec, render_configuration(spec, options)) for spec in cluster.configurations]
        wanted = {(spec.namespace, spec.name) for spec, _ in rendered}
        stated = set(recorded.get(cluster.name, ())) if recorded is not None else set()
        namespaces = {ns for ns, _ in wanted | stated}
        namespaces |= {m.key.namespace for _, ms in rendered for m in ms if m.key.namespace}
        live = Live(reader_for(cluster), sorted(namespaces))
        for spec, desired in rendered:
            diff = configuration_diff(cluster, spec, desired, live)
            items.append(ConfigurationPlan(cluster.name, f"{spec.namespace}/{spec.name}", diff))
        if recorded is not None:
            known = stated
        else:
            known = set(live.configurations({ns for ns, _ in wanted}))
        for namespace, name in sorted(known - wanted):
            owned = [dict(b) for b in owned_deletions(live, namespace, name, [], ())]
            diff = diff_manifests(owned, [], live=True)
            items.append(ConfigurationPlan(cluster.name, f"{namespace}/{name}", diff, True))
    return Plan(tuple(items), stack, tuple(notes))


# ---------------------------------------------------------------- printing


def show(value: Any) -> str:
    """A value as it appears in a plan: JSON, in full."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def is_destructive(change: ObjectChange) -> bool:
    """A deleted Kustomization with ``prune: true``: Flux deletes what it applied."""
    spec = (change.body or {}).get("spec") or {}
    return (
        change.action == "delete" and change.key.kind == "Kustomization" and bool(spec.get("prune"))
    )


def leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, scalar or empty container) pairs of ``value``, in order."""
    if isinstance(value, Mapping) and value:
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out += leaves(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and value:
        return [p for i, item in enumerate(value) for p in leaves(item, f"{prefix}[{i}]")]
    return [(prefix, value)]


def created_fields(change: ObjectChange) -> list[FieldChange]:
    """The fields of a created object (not for the FluxConfig, which repeats the others)."""
    if change.action != "create" or change.body is None or change.key.kind == FLUXCONFIG_KIND:
        return []
    body = {k: v for k, v in change.body.items() if k not in SHOWN_SECTIONS_SKIPPED}
    return [FieldChange(path, "add", new=value) for path, value in leaves(body) if path]


def field_line(change: FieldChange) -> str:
    """``~ spec.interval: "10m" → "5m"``."""
    if change.action == "add":
        return f"+ {change.path}: {show(change.new)}"
    if change.action == "remove":
        return f"- {change.path}: {show(change.old)}"
    return f"~ {change.path}: {show(change.old)} → {show(change.new)}"


def object_line(change: ObjectChange) -> str:
    """``- Kustomization ns/name`` with the destructive flag when it applies."""
    line = f"{SIGNS[change.action]} {change.key}"
    return f"{line}  ({DESTRUCTIVE})" if is_destructive(change) else line


def summary(plan: Plan) -> str:
    """``Plan: N to create, N to update, N to delete.`` (or no changes)."""
    if not plan.changed:
        return "No changes. The clusters match the configuration."
    counts = plan.counts()
    destructive = plan.destructive
    flag = f" ({destructive} destructive)" if destructive else ""
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete{flag}."
    )


def _heading(config: ConfigurationPlan) -> str:
    removed = " (removed from the stack)" if config.removed else ""
    return f"cluster {config.cluster} · configuration {config.configuration}{removed}"


def _wrapped(line: str, indent: str, width: int | None) -> list[str]:
    if width is None or len(indent) + len(line) <= width:
        return [indent + line]
    return textwrap.wrap(
        line,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + "    ",
        break_on_hyphens=False,
    )


def to_text(plan: Plan, width: int | None = None) -> str:
    """Plain text: cluster / configuration / object / field, then the summary; lines longer
    than ``width`` wrap (values are never cut)."""
    lines = [f"stack {plan.stack}"] if plan.stack else []
    lines += [f"note: {note}" for note in plan.notes]
    for config in plan.configurations:
        if config.diff.empty:
            continue
        lines.append(_heading(config))
        for change in config.shown:
            lines += _wrapped(object_line(change), "  ", width)
            for item in (*change.fields, *created_fields(change)):
                lines += _wrapped(field_line(item), "      ", width)
    lines.append(summary(plan))
    return "\n".join(lines) + "\n"


def _diff_lines(change: ObjectChange) -> list[str]:
    """``diff`` block lines: the marker in column 0 (GitHub colours ``+`` and ``-``)."""
    lines = [object_line(change)]
    for item in (*change.fields, *created_fields(change)):
        if item.action == "add":
            lines.append(f"+     {item.path}: {show(item.new)}")
        elif item.action == "remove":
            lines.append(f"-     {item.path}: {show(item.old)}")
        else:
            lines.append(f"-     {item.path}: {show(item.old)}")
            lines.append(f"+     {item.path}: {show(item.new)}")
    return lines


def to_markdown(plan: Plan) -> str:
    """Markdown for a pull-request comment: a summary table and a diff block per configuration."""
    counts = plan.counts()
    title = f"### fluxgitops plan · stack `{plan.stack}`" if plan.stack else "### fluxgitops plan"
    lines = [title, "", summary(plan), ""]
    lines += [f"> {note}" for note in plan.notes]
    if plan.notes:
        lines.append("")
    if plan.changed:
        lines += [
            "| cluster | configuration | create | update | delete |",
            "|---|---|---:|---:|---:|",
        ]
        for config in plan.configurations:
            if config.diff.empty:
                continue
            shown = config.shown
            by = {a: sum(c.action == a for c in shown) for a in SIGNS}
            name = config.configuration + (" (removed)" if config.removed else "")
            lines.append(
                f"| {config.cluster} | {name} | {by['create']} | {by['update']} | {by['delete']} |"
            )
        lines.append("")
        for config in plan.configurations:
            if config.diff.empty:
                continue
            lines += [f"<details><summary>{_heading(config)}</summary>", "", "```diff"]
            for change in config.shown:
                lines += _diff_lines(change)
            lines += ["```", "", "</details>", ""]
    lines.append(f"<!-- fluxgitops: {counts['create']}/{counts['update']}/{counts['delete']} -->")
    return "\n".join(lines) + "\n"


def to_json(plan: Plan) -> dict[str, Any]:
    """A JSON-compatible dict of the whole plan."""
    return {
        "stack": plan.stack,
        "changed": plan.changed,
        "counts": plan.counts(),
        "notes": list(plan.notes),
        "configurations": [
            {
                "cluster": c.cluster,
                "configuration": c.configuration,
                "removed": c.removed,
                "changes": [
                    {
                        "action": ch.action,
                        "destructive": is_destructive(ch),
                        "object": {
                            "apiVersion": ch.key.api_version,
                            "kind": ch.key.kind,
                            "namespace": ch.key.namespace,
                            "name": ch.key.name,
                        },
                        "fields": [
                            {"path": f.path, "action": f.action, "old": f.old, "new": f.new}
                            for f in (*ch.fields, *created_fields(ch))
                        ],
                    }
                    for ch in c.shown
                ],
            }
            for c in plan.configurations
        ],
    }

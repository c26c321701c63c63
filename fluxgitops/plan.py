"""The plan: what would change on each cluster, per configuration, object and field.

``stack_plan`` compares every configuration of a stack with what a cluster
holds, read through a ``LiveReader`` (``fluxgitops.kube.live`` implements it
with the Kubernetes API): the rendered objects against the live ones, the
configuration's labelled objects no longer rendered as deletions, and every
live FluxConfig the stack no longer lists as a removed configuration — what
``pulumi preview`` deletes. Objects the in-cluster reconciler owns (the SSH key
Secret it generates) are never "removed". ``to_text``, ``to_markdown`` and
``to_json`` print a ``Plan`` for a terminal, a pull-request comment (``diff``
blocks with the marker in column 0, so GitHub colours them) and machines. A
change appears once: the FluxConfig, which mirrors the Flux objects, is only
shown when nothing else of its configuration changes. Secret values never
appear (the diff masks them). ``exit_code`` follows ``terraform plan
-detailed-exitcode``: 0 no change, 2 changes. Called by ``fluxgitops plan`` and
``benchmarks/plan.py``. Pure: the reader does the I/O.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fluxgitops.diff import FieldChange, ManifestDiff, ObjectChange, diff_manifests
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import FLUXCONFIG_KIND, auth_secret_name
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import FluxConfigurationSpec
from fluxgitops.stack import Cluster, StackConfig

SIGNS = {"create": "+", "delete": "-", "update": "~"}
SHOWN_SECTIONS_SKIPPED = ("apiVersion", "kind", "metadata", "status")
DESTRUCTIVE = "destructive: prune: true, Flux deletes every object it applied"


class LiveReader(Protocol):
    """What a plan reads from one cluster (``fluxgitops.kube.live.ClusterReader``)."""

    def read(self, keys: Sequence[ObjectKey]) -> Mapping[ObjectKey, Mapping[str, Any] | None]:
        """The live objects with these keys (None: absent)."""
        ...

    def owned(self, namespace: str, configuration: str) -> list[Mapping[str, Any]]:
        """Live objects labelled as generated for ``configuration`` in ``namespace``."""
        ...

    def configurations(self, namespaces: Sequence[str]) -> list[tuple[str, str]]:
        """(namespace, name) of every live FluxConfig fluxgitops manages in ``namespaces``."""
        ...


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


def configuration_diff(
    cluster: Cluster, spec: FluxConfigurationSpec, reader: LiveReader
) -> ManifestDiff:
    """Rendered vs live objects of one configuration; labelled objects no longer rendered are
    deletions, except what the reconciler owns."""
    options = RenderOptions(multi_tenancy=cluster.extension.multi_tenancy.enforce)
    desired = render_configuration(spec, options)
    live = {k: dict(v) for k, v in reader.read([m.key for m in desired]).items() if v}
    keep = reconciler_owned(spec, cluster.extension.reconciler.enabled)
    extra = []
    for body in reader.owned(spec.namespace, spec.name):
        key = Manifest(body).key
        if key not in live and key not in keep:
            extra.append(dict(body))
    return diff_manifests([*live.values(), *extra], desired, live=True)


def stack_plan(
    config: StackConfig,
    reader_for: Callable[[Cluster], LiveReader],
    stack: str = "",
    recorded: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> Plan:
    """Every kubernetes-backend cluster of ``config`` against what it holds. Configurations
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
        reader = reader_for(cluster)
        wanted = set()
        for spec in cluster.configurations:
            wanted.add((spec.namespace, spec.name))
            diff = configuration_diff(cluster, spec, reader)
            items.append(ConfigurationPlan(cluster.name, f"{spec.namespace}/{spec.name}", diff))
        if recorded is not None:
            known = set(recorded.get(cluster.name, ()))
        else:
            known = set(reader.configurations(sorted({ns for ns, _ in wanted})))
        for namespace, name in sorted(known - wanted):
            owned = [dict(b) for b in reader.owned(namespace, name)]
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

"""The plan: what would change on each cluster, per configuration, object and field.

``build_plan`` collects ``ManifestDiff``s (desired vs live, from
``fluxgitops.diff``) into a ``Plan``; ``to_text``, ``to_markdown`` and
``to_json`` print it for a terminal, a pull-request comment and machines.
Secret values never appear (the diff masks them). ``exit_code`` follows
``terraform plan -detailed-exitcode``: 0 no change, 2 changes. Called by
``fluxgitops plan``. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fluxgitops.diff import FieldChange, ManifestDiff, ObjectChange

_MAX_VALUE = 80
SIGNS = {"create": "+", "delete": "-", "update": "~"}


@dataclass(frozen=True)
class ConfigurationPlan:
    """The changes of one configuration on one cluster."""

    cluster: str
    configuration: str
    diff: ManifestDiff


@dataclass(frozen=True)
class Plan:
    """Every configuration's changes, in stack order."""

    configurations: tuple[ConfigurationPlan, ...]

    @property
    def changed(self) -> bool:
        """True when anything would change."""
        return any(not c.diff.empty for c in self.configurations)

    def counts(self) -> dict[str, int]:
        """Objects to create, update and delete over the whole plan."""
        out = {"create": 0, "update": 0, "delete": 0}
        for config in self.configurations:
            for change in config.diff.changes:
                out[change.action] += 1
        return out

    @property
    def exit_code(self) -> int:
        """0 when nothing changes, 2 when something would (1 is for errors, set by the caller)."""
        return 2 if self.changed else 0


def build_plan(items: Iterable[tuple[str, str, ManifestDiff]]) -> Plan:
    """A plan from (cluster, configuration, diff) triples."""
    return Plan(tuple(ConfigurationPlan(c, n, d) for c, n, d in items))


def show(value: Any) -> str:
    """A value as it appears in a plan: JSON, shortened."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def field_line(change: FieldChange) -> str:
    """``~ spec.interval: "10m" → "5m"``."""
    if change.action == "add":
        return f"+ {change.path}: {show(change.new)}"
    if change.action == "remove":
        return f"- {change.path}: {show(change.old)}"
    return f"~ {change.path}: {show(change.old)} → {show(change.new)}"


def summary(plan: Plan) -> str:
    """``Plan: N to create, N to update, N to delete.`` (or no changes)."""
    if not plan.changed:
        return "No changes. The clusters match the configuration."
    counts = plan.counts()
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete."
    )


def _object_lines(change: ObjectChange) -> list[str]:
    lines = [f"{SIGNS[change.action]} {change.key}"]
    lines += [f"    {field_line(f)}" for f in change.fields]
    return lines


def to_text(plan: Plan) -> str:
    """Plain text: cluster / configuration / object / field, then the summary."""
    lines: list[str] = []
    for config in plan.configurations:
        if config.diff.empty:
            continue
        lines.append(f"cluster {config.cluster} · configuration {config.configuration}")
        for change in config.diff.changes:
            lines += [f"  {line}" for line in _object_lines(change)]
    lines.append(summary(plan))
    return "\n".join(lines) + "\n"


def to_markdown(plan: Plan) -> str:
    """Markdown for a pull-request comment: a summary table and a diff block per configuration."""
    counts = plan.counts()
    lines = ["### fluxgitops plan", "", summary(plan), ""]
    if plan.changed:
        lines += [
            "| cluster | configuration | create | update | delete |",
            "|---|---|---:|---:|---:|",
        ]
        for config in plan.configurations:
            if config.diff.empty:
                continue
            lines.append(
                f"| {config.cluster} | {config.configuration} | "
                f"{len(config.diff.of('create'))} | {len(config.diff.of('update'))} | "
                f"{len(config.diff.of('delete'))} |"
            )
        lines.append("")
        for config in plan.configurations:
            if config.diff.empty:
                continue
            lines += [
                f"<details><summary>{config.cluster} · {config.configuration}</summary>",
                "",
                "```diff",
            ]
            for change in config.diff.changes:
                lines += _object_lines(change)
            lines += ["```", "", "</details>", ""]
    lines.append(f"<!-- fluxgitops: {counts['create']}/{counts['update']}/{counts['delete']} -->")
    return "\n".join(lines) + "\n"


def to_json(plan: Plan) -> dict[str, Any]:
    """A JSON-compatible dict of the whole plan."""
    return {
        "changed": plan.changed,
        "counts": plan.counts(),
        "configurations": [
            {
                "cluster": c.cluster,
                "configuration": c.configuration,
                "changes": [
                    {
                        "action": ch.action,
                        "object": {
                            "apiVersion": ch.key.api_version,
                            "kind": ch.key.kind,
                            "namespace": ch.key.namespace,
                            "name": ch.key.name,
                        },
                        "fields": [
                            {"path": f.path, "action": f.action, "old": f.old, "new": f.new}
                            for f in ch.fields
                        ],
                    }
                    for ch in c.diff.changes
                ],
            }
            for c in plan.configurations
        ],
    }

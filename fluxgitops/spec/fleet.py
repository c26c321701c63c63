"""Fleets: one configuration template applied to every stack cluster a selector matches.

A stack's ``fluxgitops:fleets`` (next to ``fluxgitops:clusters``) lists
templates. ``expand_fleets`` matches each fleet's ``selector`` against the
raw cluster entries (``labels:``; for ``azure`` clusters also the resource
group, ``subscriptionId`` and ``tags`` of their ``azure:`` reference), applies
the fleet's per-cluster ``overrides:`` (deep merge by configuration name),
substitutes ``${cluster.name}``, ``${cluster.labels.<key>}`` and the other
``VARIABLES`` and returns, per cluster, the configurations and extension the
fleet adds, each with its error prefix ``fleets.<fleet>.clusters[<cluster>]``
so ``fluxgitops.stack.parse_stack`` (the one caller) validates them like any
other configuration and names the fleet and cluster of every mistake.
Fleets with ``policy:`` are not expanded onto stack clusters: Azure Policy
assigns them (``fluxgitops.policy``). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from fluxgitops.errors import FieldError
from fluxgitops.policy import Assignment, plan_policy
from fluxgitops.spec.base import SpecModel
from fluxgitops.spec.names import DnsLabel
from fluxgitops.spec.parse import translate_errors

FLEETS_KEY = "fluxgitops:fleets"
"""The stack config key of the fleet templates (``fleets:`` in a plain mapping)."""

VARIABLES = (
    "cluster.name",
    "cluster.backend",
    "cluster.labels.<key>",
    "cluster.azure.resourceGroupName",
    "cluster.azure.clusterName",
    "cluster.azure.subscriptionId",
    "fleet.name",
)
"""The placeholders a fleet template may use (``${cluster.name}`` …)."""

_FLEET_PLACEHOLDER = re.compile(r"\$\{((?:cluster|fleet)\.[^}]*)\}")


class LabelExpression(SpecModel):
    """A Kubernetes-style set-based requirement on one label."""

    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)


class FleetSelector(SpecModel):
    """Which clusters a fleet targets; every given criterion must hold (``{}`` selects all)."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelExpression] = Field(default_factory=list)
    names: list[str] | None = None
    backend: Literal["kubernetes", "azure"] | None = None
    resource_groups: list[str] | None = None
    """``azure`` clusters only: ``azure.resourceGroupName`` is one of these."""
    subscriptions: list[str] | None = None
    """``azure`` clusters only: ``azure.subscriptionId`` is one of these."""
    tags: dict[str, str] = Field(default_factory=dict)
    """``azure`` clusters only: ``azure.tags`` holds every one of these."""

    @property
    def azure_only(self) -> bool:
        """True when a criterion only an ``azure`` cluster can meet is set."""
        return bool(self.resource_groups or self.subscriptions or self.tags)


class ClusterOverride(SpecModel):
    """What one cluster changes in a fleet's template."""

    configurations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Configuration name → a partial configuration deep-merged over the template's."""
    extension: dict[str, Any] = Field(default_factory=dict)


class FleetEntry(SpecModel):
    """One fleet template of the stack, before its configurations are parsed."""

    name: DnsLabel
    selector: FleetSelector | None = None
    """Which stack clusters get the template (required unless ``policy:`` is given)."""
    extension: dict[str, Any] = Field(default_factory=dict)
    configurations: list[dict[str, Any]] = Field(default_factory=list)
    overrides: dict[str, ClusterOverride] = Field(default_factory=dict)
    policy: dict[str, Any] | None = None
    """Azure Policy mode (``fluxgitops.policy.PolicySpec``): assigned, not expanded."""


@dataclass(frozen=True)
class Contribution:
    """Something a fleet adds to one cluster, with the prefix its errors carry."""

    fleet: str
    where: str
    body: dict[str, Any]


@dataclass(frozen=True)
class FleetMembers:
    """The clusters a fleet matched and the configuration names (namespace, name) it adds."""

    name: str
    clusters: tuple[str, ...]
    configurations: tuple[tuple[str, str], ...]
    policy: dict[str, Any] | None = None
    assignments: tuple[Assignment, ...] = ()
    """Policy mode: the Azure Policy assignments (``fluxgitops.policy.plan_policy``)."""


@dataclass
class Expansion:
    """What ``expand_fleets`` found: per cluster name, the fleet additions; every error."""

    configurations: dict[str, list[Contribution]] = field(default_factory=dict)
    extensions: dict[str, list[Contribution]] = field(default_factory=dict)
    fleets: list[FleetMembers] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: mappings merged key by key, anything else replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _labels(cluster: Mapping[str, Any]) -> Mapping[str, Any]:
    labels = cluster.get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _azure(cluster: Mapping[str, Any]) -> Mapping[str, Any]:
    azure = cluster.get("azure")
    return azure if isinstance(azure, Mapping) else {}


def _azure_field(cluster: Mapping[str, Any], camel: str, snake: str) -> Any:
    azure = _azure(cluster)
    return azure.get(camel, azure.get(snake))


def matches(selector: FleetSelector, cluster: Mapping[str, Any]) -> bool:
    """True when the raw cluster entry meets every criterion of ``selector``."""
    labels = _labels(cluster)
    backend = cluster.get("backend", "kubernetes")
    if selector.backend is not None and backend != selector.backend:
        return False
    if selector.names is not None and cluster.get("name") not in selector.names:
        return False
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for expr in selector.match_expressions:
        present = expr.key in labels
        value = labels.get(expr.key)
        ok = {
            "In": present and value in expr.values,
            "NotIn": not present or value not in expr.values,
            "Exists": present,
            "DoesNotExist": not present,
        }[expr.operator]
        if not ok:
            return False
    if selector.azure_only:
        if backend != "azure":
            return False
        group = _azure_field(cluster, "resourceGroupName", "resource_group_name")
        if selector.resource_groups is not None and group not in selector.resource_groups:
            return False
        subscription = _azure_field(cluster, "subscriptionId", "subscription_id")
        if selector.subscriptions is not None and subscription not in selector.subscriptions:
            return False
        tags = _azure_field(cluster, "tags", "tags") or {}
        if any(tags.get(k) != v for k, v in selector.tags.items()):
            return False
    return True


def cluster_variables(fleet: str, cluster: Mapping[str, Any]) -> dict[str, str]:
    """The ``${…}`` values one cluster gives a fleet template."""
    values = {
        "fleet.name": fleet,
        "cluster.name": str(cluster.get("name", "")),
        "cluster.backend": str(cluster.get("backend", "kubernetes")),
    }
    for key, value in _labels(cluster).items():
        values[f"cluster.labels.{key}"] = str(value)
    for camel, snake in (
        ("resourceGroupName", "resource_group_name"),
        ("clusterName", "cluster_name"),
        ("subscriptionId", "subscription_id"),
    ):
        found = _azure_field(cluster, camel, snake)
        if found is not None:
            values[f"cluster.azure.{camel}"] = str(found)
    return values


def _substitute(raw: Any, values: Mapping[str, str], where: str, errors: list[FieldError]) -> Any:
    """``raw`` with fleet placeholders replaced; an unknown one is an error at its path."""
    if isinstance(raw, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            known = sorted(k for k in values if k.startswith("cluster.labels."))
            errors.append(
                FieldError(
                    where,
                    f"uses ${{{name}}}, which this cluster does not define; allowed: "
                    f"{', '.join(VARIABLES)} (this cluster's labels: "
                    f"{', '.join(known) or 'none'})",
                    repr(raw),
                    "fleet_variable",
                )
            )
            return match.group(0)

        return _FLEET_PLACEHOLDER.sub(one, raw)
    if isinstance(raw, Mapping):
        return {k: _substitute(v, values, f"{where}.{k}", errors) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_substitute(v, values, f"{where}[{i}]", errors) for i, v in enumerate(raw)]
    return raw


def _config_name(body: Mapping[str, Any]) -> str:
    name = body.get("name")
    return name if isinstance(name, str) else ""


def _expand_one(
    fleet: FleetEntry, clusters: list[Mapping[str, Any]], where: str, out: Expansion
) -> None:
    if fleet.policy is not None:
        if fleet.selector is not None or fleet.overrides or fleet.extension:
            out.errors.append(
                FieldError(
                    where,
                    "selector, overrides and extension are not used with policy: Azure Policy "
                    "assigns the template to every cluster in policy.scope (extension settings "
                    "go in policy.extensionParameters)",
                    code="fleet_policy",
                )
            )
        found, problems = plan_policy(fleet.name, fleet.policy, fleet.configurations, where)
        out.errors.extend(problems)
        configs = tuple(
            (str(b.get("namespace", "")), _config_name(b)) for b in fleet.configurations
        )
        out.fleets.append(FleetMembers(fleet.name, (), configs, fleet.policy, tuple(found)))
        return
    if fleet.selector is None:
        out.errors.append(
            FieldError(
                f"{where}.selector",
                "is required (or policy: for Azure Policy mode)",
                code="fleet_selector",
            )
        )
        return
    matched = [c for c in clusters if matches(fleet.selector, c)]
    names = [str(c.get("name")) for c in matched]
    if not matched:
        out.errors.append(
            FieldError(
                f"{where}.selector",
                f"matches none of the stack's {len(clusters)} cluster(s) "
                f"({', '.join(repr(c.get('name')) for c in clusters) or 'none'}); "
                "a fleet must target at least one cluster (check labels, backend, "
                "resourceGroups, subscriptions and tags)",
                code="fleet_empty",
            )
        )
    template_names = [_config_name(b) for b in fleet.configurations]
    for cluster_name, override in fleet.overrides.items():
        if cluster_name not in names:
            out.errors.append(
                FieldError(
                    f"{where}.overrides.{cluster_name}",
                    "names a cluster the selector does not match; matched: "
                    f"{', '.join(names) or 'none'}",
                    repr(cluster_name),
                    "fleet_override",
                )
            )
        for config_name in override.configurations:
            if config_name not in template_names:
                out.errors.append(
                    FieldError(
                        f"{where}.overrides.{cluster_name}.configurations.{config_name}",
                        "names no configuration of the template; allowed: "
                        f"{', '.join(template_names) or 'none'}",
                        repr(config_name),
                        "fleet_override",
                    )
                )
    for cluster in matched:
        name = str(cluster.get("name"))
        values = cluster_variables(fleet.name, cluster)
        override = fleet.overrides.get(name, ClusterOverride())
        prefix = f"{where}.clusters[{name}]"
        for k, body in enumerate(fleet.configurations):
            merged = deep_merge(body, override.configurations.get(_config_name(body), {}))
            at = f"{prefix}.configurations[{k}]"
            done = _substitute(merged, values, at, out.errors)
            out.configurations.setdefault(name, []).append(Contribution(fleet.name, at, done))
        extension = deep_merge(fleet.extension, override.extension)
        if extension:
            at = f"{prefix}.extension"
            done = _substitute(extension, values, at, out.errors)
            out.extensions.setdefault(name, []).append(Contribution(fleet.name, at, done))
    configs = tuple(
        (str(b.get("namespace") or _config_name(b)), _config_name(b)) for b in fleet.configurations
    )
    out.fleets.append(FleetMembers(fleet.name, tuple(names), configs))


def expand_fleets(clusters: list[Any], fleets_raw: object) -> Expansion:
    """Match every fleet of ``fleets_raw`` against the raw ``clusters`` entries; a fleet
    entry's shape errors come back prefixed ``fleets.<name>``."""
    out = Expansion()
    if fleets_raw is None:
        return out
    if not isinstance(fleets_raw, list):
        out.errors.append(
            FieldError(FLEETS_KEY, "must be a list of fleets", type(fleets_raw).__name__)
        )
        return out
    entries = [c for c in clusters if isinstance(c, Mapping)]
    seen: set[str] = set()
    for i, item in enumerate(fleets_raw):
        label = item.get("name") if isinstance(item, Mapping) else None
        where = f"fleets.{label}" if isinstance(label, str) and label else f"fleets[{i}]"
        problems = translate_errors(FleetEntry, item)
        if problems:
            out.errors.extend(
                FieldError(f"{where}.{e.path}" if e.path else where, e.message, e.value, e.code)
                for e in problems
            )
            continue
        fleet = FleetEntry.model_validate(item)
        if fleet.name in seen:
            out.errors.append(
                FieldError(f"{where}.name", "is used by another fleet", repr(fleet.name))
            )
            continue
        seen.add(fleet.name)
        _expand_one(fleet, entries, where, out)
    return out

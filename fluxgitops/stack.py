"""The typed stack config: which clusters, which backend, which extension and configurations.

A Pulumi stack file (``stacks/Pulumi.<stack>.yaml``) holds it under the key
``fluxgitops:clusters``. ``parse_stack`` validates the whole file at once and
prefixes every error with its location, list items by name
(``clusters[local].configurations[team-a].gitRepository.url``); each
configuration goes through ``parse_configuration`` so configuration-wide rules
still run when other fields fail, and a cluster entry with errors of its own
(a mistyped ``backend``) still has its extension and configurations checked.
``fluxgitops:fleets`` templates are expanded here, once, by
``fluxgitops.spec.fleet.expand_fleets``: every consumer (``render``,
``validate``, ``plan``, the Pulumi program) sees the expanded clusters, and a
fleet's errors are prefixed ``fleets.<fleet>.clusters[<cluster>]``.
``substitute`` replaces ``${name}`` placeholders in the raw config with values
the caller supplies (``${local.git}``: the local Git server's base URL, from
``fluxgitops.localrefs.stack_placeholders``) — the same idea as
``kubeconfig: local``. Called by the Pulumi program (``__main__.py``) and the
CLI. Pure: no I/O beyond what the caller reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from fluxgitops.azure import ClusterRef, check_azure_configuration, check_azure_extension
from fluxgitops.errors import FieldError, SpecError
from fluxgitops.spec.base import RuleFailure, SpecModel, raise_rule_failures
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.extension import FluxExtensionSpec
from fluxgitops.spec.fleet import FLEETS_KEY, Expansion, FleetMembers, deep_merge, expand_fleets
from fluxgitops.spec.names import DnsLabel
from fluxgitops.spec.parse import (
    parse_configuration,
    parse_extension,
    ssh_key_problems,
    translate_errors,
)

CONFIG_KEY = "fluxgitops:clusters"


class ClusterEntry(SpecModel):
    """One cluster of the stack, before its configurations are parsed."""

    name: DnsLabel
    labels: dict[str, str] = Field(default_factory=dict)
    """Free-form labels fleet selectors match (``fluxgitops.spec.fleet``)."""
    backend: Literal["kubernetes", "azure"] = "kubernetes"
    mode: Literal["install", "external"] = "install"
    kubeconfig: str | None = None
    context: str | None = None
    azure: ClusterRef | None = None
    flux_bundle: str | None = None
    """A ``flux install --export`` file for install mode; ``None``: the generated bundle."""
    source_checks: Literal["off", "warn", "strict"] = "warn"
    extension: dict[str, Any] = Field(default_factory=dict)
    configurations: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _backend_fields(self) -> ClusterEntry:
        failures: list[RuleFailure] = []
        if self.backend == "azure" and self.azure is None:
            failures.append(RuleFailure("azure", "is required when backend is 'azure'"))
        if self.backend == "kubernetes" and self.azure is not None:
            failures.append(RuleFailure("azure", "is only allowed when backend is 'azure'"))
        if self.flux_bundle is not None and (self.backend, self.mode) != ("kubernetes", "install"):
            failures.append(
                RuleFailure(
                    "fluxBundle",
                    "is only used with backend 'kubernetes' and mode 'install' (without it, "
                    "install mode uses the bundle `python3 tools/build.py flux-bundle` generates)",
                    self.flux_bundle,
                )
            )
        raise_rule_failures(failures)
        return self


class Cluster(SpecModel):
    """A validated cluster: its target, its extension and its configurations."""

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    backend: Literal["kubernetes", "azure"]
    mode: Literal["install", "external"]
    kubeconfig: str | None
    context: str | None
    azure: ClusterRef | None
    flux_bundle: str | None
    source_checks: Literal["off", "warn", "strict"]
    extension: FluxExtensionSpec
    configurations: tuple[FluxConfigurationSpec, ...]
    origins: tuple[str | None, ...] = ()
    """Per configuration: the fleet it came from, or None when the cluster declares it."""


class StackConfig(SpecModel):
    """Every cluster of a stack (fleets expanded) and which clusters each fleet matched."""

    clusters: tuple[Cluster, ...]
    fleets: tuple[FleetMembers, ...] = ()


LOCAL_GIT = "local.git"
"""``${local.git}``: the base URL of the Git server ``fluxgitops local up`` runs."""
LOCAL_GIT_PORT = 8479
"""Its fixed default port (a free one is used, and recorded, when this one is taken)."""
DEFAULT_PLACEHOLDERS: Mapping[str, str] = {LOCAL_GIT: f"http://127.0.0.1:{LOCAL_GIT_PORT}"}
"""What placeholders mean when the caller knows nothing better (nothing running locally)."""

_PLACEHOLDER = re.compile(r"\$\{([a-zA-Z][a-zA-Z0-9_.-]*)\}")


def substitute(raw: Any, values: Mapping[str, str]) -> Any:
    """``raw`` with every ``${name}`` in its strings replaced by ``values[name]``; unknown
    names are left as they are (validation then names the field that holds them)."""
    if isinstance(raw, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), raw)
    if isinstance(raw, Mapping):
        return {k: substitute(v, values) for k, v in raw.items()}
    if isinstance(raw, list):
        return [substitute(v, values) for v in raw]
    return raw


def _prefixed(prefix: str, errors: Any) -> list[FieldError]:
    return [
        FieldError(f"{prefix}.{e.path}" if e.path else prefix, e.message, e.value, e.code)
        for e in errors
    ]


def item_label(items: list[Any], index: int) -> str:
    """``[name]`` for a list item with a name unique in ``items`` (``clusters[local]``),
    ``[index]`` otherwise."""
    item = items[index]
    name = item.get("name") if isinstance(item, Mapping) else None
    if isinstance(name, str) and name and re.fullmatch(r"[A-Za-z0-9_.:/-]+", name):
        names = [i.get("name") for i in items if isinstance(i, Mapping)]
        if names.count(name) == 1:
            return f"[{name}]"
    return f"[{index}]"


Body = tuple[str, str | None, Any]
"""(where its errors point, the fleet it comes from or None, the raw configuration)."""


def own_bodies(where: str, bodies: list[Any]) -> list[Body]:
    """A cluster entry's own configurations, each located by name (or index)."""
    return [
        (f"{where}.configurations{item_label(bodies, j)}", None, body)
        for j, body in enumerate(bodies)
    ]


def _configurations(
    bodies: list[Body], cluster: str, backend: str, extension: FluxExtensionSpec
) -> tuple[list[FluxConfigurationSpec], list[str | None], list[FieldError]]:
    """Every configuration of one cluster, parsed: specs, their fleets, errors (located)."""
    errors: list[FieldError] = []
    configs: list[FluxConfigurationSpec] = []
    origins: list[str | None] = []
    names: set[tuple[str, str]] = set()
    for here, origin, body in bodies:
        try:
            spec = parse_configuration(body)
            if backend == "azure":
                check_azure_configuration(spec)
        except SpecError as exc:
            errors.extend(_prefixed(here, exc.errors))
            continue
        if backend == "kubernetes":
            errors.extend(_prefixed(here, ssh_key_problems(spec, extension.reconciler.enabled)))
        if (spec.namespace, spec.name) in names:
            errors.append(
                FieldError(
                    f"{here}.name",
                    f"is used twice in namespace {spec.namespace!r} of cluster {cluster!r}",
                    repr(spec.name),
                )
            )
        names.add((spec.namespace, spec.name))
        configs.append(spec)
        origins.append(origin)
    return configs, origins, errors


def _extension(where: str, raw: Any, backend: str) -> tuple[FluxExtensionSpec, list[FieldError]]:
    """The parsed extension (defaults when invalid) and its errors prefixed with ``where``."""
    try:
        extension = parse_extension(raw)
        if backend == "azure":
            check_azure_extension(extension)
    except SpecError as exc:
        return FluxExtensionSpec(), _prefixed(where, exc.errors)
    return extension, []


def _unchecked_parts(where: str, item: Any, entry_errors: list[FieldError]) -> list[FieldError]:
    """The extension and configurations of a cluster entry that failed (a mistyped ``backend``
    must not hide them): checked too, unless the entry's own errors are about them."""
    if not isinstance(item, Mapping):
        return []
    failed = {e.path.split(".")[0].split("[")[0] for e in entry_errors}
    backend = str(item.get("backend")) if item.get("backend") in ("kubernetes", "azure") else ""
    errors: list[FieldError] = []
    extension = FluxExtensionSpec()
    if "extension" in item and "extension" not in failed:
        extension, found = _extension(f"{where}.extension", item["extension"], backend)
        errors += found
    bodies = item.get("configurations")
    if isinstance(bodies, list) and "configurations" not in failed:
        name = str(item.get("name", ""))
        errors += _configurations(own_bodies(where, bodies), name, backend, extension)[2]
    return errors


def parse_stack(
    raw: Mapping[str, Any],
    subject: str = "stack config",
    placeholders: Mapping[str, str] | None = None,
) -> StackConfig:
    """Validate the ``config`` mapping of a stack file (or the clusters list) with every error,
    after replacing ``${name}`` placeholders (``placeholders`` over ``DEFAULT_PLACEHOLDERS``).
    Locations name list items (``clusters[local].configurations[team-a].gitRepository.url``;
    the index when an item has no unique name)."""
    raw = substitute(raw, {**DEFAULT_PLACEHOLDERS, **(placeholders or {})})
    clusters_raw = raw.get(CONFIG_KEY, raw.get("clusters")) if isinstance(raw, Mapping) else None
    if not isinstance(clusters_raw, list):
        got = "nothing" if clusters_raw is None else type(clusters_raw).__name__
        raise SpecError(
            subject, [FieldError(CONFIG_KEY, f"must be a list of clusters (got {got})")]
        )
    expansion = expand_fleets(clusters_raw, raw.get(FLEETS_KEY, raw.get("fleets")))
    errors: list[FieldError] = list(expansion.errors)
    clusters: list[Cluster] = []
    seen: set[str] = set()
    for i, item in enumerate(clusters_raw):
        where = f"clusters{item_label(clusters_raw, i)}"
        entry_errors = translate_errors(ClusterEntry, item)
        if entry_errors:
            errors.extend(_prefixed(where, entry_errors))
            errors.extend(_unchecked_parts(where, item, entry_errors))
            continue
        entry = ClusterEntry.model_validate(item)
        if entry.name in seen:
            errors.append(
                FieldError(f"{where}.name", "is used by another cluster", repr(entry.name))
            )
        seen.add(entry.name)
        ext_where, ext_raw = _extension_input(entry, where, expansion)
        extension, found = _extension(ext_where, ext_raw, entry.backend)
        errors += found
        bodies = own_bodies(where, entry.configurations)
        bodies += [(c.where, c.fleet, c.body) for c in expansion.configurations.get(entry.name, [])]
        configs, origins, found = _configurations(bodies, entry.name, entry.backend, extension)
        errors += found
        clusters.append(
            Cluster(
                name=entry.name,
                labels=entry.labels,
                backend=entry.backend,
                mode=entry.mode,
                kubeconfig=entry.kubeconfig,
                context=entry.context,
                azure=entry.azure,
                flux_bundle=entry.flux_bundle,
                source_checks=entry.source_checks,
                extension=extension,
                configurations=tuple(configs),
                origins=tuple(origins),
            )
        )
    if errors:
        raise SpecError(subject, errors)
    return StackConfig(clusters=tuple(clusters), fleets=tuple(expansion.fleets))


def _extension_input(
    entry: ClusterEntry, where: str, expansion: Expansion
) -> tuple[str, dict[str, Any]]:
    """The cluster's extension with its fleets' extensions under it (the cluster's own values
    win), and the path its errors carry: the fleet's when only a fleet sets it."""
    added = expansion.extensions.get(entry.name, [])
    merged: dict[str, Any] = {}
    for contribution in added:
        merged = deep_merge(merged, contribution.body)
    if entry.extension or not added:
        return f"{where}.extension", deep_merge(merged, entry.extension)
    return added[-1].where, merged

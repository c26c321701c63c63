"""Whose an object is, and what a FluxConfig recorded it applied (its inventory).

``foreign_owner`` is the rule applied before every write — an existing object
is ours only when it carries our ``managed-by`` label and the configuration
labels of the object we render, and no field manager outside fluxgitops
server-side-applies it; otherwise the FluxConfig is Stalled with
``OwnershipConflict`` and the object is left alone. ``deletable`` is the rule
before every delete (our labels for that configuration). The inventory
(``status.inventory.entries[]``, Flux's ``<namespace>_<name>_<group>_<kind>``
ids) records what was applied to the cluster, by whoever applied it: the
reconciler, or the dynamic provider when the reconciler is off.
``inventory_status`` / ``inventory_keys`` write and read it; ``owned_keys`` is
the one answer to "which objects does this configuration own" (what it renders
or knew of, plus what its live FluxConfig's inventory records), used by the
reconciler's prune and finalize, the provider's read/update/delete, ``plan`` and
``status``. Called by the reconciler, ``providers.objectset``, ``fluxgitops.plan``
and ``fluxgitops.kube.deployed``. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fluxgitops.fluxconfig.drift import field_managers
from fluxgitops.fluxconfig.vocabulary import subject
from fluxgitops.render.manifest import ObjectKey
from fluxgitops.render.meta import (
    FIELD_MANAGER,
    LABEL_CONFIGURATION,
    LABEL_CONFIGURATION_NAMESPACE,
    LABEL_MANAGED_BY,
)

OWNER_LABELS = (LABEL_MANAGED_BY, LABEL_CONFIGURATION, LABEL_CONFIGURATION_NAMESPACE)
"""The labels that say which configuration (or namespace, for shared objects) owns an object."""


def _labels(body: Mapping[str, Any] | None) -> Mapping[str, str]:
    labels: Mapping[str, str] = ((body or {}).get("metadata") or {}).get("labels") or {}
    return labels


def owner_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Only the ownership labels of ``labels``."""
    return {k: str(v) for k, v in (labels or {}).items() if k in OWNER_LABELS}


def is_our_manager(manager: str) -> bool:
    """True for the provider's and every reconciler replica's field manager."""
    return manager == FIELD_MANAGER or manager.startswith(f"{FIELD_MANAGER}-")


def _describe_labels(labels: Mapping[str, str]) -> str:
    managed_by = labels.get(LABEL_MANAGED_BY)
    namespace = labels.get(LABEL_CONFIGURATION_NAMESPACE)
    config = labels.get(LABEL_CONFIGURATION)
    if managed_by == "fluxgitops" and namespace and config:
        return f"{subject(namespace, config)} (by its labels)"
    if managed_by == "fluxgitops" and namespace:
        return f"the shared objects of namespace {namespace} (by its labels)"
    if managed_by:
        return f"{LABEL_MANAGED_BY}={managed_by!r}"
    return "no fluxgitops labels"


def foreign_owner(desired_labels: Mapping[str, str], live: Mapping[str, Any] | None) -> str | None:
    """Who owns ``live`` when it is not ours to write (None when absent or ours).

    Ours means: the ownership labels equal those we render (``desired_labels``)
    and every field manager that server-side-applies it is ours. Hand edits
    (``Update`` by kubectl and the like) of our objects are drift, healed by
    the next apply; a foreign ``Apply`` manager is another declarative owner.
    """
    if live is None:
        return None
    labels = owner_labels(_labels(live))
    managers = field_managers(live.get("metadata") or {})
    appliers = sorted(
        {m["manager"] for m in managers if m["operation"] == "Apply"}
        - {m["manager"] for m in managers if is_our_manager(m["manager"])}
    )
    if labels == owner_labels(desired_labels) and not appliers:
        return None
    others = sorted({m["manager"] for m in managers if not is_our_manager(m["manager"])})
    shown = appliers or others
    parts = [] if labels == owner_labels(desired_labels) else [_describe_labels(labels)]
    if shown:
        parts.append("field manager " + ", ".join(repr(m) for m in shown))
    return "; ".join(parts)


def deletable(
    expected_labels: Mapping[str, str], live: Mapping[str, Any] | None, *, recorded: bool
) -> bool:
    """True when ``live`` is ours to delete: it still carries the ownership labels we gave it,
    and we applied it — ``recorded`` in the inventory, or written by one of our field managers
    (applied before a crash could record it). An object someone else labelled is not."""
    if live is None or owner_labels(_labels(live)) != owner_labels(expected_labels):
        return False
    managers = field_managers(live.get("metadata") or {})
    return recorded or any(is_our_manager(m["manager"]) for m in managers)


def inventory_id(key: ObjectKey) -> str:
    """Flux's inventory id: ``<namespace>_<name>_<group>_<kind>`` (empty group for core)."""
    group = key.api_version.rpartition("/")[0]
    return f"{key.namespace}_{key.name}_{group}_{key.kind}"


def inventory_status(keys: Iterable[ObjectKey]) -> dict[str, Any]:
    """``status.inventory``: one ``{id, v}`` entry per applied object, sorted by id (as Flux)."""
    entries = {
        inventory_id(k): {"id": inventory_id(k), "v": k.api_version.rpartition("/")[2]}
        for k in keys
    }
    return {"entries": [entries[i] for i in sorted(entries)]}


def inventory_keys(status: Mapping[str, Any] | None) -> list[ObjectKey]:
    """The keys a ``status.inventory`` lists (malformed entries are left out)."""
    inventory = (status or {}).get("inventory")
    entries = inventory.get("entries") if isinstance(inventory, Mapping) else None
    keys: list[ObjectKey] = []
    for entry in entries or []:
        if not isinstance(entry, Mapping):
            continue
        parts = str(entry.get("id", "")).split("_")
        version = str(entry.get("v") or "")
        if len(parts) != 4 or not parts[1] or not parts[3] or not version:
            continue
        namespace, name, group, kind = parts
        keys.append(ObjectKey(f"{group}/{version}" if group else version, kind, namespace, name))
    return keys


def with_inventory(status: Mapping[str, Any], keys: Iterable[ObjectKey]) -> dict[str, Any]:
    """``status`` with ``inventory`` listing ``keys`` (what the reconciler applied)."""
    return {**status, "inventory": inventory_status(keys)}


def owned_keys(
    fluxconfig: Mapping[str, Any] | None, known: Iterable[ObjectKey] = ()
) -> list[ObjectKey]:
    """The keys a configuration owns: ``known`` (what it renders now, or what Pulumi state
    recorded), then the keys its live ``fluxconfig``'s ``status.inventory`` records (what was
    applied, by the reconciler or the provider), each once, in that order. ``fluxconfig`` None
    (gone, or not created yet): ``known`` alone. The FluxConfig itself is not in its inventory
    (as a Kustomization is not in its own): callers that mean it pass its key in ``known``."""
    out = dict.fromkeys(known)
    if fluxconfig is not None:
        recorded = inventory_keys(fluxconfig.get("status"))
        out.update(dict.fromkeys(k for k in recorded if k not in out))
    return list(out)

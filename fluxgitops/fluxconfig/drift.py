"""Drift of the objects a FluxConfig owns: the compact cached view and the comparison.

``view`` makes the compact copy the reconciler caches (of ``managedFields``
only who manages it and how, Secret values replaced by digests); ``drifted``
says whether a live object no longer carries what was applied. Called by the
reconciler. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from fluxgitops.diff import SERVER_ANNOTATIONS, normalize, project
from fluxgitops.kinds import FLUX_KINDS
from fluxgitops.manifest import SECRET_DATA_FIELDS

_KEPT_METADATA = (
    "name",
    "namespace",
    "labels",
    "annotations",
    "generation",
    "resourceVersion",
    "deletionTimestamp",
    "finalizers",
)


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:32]


_KEPT_FLUX_STATUS = ("observedGeneration", "conditions", "artifact")
_KEPT_ARTIFACT = ("revision", "lastUpdateTime")


def _flux_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """What compliance needs of a Flux object's status: of a Kustomization's inventory only the
    Flux objects it applied (HelmReleases …), whose status ``statuses[]`` reports."""
    out = {k: status[k] for k in _KEPT_FLUX_STATUS if k in status}
    if isinstance(out.get("artifact"), Mapping):
        out["artifact"] = {k: v for k, v in out["artifact"].items() if k in _KEPT_ARTIFACT}
    entries = (
        (status.get("inventory") or {}).get("entries") if isinstance(status, Mapping) else None
    )
    flux = [
        e
        for e in entries or []
        if isinstance(e, Mapping) and str(e.get("id", "")).rsplit("_", 1)[-1] in FLUX_KINDS
    ]
    if flux:
        out["inventory"] = {"entries": flux}
    return out


def field_managers(meta: Mapping[str, Any]) -> list[dict[str, str]]:
    """``managedFields`` reduced to who writes the object itself (not its status) and how."""
    out: list[dict[str, str]] = []
    for entry in meta.get("managedFields") or []:
        if not isinstance(entry, Mapping) or entry.get("subresource"):
            continue
        item = {
            "manager": str(entry.get("manager", "")),
            "operation": str(entry.get("operation") or ""),
        }
        if item not in out:
            out.append(item)
    return out


def view(body: Mapping[str, Any]) -> dict[str, Any]:
    """A compact copy to cache and compare: of ``managedFields`` only manager and operation,
    Secret values as digests, of a Flux object's status only what compliance reads."""
    out = {k: v for k, v in body.items() if k != "metadata"}
    if body.get("kind") in FLUX_KINDS and isinstance(out.get("status"), Mapping):
        out["status"] = _flux_status(out["status"])
    meta = body.get("metadata") or {}
    kept = {k: meta[k] for k in _KEPT_METADATA if meta.get(k) is not None}
    managers = field_managers(meta)
    if managers:
        kept["managedFields"] = managers
    if "annotations" in kept:
        kept["annotations"] = {
            k: v for k, v in kept["annotations"].items() if k not in SERVER_ANNOTATIONS
        }
    out["metadata"] = kept
    if body.get("kind") == "Secret" and body.get("apiVersion") == "v1":
        for section in SECRET_DATA_FIELDS:
            if isinstance(out.get(section), Mapping):
                out[section] = {k: _digest(v) for k, v in out[section].items()}
    return out


def drifted(live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """True when ``live`` no longer carries a field of ``desired`` (both ``view``s)."""
    want = normalize(desired)
    return bool(project(normalize(live), want) != want)


def resource_version(body: Mapping[str, Any] | None) -> int:
    """The ``metadata.resourceVersion`` as a number for ordering (0 when absent or opaque)."""
    text = str(((body or {}).get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else 0

"""Drift of the objects a FluxConfig owns: the compact views the reconciler compares and keeps.

``view`` makes the compact copy drift is decided on (of ``managedFields`` only
who manages it and how, Secret values replaced by digests); ``drifted`` says
whether a live object no longer carries what was applied. ``cached`` is the
smaller copy the reconciler keeps of every live object between watch events
(only what its decisions read: ownership, ordering, compliance), and
``compact`` the deep copy every kept body goes through, so no kept value holds
on to the whole decoded watch event or API response, and the thousands of
repeated keys and short values are one string each. What is read only now and
then (a FluxConfig's spec and status, the objects it renders) is kept
``Packed``: compact JSON, a quarter of the dicts it decodes to. Called by the
reconciler. Pure.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from typing import Any

from fluxgitops.diff import SERVER_ANNOTATIONS, normalize, project
from fluxgitops.kinds import FLUX_KINDS
from fluxgitops.manifest import SECRET_DATA_FIELDS, ObjectKey

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


_SHORT = 64
"""Strings up to this long are interned by ``compact`` (names, reasons, times, versions)."""


def compact(value: Any) -> Any:
    """A deep copy of JSON-like ``value`` (maps become dicts, sequences lists) whose keys and
    short strings are interned: what the reconciler keeps shares no structure with the decoded
    event it came from (which can then be freed), and repeated strings are stored once."""
    if isinstance(value, Mapping):
        return {(sys.intern(k) if type(k) is str else k): compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [compact(v) for v in value]
    if type(value) is str and len(value) <= _SHORT:
        return sys.intern(value)
    return value


def intern_key(key: ObjectKey) -> ObjectKey:
    """``key`` with interned fields: the thousands of keys kept share their strings."""
    return ObjectKey(*(sys.intern(str(part)) for part in key))


class Packed:
    """A JSON-like value kept as compact JSON (UTF-8 bytes) and decoded on every ``unpack``:
    for what is kept long and read seldom (≈ 4× smaller than the dicts and lists it holds)."""

    __slots__ = ("data",)

    def __init__(self, value: Any) -> None:
        self.data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def unpack(self) -> Any:
        """A fresh decoded copy."""
        return json.loads(self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Packed) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"Packed({len(self.data)} bytes)"


_CACHED_METADATA = (
    "name",
    "namespace",
    "labels",
    "generation",
    "resourceVersion",
    "deletionTimestamp",
)


def cached(body: Mapping[str, Any]) -> dict[str, Any]:
    """What the reconciler keeps of a live labelled object (a ``view`` or a raw body) between
    events, as a ``compact`` copy: its identity and labels, field managers (ownership before a
    write or a delete), ``resourceVersion`` (event ordering), and of a Flux object its
    ``spec.suspend`` and what compliance reads of its status. Not its spec or data: drift is
    decided on the event's own ``view``, when it arrives."""
    meta = body.get("metadata") or {}
    kept: dict[str, Any] = {k: meta[k] for k in _CACHED_METADATA if meta.get(k) is not None}
    managers = field_managers(meta)
    if managers:
        kept["managedFields"] = managers
    out: dict[str, Any] = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": kept,
    }
    if body.get("kind") in FLUX_KINDS:
        spec = body.get("spec")
        if isinstance(spec, Mapping) and "suspend" in spec:
            out["spec"] = {"suspend": spec["suspend"]}
        if isinstance(body.get("status"), Mapping):
            out["status"] = _flux_status(body["status"])
    result: dict[str, Any] = compact(out)
    return result


def drifted(live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """True when ``live`` no longer carries a field of ``desired`` (both ``view``s)."""
    want = normalize(desired)
    return bool(project(normalize(live), want) != want)


def resource_version(body: Mapping[str, Any] | None) -> int:
    """The ``metadata.resourceVersion`` as a number for ordering (0 when absent or opaque)."""
    text = str(((body or {}).get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else 0

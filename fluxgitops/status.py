"""Compliance from live Flux objects, in Azure's vocabulary, and Flux-style conditions.

``compliance`` turns the live source and Kustomizations of one configuration
into ``complianceState`` (Compliant, Non-Compliant, Pending, Suspended,
Unknown) with the failing object's message; ``synced_commit`` reads the
revision the source has fetched. ``set_condition`` is the one helper that
changes a condition list (Ready / Reconciling / Stalled with CamelCase
reasons). Used by the dynamic provider's outputs, the CLI and the reconciler.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

COMPLIANT = "Compliant"
NON_COMPLIANT = "Non-Compliant"
PENDING = "Pending"
SUSPENDED = "Suspended"
UNKNOWN = "Unknown"

FLUX_KINDS = frozenset({"GitRepository", "Bucket", "OCIRepository", "Kustomization", "HelmRelease"})


@dataclass(frozen=True)
class Compliance:
    """The aggregated state, the message that explains it, and per-object states."""

    state: str
    message: str
    objects: tuple[tuple[str, str], ...] = ()


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The condition of type ``kind`` in ``status.conditions`` (None when absent)."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            found: Mapping[str, Any] = cond
            return found
    return None


def object_state(obj: Mapping[str, Any]) -> tuple[str, str]:
    """One Flux object's compliance and message, from its Ready condition and generation."""
    if (obj.get("spec") or {}).get("suspend"):
        return SUSPENDED, "suspended"
    ready = condition(obj, "Ready")
    meta = obj.get("metadata") or {}
    observed = (obj.get("status") or {}).get("observedGeneration")
    if ready is None or (observed is not None and observed != meta.get("generation")):
        return PENDING, "not reconciled yet"
    if ready.get("status") == "True":
        return COMPLIANT, str(ready.get("message", ""))
    if ready.get("status") == "False":
        return NON_COMPLIANT, f"{ready.get('reason', '')}: {ready.get('message', '')}"
    return PENDING, f"{ready.get('reason', 'Progressing')}: {ready.get('message', '')}"


def compliance(objects: Iterable[Mapping[str, Any]]) -> Compliance:
    """Aggregate the Flux objects of a configuration (others are ignored)."""
    states: list[tuple[str, str, str]] = []
    for obj in objects:
        if obj.get("kind") not in FLUX_KINDS:
            continue
        state, message = object_state(obj)
        name = f"{obj['kind']}/{(obj.get('metadata') or {}).get('name', '?')}"
        states.append((name, state, message))
    if not states:
        return Compliance(UNKNOWN, "no Flux objects found")
    per_object = tuple((name, state) for name, state, _ in states)
    for wanted in (NON_COMPLIANT, PENDING):
        for name, state, message in states:
            if state == wanted:
                return Compliance(wanted, f"{name}: {message}", per_object)
    if all(state == SUSPENDED for _, state, _ in states):
        return Compliance(SUSPENDED, "every object is suspended", per_object)
    return Compliance(COMPLIANT, "every object is Ready", per_object)


def synced_commit(source: Mapping[str, Any] | None) -> str:
    """The revision of the source's last artifact (``main@sha1:abc…`` → ``abc…``), or ''."""
    revision = str(((source or {}).get("status") or {}).get("artifact", {}).get("revision", ""))
    return revision.rsplit(":", 1)[-1] if revision else ""


def set_condition(
    conditions: Sequence[Mapping[str, Any]],
    kind: str,
    status: bool | None,
    *,
    reason: str,
    message: str,
    generation: int,
    now: str,
) -> list[dict[str, Any]]:
    """``conditions`` with ``kind`` set; ``lastTransitionTime`` moves only when status changes."""
    value = "Unknown" if status is None else ("True" if status else "False")
    new: dict[str, Any] = {
        "type": kind,
        "status": value,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now,
    }
    out = [dict(c) for c in conditions if c.get("type") != kind]
    previous = next((c for c in conditions if c.get("type") == kind), None)
    if previous is not None and previous.get("status") == value:
        new["lastTransitionTime"] = previous.get("lastTransitionTime", now)
    out.append(new)
    return sorted(out, key=lambda c: str(c["type"]))

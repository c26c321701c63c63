"""Compliance from live Flux objects, in Azure's vocabulary, and Flux-style conditions.

``compliance`` turns the live source and Kustomizations of one configuration
into ``complianceState`` (Compliant, Non-Compliant, Pending, Suspended,
Unknown) with the failing object's message; ``synced_commit`` reads the
revision the source has fetched. ``set_condition`` is the one helper that
changes a condition list (Ready / Reconciling / Stalled with CamelCase
reasons). ``inventory`` reads what a Kustomization applied (Flux's own
``status.inventory``); ``status_entry`` / ``configuration_statuses`` build Azure's
``statuses[]`` (``appliedBy``, ``statusConditions``, ``helmReleaseProperties``)
and ``configuration_compliance`` the verdict over a whole configuration — one
definition for the reconciler's FluxConfig status, ``fluxgitops status``
(``az k8s-configuration flux deployed-object list`` parity) and the wait in
``pulumi up``. Used by the dynamic provider's outputs, the CLI and the
reconciler. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fluxgitops.fluxconfig.vocabulary import READY, REASON_DEPENDENCY_NOT_READY, REASON_PROGRESSING
from fluxgitops.kinds import FLUX_KINDS

COMPLIANT = "Compliant"
NON_COMPLIANT = "Non-Compliant"
PENDING = "Pending"
SUSPENDED = "Suspended"
UNKNOWN = "Unknown"
COMPLIANCE_STATES = (COMPLIANT, NON_COMPLIANT, PENDING, SUSPENDED, UNKNOWN)
"""Every compliance state (ARM's ``FluxComplianceState`` values; the FluxConfig CRD's enum)."""


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


PROGRESSING_REASONS = frozenset({REASON_PROGRESSING, REASON_DEPENDENCY_NOT_READY})
"""Ready=False reasons that mean "still on its way", not failed: Flux sets them while an object
waits for its dependencies or is mid-reconcile."""

WAITING_FOR_SOURCE = {
    "ArtifactFailed": ("Source artifact not found", "Source is not ready", "Source not ready"),
    "SourceNotReady": (
        "latest generation of object has not been reconciled",
        "does not have an artifact",
    ),
}
"""Ready=False reasons whose message says the object only waits for its source's first artifact
(kustomize-controller and helm-controller requeue them by themselves): matched by message prefix
for ``ArtifactFailed`` and by suffix for ``SourceNotReady`` (helm-controller's "HelmChart 'x' is
not ready: …", whose tail is the chart's own failure when there is one)."""


def waiting_for_source(reason: str, message: str) -> bool:
    """True when a Ready=False ``reason``/``message`` only waits for the source's artifact."""
    if reason == "ArtifactFailed":
        return message.startswith(WAITING_FOR_SOURCE[reason])
    if reason == "SourceNotReady":
        return message.endswith(WAITING_FOR_SOURCE[reason])
    return False


def object_state(obj: Mapping[str, Any]) -> tuple[str, str]:
    """One Flux object's compliance and message, from its Ready condition and generation.

    A Ready=False condition is Non-Compliant with the object's own reason and
    message whatever ``observedGeneration`` says (a source that never fetched
    reports -1); Pending means no Ready condition yet, Ready=Unknown, a
    progressing reason, a wait for the source's first artifact, or Ready=True for an older
    generation.
    """
    if (obj.get("spec") or {}).get("suspend"):
        return SUSPENDED, "suspended"
    ready = condition(obj, READY)
    if ready is None:
        return PENDING, "not reconciled yet"
    reason, message = ready.get("reason") or "", str(ready.get("message", ""))
    waiting = reason in PROGRESSING_REASONS or waiting_for_source(reason, message)
    if ready.get("status") == "False" and not waiting:
        return NON_COMPLIANT, f"{reason or 'Failed'}: {message}"
    meta = obj.get("metadata") or {}
    observed = (obj.get("status") or {}).get("observedGeneration")
    if observed is not None and observed != meta.get("generation"):
        return PENDING, f"not reconciled yet (generation {meta.get('generation')})"
    if ready.get("status") == "True":
        return COMPLIANT, message
    return PENDING, f"{reason or 'Progressing'}: {message}"


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


def configuration_compliance(
    fluxconfig: Mapping[str, Any] | None,
    flux: Iterable[Mapping[str, Any]],
    *,
    reconciler: bool,
) -> Compliance:
    """One configuration's verdict: its rendered Flux objects plus those its Kustomizations
    applied (``flux``), and — with the ``reconciler`` — the FluxConfig status it writes.

    With the reconciler, a FluxConfig it has not reconciled at its current
    generation is Pending, and one it reports Non-Compliant (invalid spec, apply
    refused) is Non-Compliant with its ``errorMessage``, whatever the Flux objects say.
    """
    objects = list(flux)
    if reconciler and fluxconfig is not None:
        meta = fluxconfig.get("metadata") or {}
        status = fluxconfig.get("status") or {}
        where = f"FluxConfig/{meta.get('name', '?')}"
        if status.get("observedGeneration") != meta.get("generation"):
            found = compliance(objects)
            if found.state == NON_COMPLIANT:
                return found
            generation = meta.get("generation")
            return Compliance(
                PENDING,
                f"{where}: not reconciled yet by the reconciler (generation {generation})",
                found.objects,
            )
        if status.get("complianceState") == NON_COMPLIANT and not any(
            object_state(o)[0] == NON_COMPLIANT for o in objects if o.get("kind") in FLUX_KINDS
        ):
            return Compliance(
                NON_COMPLIANT,
                f"{where}: {status.get('errorMessage', '')}",
                compliance(objects).objects,
            )
    return compliance(objects)


@dataclass(frozen=True)
class Applied:
    """One object a Kustomization applied, from its ``status.inventory`` entry."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str

    @property
    def api_version(self) -> str:
        """``group/version`` (``version`` alone for the core group)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


def inventory(kustomization: Mapping[str, Any] | None) -> list[Applied]:
    """What a Kustomization applied, from Flux's ``status.inventory.entries``.

    An entry's ``id`` is ``<namespace>_<name>_<group>_<kind>`` (namespace and group
    empty for cluster-scoped and core objects) and ``v`` its version; malformed
    entries are skipped.
    """
    entries = (((kustomization or {}).get("status") or {}).get("inventory") or {}).get("entries")
    found: list[Applied] = []
    for entry in entries or []:
        parts = str((entry or {}).get("id", "")).split("_")
        if len(parts) != 4 or not parts[1] or not parts[3]:
            continue
        namespace, name, group, kind = parts
        found.append(Applied(group, str(entry.get("v", "v1")), kind, namespace, name))
    return found


def _condition_entry(cond: Mapping[str, Any], now: str) -> dict[str, Any]:
    status = cond.get("status")
    entry: dict[str, Any] = {
        "type": str(cond.get("type", "")),
        "status": status if status in ("True", "False", "Unknown") else "Unknown",
        "lastTransitionTime": str(cond.get("lastTransitionTime") or now),
        "reason": str(cond.get("reason", "")),
        "message": str(cond.get("message", "")),
    }
    if isinstance(cond.get("observedGeneration"), int):
        entry["observedGeneration"] = cond["observedGeneration"]
    return entry


def _reference(text: str) -> dict[str, str]:
    namespace, _, name = text.rpartition("/")
    return {"name": name, "namespace": namespace}


def helm_release_properties(release: Mapping[str, Any]) -> dict[str, Any]:
    """Azure's ``helmReleaseProperties`` from a HelmRelease's status (helm-controller v2):
    ``lastRevisionApplied`` (the Helm release revision of the newest history entry),
    ``helmChartRef`` (``status.helmChart``), and the failure counters."""
    status = release.get("status") or {}
    history = status.get("history") or []
    latest = history[0] if history and isinstance(history[0], Mapping) else {}
    properties: dict[str, Any] = {
        "lastRevisionApplied": int(latest.get("version") or 0),
        "failureCount": int(status.get("failures") or 0),
        "installFailureCount": int(status.get("installFailures") or 0),
        "upgradeFailureCount": int(status.get("upgradeFailures") or 0),
    }
    if status.get("helmChart"):
        properties["helmChartRef"] = _reference(str(status["helmChart"]))
    return properties


def status_entry(
    api_version: str,
    kind: str,
    namespace: str,
    name: str,
    live: Mapping[str, Any] | None,
    *,
    applied_by: tuple[str, str] | None = None,
    now: str,
) -> dict[str, Any]:
    """One ``statuses[]`` entry: the object, its compliance (Pending when not there yet), the
    Kustomization that applied it (``applied_by``: namespace, name), its conditions and, for a
    HelmRelease, ``helmReleaseProperties``."""
    body = live or {"kind": kind, "metadata": {"name": name, "namespace": namespace}}
    state, _ = object_state(body)
    conditions = ((live or {}).get("status") or {}).get("conditions") or []
    entry: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "kind": kind,
        "apiVersion": api_version,
        "complianceState": state,
        "statusConditions": [
            _condition_entry(c, now) for c in conditions if isinstance(c, Mapping)
        ],
    }
    if applied_by is not None:
        entry["appliedBy"] = {"namespace": applied_by[0], "name": applied_by[1]}
    if kind == "HelmRelease" and live is not None:
        entry["helmReleaseProperties"] = helm_release_properties(live)
    return entry


def applied_flux_objects(
    kustomizations: Iterable[Mapping[str, Any] | None],
) -> list[tuple[Applied, tuple[str, str]]]:
    """The Flux objects (HelmReleases, Kustomizations, sources) the Kustomizations applied,
    each with the Kustomization that applied it (namespace, name): what ``statuses[]`` lists
    besides the rendered objects."""
    found: list[tuple[Applied, tuple[str, str]]] = []
    for kustomization in kustomizations:
        meta = (kustomization or {}).get("metadata") or {}
        owner = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        found.extend((a, owner) for a in inventory(kustomization) if a.kind in FLUX_KINDS)
    return found


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

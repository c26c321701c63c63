"""The FluxConfig status: compliance, per-object statuses and the three conditions.

``build_status`` turns the outcome of the last reconcile and the live Flux
objects into ``complianceState``, ``statuses[]``, ``sourceSyncedCommitId``,
``errorMessage``, ``observedGeneration`` and the Ready / Reconciling / Stalled
conditions (through ``fluxgitops.status.set_condition``, the one place
conditions change). Called by the reconciler. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fluxgitops.fluxconfig.vocabulary import (
    READY,
    REASON_APPLY_FAILED,
    REASON_FAILED,
    REASON_INVALID,
    REASON_OWNERSHIP_CONFLICT,
    REASON_PROGRESSING,
    REASON_RETRY,
    REASON_SUCCEEDED,
    REASON_SUSPENDED,
    RECONCILING,
    STALLED,
    Phase,
)
from fluxgitops.kinds import FLUX_KINDS, SOURCE_KINDS
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.status import (
    COMPLIANT,
    NON_COMPLIANT,
    PENDING,
    SUSPENDED,
    Compliance,
    compliance,
    set_condition,
    status_entry,
    synced_commit,
)


@dataclass(frozen=True)
class Outcome:
    """What the last full reconcile of a FluxConfig came to, for ``generation``."""

    phase: Phase
    generation: int
    message: str = ""
    applied: int = 0


def _placeholder(key: ObjectKey) -> dict[str, Any]:
    return {
        "apiVersion": key.api_version,
        "kind": key.kind,
        "metadata": {"name": key.name, "namespace": key.namespace},
    }


Deployed = tuple[ObjectKey, Mapping[str, Any] | None, tuple[str, str]]
"""A Flux object a Kustomization applied (from its inventory), its live copy, and the
Kustomization (namespace, name) that applied it."""


def object_statuses(
    flux: Sequence[tuple[ObjectKey, Mapping[str, Any] | None]],
    now: str,
    deployed: Sequence[Deployed] = (),
) -> list[dict[str, Any]]:
    """``statuses[]``: each rendered Flux object, then each Flux object the Kustomizations
    applied (with ``appliedBy`` and, for HelmReleases, ``helmReleaseProperties``)."""
    out = [
        status_entry(k.api_version, k.kind, k.namespace, k.name, live, now=now) for k, live in flux
    ]
    out.extend(
        status_entry(k.api_version, k.kind, k.namespace, k.name, live, applied_by=by, now=now)
        for k, live, by in deployed
    )
    return out


Cond = tuple[bool | None, str, str]
"""A condition's status (None = Unknown), reason and message."""


@dataclass(frozen=True)
class Verdict:
    """What a status says: compliance, error message, and the three conditions."""

    compliance_state: str
    error: str
    ready: Cond
    reconciling: Cond
    stalled: Cond


def verdict(outcome: Outcome, state: Compliance, has_flux: bool) -> Verdict:
    """The compliance and conditions for ``outcome`` given the Flux objects' ``state``."""
    if outcome.phase in ("invalid", "rejected", "conflict"):
        reason = {"invalid": REASON_INVALID, "conflict": REASON_OWNERSHIP_CONFLICT}.get(
            outcome.phase, REASON_APPLY_FAILED
        )
        return Verdict(
            NON_COMPLIANT,
            outcome.message,
            (False, reason, outcome.message),
            (False, reason, "reconciliation stalled"),
            (True, reason, outcome.message),
        )
    if outcome.phase == "suspended":
        message = "reconciliation is suspended (spec.suspend: true)"
        return Verdict(
            SUSPENDED,
            "",
            (None, REASON_SUSPENDED, message),
            (False, REASON_SUSPENDED, message),
            (False, REASON_SUSPENDED, message),
        )
    if outcome.phase == "retrying":
        return Verdict(
            state.state if has_flux else PENDING,
            outcome.message,
            (None, REASON_RETRY, outcome.message),
            (True, REASON_RETRY, outcome.message),
            (False, REASON_RETRY, "retrying"),
        )
    applied = f"Applied {outcome.applied} objects"
    if state.state == COMPLIANT:
        return Verdict(
            COMPLIANT,
            "",
            (True, REASON_SUCCEEDED, f"{applied}; {state.message}"),
            (False, REASON_SUCCEEDED, applied),
            (False, REASON_SUCCEEDED, applied),
        )
    if state.state == NON_COMPLIANT:
        return Verdict(
            NON_COMPLIANT,
            state.message,
            (False, REASON_FAILED, state.message),
            (False, REASON_FAILED, applied),
            (False, REASON_FAILED, applied),
        )
    # Pending, or every Flux object suspended by hand
    return Verdict(
        state.state,
        "",
        (None, REASON_PROGRESSING, f"{applied}; {state.message}"),
        (True, REASON_PROGRESSING, state.message),
        (False, REASON_PROGRESSING, applied),
    )


def build_status(
    previous: Mapping[str, Any] | None,
    *,
    outcome: Outcome,
    flux: Sequence[tuple[ObjectKey, Mapping[str, Any] | None]],
    deployed: Sequence[Deployed] = (),
    public_key: str = "",
    now: str,
) -> dict[str, Any]:
    """The FluxConfig ``status`` for ``outcome`` and the live Flux objects ``flux``.

    ``flux`` lists the rendered Flux objects (source first) with their live copy
    (None when not there yet, which counts as Pending); ``deployed`` the Flux
    objects their Kustomizations applied (HelmReleases …), which count towards
    compliance too. ``statusUpdatedAt`` moves only when something else changes.
    """
    prev = dict(previous or {})
    gen = outcome.generation
    objects = [live or _placeholder(key) for key, live in flux]
    objects += [live or _placeholder(key) for key, live, _ in deployed]
    found = verdict(outcome, compliance(objects), bool(flux))
    conditions: list[dict[str, Any]] = list(prev.get("conditions") or [])
    for kind, (value, reason, message) in (
        (READY, found.ready),
        (RECONCILING, found.reconciling),
        (STALLED, found.stalled),
    ):
        conditions = set_condition(
            conditions, kind, value, reason=reason, message=message, generation=gen, now=now
        )
    status: dict[str, Any] = {
        "conditions": conditions,
        "complianceState": found.compliance_state,
        "errorMessage": found.error,
        "statuses": object_statuses(flux, now, deployed) if outcome.phase != "invalid" else [],
    }
    source = next((live for key, live in flux if key.kind in SOURCE_KINDS), None)
    commit = synced_commit(source)
    if commit:
        status["sourceSyncedCommitId"] = commit
        artifact = ((source or {}).get("status") or {}).get("artifact") or {}
        if artifact.get("lastUpdateTime"):
            status["sourceUpdatedAt"] = str(artifact["lastUpdateTime"])
    if public_key:
        status["repositoryPublicKey"] = public_key
    if outcome.phase != "retrying":
        status["observedGeneration"] = gen
    elif "observedGeneration" in prev:
        status["observedGeneration"] = prev["observedGeneration"]
    changed = status_changed(prev, status)
    status["statusUpdatedAt"] = now if changed else str(prev.get("statusUpdatedAt") or now)
    return status


def status_changed(previous: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when ``new`` says something ``previous`` does not (``statusUpdatedAt`` aside)."""
    ignored = ("statusUpdatedAt",)
    before = {k: v for k, v in previous.items() if k not in ignored}
    after = {k: v for k, v in new.items() if k not in ignored}
    return before != after


def status_patch(previous: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning status ``previous`` into ``new`` (removed keys set to null)."""
    patch: dict[str, Any] = {k: None for k in previous if k not in new}
    patch.update(new)
    return patch


def stale_keys(
    live: Iterable[ObjectKey], desired: Iterable[ObjectKey], keep: Iterable[ObjectKey] = ()
) -> list[ObjectKey]:
    """Live keys of a configuration that are no longer rendered (``keep`` is never stale)."""
    wanted = set(desired) | set(keep)
    return sorted(key for key in set(live) if key not in wanted)


def flux_keys(manifests: Iterable[Manifest]) -> list[ObjectKey]:
    """The keys of the Flux objects among ``manifests``, in order."""
    return [m.key for m in manifests if m.key.kind in FLUX_KINDS]

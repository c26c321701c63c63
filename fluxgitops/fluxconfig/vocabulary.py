"""The FluxConfig's vocabulary: condition types and reasons, finalizer, annotations, phases.

Flux's words (Ready / Reconciling / Stalled, CamelCase reasons) and ours; every
module that writes or reads a FluxConfig status imports them from here. Pure.
"""

from __future__ import annotations

from typing import Literal

from fluxgitops.meta import (
    FIELD_MANAGER,
)

CR_ONLY_FIELDS = ("multiTenancy", "generateSshKey", "protectedSettingsRef")
"""Keys of the CR spec that are not part of the configuration itself."""

FINALIZER = "fluxgitops.io/finalizer"
ANNOTATION_FORCE_FINALIZE = "fluxgitops.io/force-finalize"
"""Escape hatch: ``"true"`` removes the finalizer at once, leaving the objects behind."""
ANNOTATION_REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
"""Flux's convention: a changed value asks for a reconcile now."""

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
"""The condition types a FluxConfig carries, as Flux's objects do (kstatus)."""

REASON_SUCCEEDED = "ReconciliationSucceeded"
REASON_FAILED = "ReconciliationFailed"
REASON_PROGRESSING = "Progressing"
REASON_DEPENDENCY_NOT_READY = "DependencyNotReady"
"""Flux's reason while an object waits for its ``dependsOn``."""
REASON_RETRY = "ProgressingWithRetry"
REASON_INVALID = "ValidationFailed"
REASON_APPLY_FAILED = "ApplyFailed"
REASON_SUSPENDED = "Suspended"
REASON_OWNERSHIP_CONFLICT = "OwnershipConflict"

RECONCILER_FIELD_MANAGER = f"{FIELD_MANAGER}-reconciler"
"""The reconciler's server-side apply field manager (the provider's is ``FIELD_MANAGER``)."""

Phase = Literal["applied", "invalid", "rejected", "conflict", "retrying", "suspended"]


def subject(namespace: str, name: str) -> str:
    """How messages name a FluxConfig."""
    return f"FluxConfig {namespace}/{name}"

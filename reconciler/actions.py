"""One reconcile, one finalization, one status write of a FluxConfig: the reconciler's cluster I/O.

Synchronous lightkube calls (``fluxgitops.kube``), run by
``reconciler.operator`` in its worker threads; every function takes the
client and a snapshot of what the operator knows, and returns what happened —
no shared state is touched here. Decisions (what the CR means, what is owned,
what the status says) come from the pure ``fluxgitops.fluxconfig``.
Errors are classified by class (``fluxgitops.kube.boundary`` maps API answers
once), never raised past the caller: temporary ones (API unreachable, 429,
5xx, 409/410) retry with backoff; permanent ones stall the
FluxConfig with a message. The generated private key is never logged.

Ownership (the I/O in ``reconciler.ownership``): before anything is applied,
every object the FluxConfig renders is checked against the live one (the watch
cache, else a read):
``fluxconfig.ownership.foreign_owner`` must find it absent or ours, or nothing is
written and the FluxConfig is Stalled ``OwnershipConflict``. Pruning and
finalizing delete only what the inventory (``status.inventory``) says we
applied, plus objects labelled for the configuration that one of our field
managers wrote (applied before a crash could record them) — never an object
someone else labelled or took over. ``collect_orphans`` does the same for a
FluxConfig that is gone. The client may be a ``reconciler.election.FencedClient``:
a write after the Lease was lost raises ``LeaseLostError`` (reported as
``fenced``, never as a status).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lightkube import Client
from lightkube.types import PatchType

from fluxgitops.errors import (
    DeletionTimeoutError,
    FluxGitOpsError,
    LeaseLostError,
    NotFoundError,
    OwnershipConflictError,
    PermanentError,
    SpecError,
    StaleObjectError,
    TemporaryError,
)
from fluxgitops.fluxconfig.drift import cached, view
from fluxgitops.fluxconfig.ownership import owned_keys
from fluxgitops.fluxconfig.readback import (
    DesiredConfiguration,
    configuration_from_cr,
    identity_from_secret,
    owned_manifests,
    protected_settings_ref,
    secret_to_read,
)
from fluxgitops.fluxconfig.status import Outcome, stale_keys
from fluxgitops.fluxconfig.vocabulary import ANNOTATION_FORCE_FINALIZE, FINALIZER, Phase, subject
from fluxgitops.kinds import RBAC_KINDS
from fluxgitops.kube.apply import apply_concurrently, apply_manifests
from fluxgitops.kube.boundary import api_errors, or_none
from fluxgitops.kube.client import resource_for
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import (
    FLUXCONFIG_API_VERSION,
    FLUXCONFIG_KIND,
    labels_for,
)
from fluxgitops.sshkeys import SshIdentity, generate_ed25519
from reconciler.ownership import (
    Lookup,
    check_ownership,
    cleanup,
    no_cache,
    ours_to_delete,
    owned_by,
    prune,
    shared_by_labels,
)
from reconciler.secretcache import SecretCache

log = logging.getLogger("fluxgitops.reconciler")

FINALIZE_POLL = 2.0


def utcnow() -> str:
    """Now, as Kubernetes writes times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_after(exc: BaseException) -> float | None:
    """The server's ``Retry-After`` in seconds, when a temporary error carries one."""
    return exc.retry_after if isinstance(exc, TemporaryError) else None


def is_temporary(exc: BaseException) -> bool:
    """True for errors that may pass on retry: unreachable, throttled, conflicts, expired lists.

    Decided by the class alone (``fluxgitops.kube.boundary`` maps every API answer
    once): an object too large for the API server or etcd is permanent, so the
    FluxConfig is Stalled with the message instead of retried forever."""
    return isinstance(exc, TemporaryError)


def _fluxconfig() -> Any:
    return resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = body.get("metadata") or {}
    return meta


def _as_dict(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return data


# ---------------------------------------------------------------- small calls


def read_fluxconfig(client: Client, namespace: str, name: str) -> dict[str, Any] | None:
    """The live FluxConfig, or None when it is gone."""
    live = or_none(
        subject(namespace, name), lambda: client.get(_fluxconfig(), name, namespace=namespace)
    )
    return None if live is None else _as_dict(live)


def fluxconfig_count(client: Client, namespace: str) -> int:
    """How many FluxConfigs namespace ``namespace`` holds (read from the API, not a cache)."""
    with api_errors(f"FluxConfig list in {namespace}"):
        return sum(1 for _ in client.list(_fluxconfig(), namespace=namespace))


def update_finalizers(
    client: Client, namespace: str, name: str, change: Callable[[list[str]], list[str]]
) -> dict[str, Any] | None:
    """Change the finalizers with optimistic concurrency (re-read on 409); the new body or None."""
    where = subject(namespace, name)
    for _attempt in range(5):
        try:
            with api_errors(where):
                live = _as_dict(client.get(_fluxconfig(), name, namespace=namespace))
            current = list(_meta(live).get("finalizers") or [])
            wanted = change(current)
            if wanted == current:
                return live
            patch = {
                "metadata": {
                    "finalizers": wanted or None,
                    "resourceVersion": _meta(live).get("resourceVersion"),
                }
            }
            with api_errors(where):
                patched = client.patch(
                    _fluxconfig(), name, patch, namespace=namespace, patch_type=PatchType.MERGE
                )
            return _as_dict(patched)
        except NotFoundError:
            return None
        except StaleObjectError:
            continue
    raise StaleObjectError(f"{where}: changed by someone else five times in a row; retrying")


def write_status(
    client: Client, namespace: str, name: str, patch: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Merge-patch ``status`` (no resourceVersion: the reconciler is its only writer)."""
    live = or_none(
        f"{subject(namespace, name)} status",
        lambda: client.patch(
            _fluxconfig().Status,
            name,
            {"status": dict(patch)},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        ),
    )
    return None if live is None else _as_dict(live)


# ---------------------------------------------------------------- reconcile


@dataclass(frozen=True)
class ReconcileInput:
    """What the operator knows about one FluxConfig when a worker picks it up."""

    body: Mapping[str, Any]
    refresh: bool = False
    """Read the FluxConfig first: ``body`` may be stale (after an outage or a leader change)."""
    owned: frozenset[ObjectKey] = frozenset()
    """Live objects labelled with this configuration (from the watch cache)."""
    shared: frozenset[ObjectKey] = frozenset()
    """Live shared objects of the namespace."""
    shared_wanted: frozenset[ObjectKey] | None = frozenset()
    """Shared objects other FluxConfigs of the namespace render (None: not known yet)."""
    lookup: Lookup = no_cache
    """The watch cache of labelled objects (read from the worker thread; dict reads only)."""
    secrets: SecretCache = field(default_factory=SecretCache)
    """Secret data the watch delivered (the default knows nothing: every Secret is read)."""
    apply_pool: Executor | None = None
    """Apply the objects concurrently on this executor (``kinds.ORDERING_KINDS`` waves);
    None: one after another."""


@dataclass
class ReconcileResult:
    """What a reconcile did; ``desired`` is None when nothing could be rendered."""

    outcome: Outcome
    desired: dict[ObjectKey, dict[str, Any]] | None = None
    protected: ObjectKey | None = None
    public_key: str = ""
    applied: list[dict[str, Any]] = field(default_factory=list)
    body: dict[str, Any] | None = None
    delay: float | None = None
    """Retry after this many seconds (None: the queue's backoff decides)."""
    gone: bool = False
    """The FluxConfig no longer exists (deleted while the watch was down)."""
    inventory: list[ObjectKey] | None = None
    """What this reconcile applied (None: nothing, the recorded inventory stands)."""
    fenced: bool = False
    """A write was refused because this replica lost the Lease: no status, no retry here."""


def _retrying(gen: int, exc: BaseException) -> ReconcileResult:
    return ReconcileResult(Outcome("retrying", gen, str(exc)), delay=retry_after(exc))


def _identity(desired: DesiredConfiguration, secret_data: Mapping[str, str] | None) -> SshIdentity:
    """The generated key kept in the auth Secret, or a new one (the private key is not logged)."""
    identity = identity_from_secret(secret_data)
    if identity is None:
        identity = generate_ed25519()
        log.info(
            "%s: generated an ed25519 key in Secret %s; its public key is in "
            "status.repositoryPublicKey",
            subject(desired.spec.namespace, desired.spec.name),
            desired.auth_secret.name,
        )
    return identity


def _generated_identity(
    client: Client,
    inp: ReconcileInput,
    desired: DesiredConfiguration,
    secret_data: Mapping[str, str] | None,
) -> SshIdentity | None:
    """The key to put in ``<name>-auth`` when the reconciler generates it (None otherwise);
    never generated over, nor taken from, a Secret that is not ours."""
    if not desired.generate_ssh_key:
        return None
    spec = desired.spec
    labels = labels_for(spec.name, spec.namespace)
    check_ownership(
        client, [(desired.auth_secret, labels)], inp.lookup, subject(spec.namespace, spec.name)
    )
    return _identity(desired, secret_data)


def _stale(
    client: Client,
    inp: ReconcileInput,
    views: Mapping[ObjectKey, Any],
    desired: DesiredConfiguration,
) -> list[ObjectKey]:
    """Objects we applied (inventory) or labelled ours that are no longer rendered; never the
    applier's Secrets, never what someone else took over; shared RBAC only when no other
    FluxConfig of the namespace renders it."""
    keep = [desired.auth_secret]
    if desired.protected_settings is not None:
        keep.append(ObjectKey("v1", "Secret", desired.spec.namespace, desired.protected_settings))
    recorded = owned_keys(inp.body)
    mine = [k for k in recorded if k.kind not in RBAC_KINDS] + list(inp.owned)
    candidates = stale_keys(mine, views, keep=keep)
    expected = labels_for(desired.spec.name, desired.spec.namespace)
    stale, left = ours_to_delete(client, candidates, expected, recorded, inp.lookup)
    if left:
        log.warning(
            "%s: no longer rendered but not ours any more, left in place: %s",
            subject(desired.spec.namespace, desired.spec.name),
            ", ".join(left),
        )
    if inp.shared_wanted is not None:
        stale += stale_keys(inp.shared, views, keep=inp.shared_wanted)
    return stale


def _apply(
    client: Client, manifests: list[Manifest], pool: Executor | None
) -> list[dict[str, Any]]:
    """Server-side apply (forced) one after another, or concurrently on ``pool``."""
    if pool is None:
        return apply_manifests(client, manifests, force=True)
    return apply_concurrently(client, manifests, force=True, pool=pool)


def reconcile(
    client: Client,
    inp: ReconcileInput,
    publish: Callable[[dict[ObjectKey, dict[str, Any]], ObjectKey | None], None],
) -> ReconcileResult:
    """Bring one FluxConfig's objects in line with its spec; never raises for cluster errors.

    ``publish`` receives the desired objects before they are applied, so the
    events caused by the apply are recognised as ours, not as drift.
    """
    meta = _meta(inp.body)
    name, namespace = str(meta["name"]), str(meta["namespace"])
    gen = int(meta.get("generation") or 0)
    where = subject(namespace, name)
    body: dict[str, Any] | None = None
    try:
        if inp.refresh:
            body = read_fluxconfig(client, namespace, name)
            if body is None:
                return ReconcileResult(Outcome("retrying", gen, f"{where} is gone"), gone=True)
            meta, gen = _meta(body), int(_meta(body).get("generation") or 0)
            if meta.get("deletionTimestamp"):
                return ReconcileResult(
                    Outcome("retrying", gen, f"{where} is being deleted"), body=body
                )
        cr_spec = (body or inp.body).get("spec") or {}
        if FINALIZER not in (meta.get("finalizers") or []):
            body = update_finalizers(
                client, namespace, name, lambda f: f if FINALIZER in f else [*f, FINALIZER]
            )
            if body is None:
                return ReconcileResult(Outcome("retrying", gen, f"{where} is gone"), gone=True)
        secret_name = secret_to_read(name, cr_spec) if isinstance(cr_spec, Mapping) else None
        secret_data = inp.secrets.read(client, namespace, secret_name) if secret_name else None
        ref = protected_settings_ref(cr_spec) if isinstance(cr_spec, Mapping) else None
        if ref is not None and secret_data is None:
            message = (
                f"{where}: its protected settings Secret {namespace}/{ref} does not exist; "
                f"waiting for whoever applied the FluxConfig to create it"
            )
            return ReconcileResult(Outcome("retrying", gen, message), body=body)
        try:
            desired = configuration_from_cr(name, namespace, cr_spec, secret_data)
        except SpecError as exc:
            log.warning("%s", exc)
            return ReconcileResult(Outcome("invalid", gen, str(exc)), body=body)
        identity = _generated_identity(client, inp, desired, secret_data)
        manifests = owned_manifests(desired, identity)
        check_ownership(client, owned_by(manifests), inp.lookup, where)
        views = {m.key: view(m.body) for m in manifests}
        protected = None if desired.generate_ssh_key else desired.auth_secret
        publish(views, protected)
        applied = _apply(client, manifests, inp.apply_pool)
        stale = _stale(client, inp, views, desired)
        prune(client, stale)
        if stale:
            log.info("%s: removed %s", where, ", ".join(str(k) for k in stale))
        phase: Phase = "suspended" if desired.spec.suspend else "applied"
        log.debug("%s: applied %d objects (generation %d)", where, len(manifests), gen)
        return ReconcileResult(
            Outcome(phase, gen, applied=len(manifests)),
            desired=views,
            protected=protected,
            public_key=identity.public_key if identity is not None else "",
            applied=[cached(o) for o in applied],
            body=body,
            inventory=[m.key for m in manifests],
        )
    except LeaseLostError as exc:
        log.info("%s: %s", where, exc)
        return ReconcileResult(Outcome("retrying", gen, str(exc)), fenced=True)
    except OwnershipConflictError as exc:
        log.warning("%s", exc)
        return ReconcileResult(Outcome("conflict", gen, str(exc)), body=body)
    except FluxGitOpsError as exc:
        if is_temporary(exc):
            log.info("%s: %s", where, exc)
            return _retrying(gen, exc)
        if isinstance(exc, PermanentError):
            log.warning("%s: %s", where, exc)
            return ReconcileResult(Outcome("rejected", gen, str(exc)), body=body)
        raise


# ---------------------------------------------------------------- finalize


@dataclass(frozen=True)
class FinalizeResult:
    """``done`` when the finalizer is gone (or was never there); else retry after ``delay``."""

    done: bool
    message: str = ""
    delay: float = FINALIZE_POLL


def _deletion_age(body: Mapping[str, Any]) -> float:
    stamp = _meta(body).get("deletionTimestamp")
    if not stamp:
        return 0.0
    try:
        when = datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return (datetime.now(UTC) - when).total_seconds()


def collect_orphans(
    client: Client, namespace: str, name: str | None, *, others_remain: bool
) -> list[ObjectKey] | None:
    """Delete the objects of FluxConfig ``namespace/name`` if it no longer exists (its finalizer
    was removed by hand, or it was deleted before its first reconcile); ``name`` None: the
    namespace's shared RBAC, when no FluxConfig remains there. The keys deleted; None when the
    FluxConfig exists after all (the cache lagged)."""
    if name is not None and read_fluxconfig(client, namespace, name) is not None:
        return None
    if name is None:
        if others_remain or fluxconfig_count(client, namespace):
            return None
        keys = shared_by_labels(client, namespace)
        prune(client, keys)
        return keys
    with contextlib.suppress(DeletionTimeoutError):  # Flux finalizers: their controllers go on
        return cleanup(
            client,
            namespace,
            name,
            [],
            others_remain=others_remain,
            timeout=0.0,
            remove_finalizers=False,
        )
    return []


def finalize(
    client: Client,
    body: Mapping[str, Any],
    *,
    others_remain: bool,
    tombstone: bool,
    timeout: float,
) -> FinalizeResult:
    """Delete what a deleted FluxConfig applied (its inventory, plus labelled objects our field
    managers wrote), then remove the finalizer.

    Flux objects and Secrets go first; the namespace's shared ``flux-applier``
    RBAC goes last and only when no other FluxConfig of the namespace remains
    (Flux impersonates it while it prunes). Objects still held by finalizers
    ``timeout`` seconds after the deletion lose their finalizers; the
    ``fluxgitops.io/force-finalize: "true"`` annotation skips the cleanup
    entirely. ``tombstone``: the FluxConfig is already gone (its finalizer was
    removed by hand), so only the cleanup is left.
    """
    meta = _meta(body)
    name, namespace = str(meta["name"]), str(meta["namespace"])
    where = subject(namespace, name)
    try:
        force = (meta.get("annotations") or {}).get(ANNOTATION_FORCE_FINALIZE) == "true"
        if force and not tombstone:
            update_finalizers(client, namespace, name, lambda f: [x for x in f if x != FINALIZER])
            log.warning(
                "%s: %s is set; its objects were left in place", where, ANNOTATION_FORCE_FINALIZE
            )
            return FinalizeResult(True, "finalizer removed without cleanup")
        overdue = _deletion_age(body) >= timeout
        deleted = cleanup(
            client,
            namespace,
            name,
            owned_keys(body),
            others_remain=others_remain,
            timeout=0.5,
            remove_finalizers=overdue,
        )
        if not tombstone:
            update_finalizers(client, namespace, name, lambda f: [x for x in f if x != FINALIZER])
        log.info("%s: deleted %d objects, finalizer removed", where, len(deleted))
        return FinalizeResult(True, f"deleted {len(deleted)} objects")
    except LeaseLostError:
        raise  # the operator steps down; the next leader finalizes
    except DeletionTimeoutError as exc:
        message = f"{where}: waiting for deleted objects to go: {exc}"
        log.info("%s", message)
        return FinalizeResult(False, message)
    except FluxGitOpsError as exc:
        log.warning("%s: cleanup failed, retrying: %s", where, exc)
        return FinalizeResult(False, str(exc), delay=retry_after(exc) or FINALIZE_POLL)

"""What is ours in the cluster: read it, check it before a write, choose what to delete, delete it.

The reconciler's ownership I/O, with the rules from ``fluxgitops.fluxconfig``
(``foreign_owner`` before a write, ``deletable`` before a delete):
``check_ownership`` raises ``OwnershipConflictError`` naming every rendered
object that exists but is not ours; ``ours_to_delete`` keeps only what the
inventory or our field managers vouch for; ``cleanup`` deletes what a
configuration applied (and the namespace's shared RBAC with its last
configuration). Synchronous lightkube calls, run by ``reconciler.actions`` in
the operator's worker threads (through the fenced client).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lightkube import Client
from lightkube.operators import not_exists

from fluxgitops.errors import DeletionTimeoutError, OwnershipConflictError
from fluxgitops.fluxconfig.drift import view
from fluxgitops.fluxconfig.ownership import deletable, foreign_owner
from fluxgitops.fluxconfig.vocabulary import subject
from fluxgitops.kinds import MANAGED_KINDS, RBAC_KINDS
from fluxgitops.kube.apply import delete_objects, list_labelled, read_object
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import LABEL_CONFIGURATION, LABEL_CONFIGURATION_NAMESPACE, labels_for

log = logging.getLogger("fluxgitops.reconciler")


def list_keys(
    client: Client, namespace: str, labels: Mapping[str, Any], kinds: Iterable[tuple[str, str]]
) -> list[ObjectKey]:
    """Keys of the objects of ``kinds`` carrying ``labels`` (cluster-scoped kinds: anywhere)."""
    return [Manifest(body).key for body in list_labelled(client, namespace, labels, kinds)]


def owned_by_labels(client: Client, namespace: str, name: str) -> dict[ObjectKey, dict[str, Any]]:
    """Every object labelled as belonging to configuration ``namespace/name`` (``view``s)."""
    labels = {LABEL_CONFIGURATION: name, LABEL_CONFIGURATION_NAMESPACE: namespace}
    return {
        Manifest(body).key: view(body)
        for body in list_labelled(client, namespace, labels, MANAGED_KINDS)
    }


def shared_by_labels(client: Client, namespace: str) -> list[ObjectKey]:
    """The namespace's shared objects (``flux-applier`` RBAC): namespace label, no config label."""
    labels = {LABEL_CONFIGURATION_NAMESPACE: namespace, LABEL_CONFIGURATION: not_exists()}
    return list_keys(client, namespace, labels, [k for k in MANAGED_KINDS if k[1] in RBAC_KINDS])


Lookup = Callable[[ObjectKey], Mapping[str, Any] | None]
"""The watch cache's live copy (a ``view``) of a labelled object, or None when not cached."""


def no_cache(_key: ObjectKey) -> Mapping[str, Any] | None:
    """A ``Lookup`` that knows nothing (every object is read)."""
    return None


def live_view(client: Client, key: ObjectKey, lookup: Lookup = no_cache) -> dict[str, Any] | None:
    """The live object as a ``view``: from the cache, else read (None when it does not exist)."""
    cached = lookup(key)
    if cached is not None:
        return dict(cached)
    live = read_object(client, key)
    return view(live) if live is not None else None


def owned_by(manifests: Iterable[Manifest]) -> list[tuple[ObjectKey, Mapping[str, str]]]:
    """Each manifest's key with the labels that say who owns it."""
    return [(m.key, m.body["metadata"].get("labels") or {}) for m in manifests]


def check_ownership(
    client: Client,
    wanted: Sequence[tuple[ObjectKey, Mapping[str, str]]],
    lookup: Lookup,
    where: str,
) -> None:
    """Raise ``OwnershipConflictError`` naming every rendered object that exists but is not ours.

    A cached copy that looks ours is trusted; anything else (not cached, or
    cached as someone else's) is read again, so a stale cache never blocks.
    """
    conflicts: list[tuple[str, str]] = []
    for key, labels in wanted:
        cached = lookup(key)
        if cached is not None and foreign_owner(labels, cached) is None:
            continue
        live = read_object(client, key)
        owner = foreign_owner(labels, view(live) if live is not None else None)
        if owner is not None:
            conflicts.append((str(key), owner))
    if conflicts:
        raise OwnershipConflictError(where, conflicts)


def ours_to_delete(
    client: Client,
    candidates: Iterable[ObjectKey],
    expected: Mapping[str, str],
    recorded: Iterable[ObjectKey],
    lookup: Lookup = no_cache,
) -> tuple[list[ObjectKey], list[str]]:
    """Of ``candidates``, those still ours to delete (and why the others were left).

    Recorded in the inventory and still labelled ``expected``; or labelled
    ``expected`` and written by one of our field managers (applied, not yet
    recorded). Objects that are gone drop out silently.
    """
    recorded = set(recorded)
    keep: list[ObjectKey] = []
    left: list[str] = []
    for key in sorted(set(candidates)):
        live = live_view(client, key, lookup)
        if live is None:
            continue
        if deletable(expected, live, recorded=key in recorded):
            keep.append(key)
        else:
            left.append(str(key))
    return keep, left


def prune(client: Client, keys: Sequence[ObjectKey]) -> None:
    """Delete ``keys`` without waiting for Flux finalizers (their controllers take over)."""
    if not keys:
        return
    with contextlib.suppress(DeletionTimeoutError):
        delete_objects(client, list(keys), timeout=0.0, poll=0.0)


def cleanup(
    client: Client,
    namespace: str,
    name: str,
    recorded: Sequence[ObjectKey],
    *,
    others_remain: bool,
    timeout: float,
    remove_finalizers: bool,
) -> list[ObjectKey]:
    """Delete what configuration ``namespace/name`` applied (and, if it was the namespace's last,
    the shared RBAC); the keys deleted. Flux objects and Secrets first, RBAC last."""
    owned = owned_by_labels(client, namespace, name)
    candidates = set(owned) | {k for k in recorded if k.kind not in RBAC_KINDS}
    mine, left = ours_to_delete(
        client, candidates, labels_for(name, namespace), recorded, owned.get
    )
    if left:
        log.warning(
            "%s: not ours any more, left in place: %s", subject(namespace, name), ", ".join(left)
        )
    shared = [] if others_remain else shared_by_labels(client, namespace)
    first = [k for k in mine if k.kind not in RBAC_KINDS]
    last = [k for k in mine if k.kind in RBAC_KINDS] + shared
    for keys in (first, last):
        if keys:
            delete_objects(
                client, keys, timeout=timeout, poll=0.1, remove_finalizers=remove_finalizers
            )
    return first + last

"""Apply, read and delete rendered objects with server-side apply.

``apply_manifests`` server-side-applies ``Manifest``s in order with field
manager ``fluxgitops`` (conflicts become ``ApplyConflictError`` naming each
field and its manager; ``force`` takes ownership); ``apply_concurrently`` does
the same with several requests in flight where the order does not matter.
``read_objects`` returns what is live (``list_objects``: one LIST of a kind),
``write_inventory`` records what was applied on the FluxConfig's status,
``delete_objects`` deletes in reverse order and waits for finalizers with a
timeout — it never hangs. Called by the dynamic provider, the CLI and the
reconciler. API errors are translated by ``kube.boundary``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from typing import Any

from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace
from lightkube.types import PatchType

from fluxgitops.errors import AlreadyExistsError, DeletionTimeoutError, NotFoundError
from fluxgitops.fluxconfig.ownership import inventory_status
from fluxgitops.kinds import CLUSTER_SCOPED_KINDS, ORDERING_KINDS, OWNED_KINDS
from fluxgitops.kube.boundary import api_errors, or_none
from fluxgitops.kube.client import resource_for
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import LABEL_CONFIGURATION, LABEL_MANAGED_BY

ALL_NAMESPACES = "*"
"""lightkube's namespace for a LIST over every namespace."""


def _resource(key: ObjectKey) -> Any:
    return resource_for(key.api_version, key.kind)


def ensure_namespace(client: Client, name: str) -> None:
    """Create namespace ``name`` if missing (never deleted by us: it may hold other things)."""
    where = f"Namespace {name}"
    if or_none(where, lambda: client.get(Namespace, name)) is not None:
        return
    with contextlib.suppress(AlreadyExistsError), api_errors(where):
        client.create(
            Namespace(metadata=ObjectMeta(name=name, labels={LABEL_MANAGED_BY: "fluxgitops"}))
        )


def _as_dict(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return data


def apply_manifests(
    client: Client, manifests: Sequence[Manifest], *, force: bool = False
) -> list[dict[str, Any]]:
    """Server-side apply every manifest in order; the live objects the server returned."""
    applied: list[dict[str, Any]] = []
    for manifest in manifests:
        obj = codecs.from_dict(manifest.to_dict())
        with api_errors(str(manifest.key)):
            live = client.apply(obj, force=force)
        applied.append(_as_dict(live))
    return applied


def apply_concurrently(
    client: Client,
    manifests: Sequence[Manifest],
    *,
    force: bool = False,
    workers: int = 8,
    pool: Executor | None = None,
) -> list[dict[str, Any]]:
    """``apply_manifests`` with up to ``workers`` applies in flight: the objects between two
    ``ORDERING_KINDS`` objects (CRDs, Namespaces, admission configuration) go concurrently,
    those objects alone and in order. The live objects in ``manifests`` order; the first
    failure in that order is raised once the wave it is in has finished. ``pool``: run them
    on this executor (a long-lived one, e.g. the reconciler's) instead of a new one."""
    waves: list[list[Manifest]] = []
    for manifest in manifests:
        after_ordering = bool(waves) and waves[-1][-1].key.kind in ORDERING_KINDS
        if not waves or after_ordering or manifest.key.kind in ORDERING_KINDS:
            waves.append([manifest])
        else:
            waves[-1].append(manifest)
    applied: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=max(1, workers)))
        for wave in waves:
            if len(wave) == 1:
                applied.extend(apply_manifests(client, wave, force=force))
                continue
            futures = [pool.submit(apply_manifests, client, [m], force=force) for m in wave]
            wait(futures)
            for future in futures:
                applied.extend(future.result())
    return applied


def read_object(client: Client, key: ObjectKey) -> dict[str, Any] | None:
    """The live object, or None when it does not exist."""
    resource = _resource(key)
    if key.namespace:
        live = or_none(str(key), lambda: client.get(resource, key.name, namespace=key.namespace))
    else:
        live = or_none(str(key), lambda: client.get(resource, key.name))
    return None if live is None else _as_dict(live)


def read_objects(
    client: Client, keys: Iterable[ObjectKey]
) -> dict[ObjectKey, dict[str, Any] | None]:
    """Each key's live object (None when missing)."""
    return {key: read_object(client, key) for key in keys}


def write_inventory(
    client: Client, holder: ObjectKey, keys: Iterable[ObjectKey]
) -> dict[str, Any] | None:
    """Record ``keys`` as ``holder``'s ``status.inventory`` (the FluxConfig's status
    subresource, a merge patch replacing the whole list, as the reconciler writes it); the
    patched object, or None when ``holder`` is gone."""
    patch = {"status": {"inventory": inventory_status(keys)}}
    resource = _resource(holder).Status
    live = or_none(
        f"{holder} status",
        lambda: client.patch(
            resource, holder.name, patch, namespace=holder.namespace, patch_type=PatchType.MERGE
        ),
    )
    return None if live is None else _as_dict(live)


def _delete(client: Client, key: ObjectKey) -> None:
    with contextlib.suppress(NotFoundError), api_errors(str(key)):
        if key.namespace:
            client.delete(_resource(key), key.name, namespace=key.namespace)
        else:
            client.delete(_resource(key), key.name)


def _drop_finalizers(client: Client, key: ObjectKey) -> None:
    patch = {"metadata": {"finalizers": None}}
    with contextlib.suppress(NotFoundError), api_errors(str(key)):
        if key.namespace:
            client.patch(
                _resource(key), key.name, patch, namespace=key.namespace, patch_type=PatchType.MERGE
            )
        else:
            client.patch(_resource(key), key.name, patch, patch_type=PatchType.MERGE)


def delete_objects(
    client: Client,
    keys: Sequence[ObjectKey],
    *,
    timeout: float = 120.0,
    remove_finalizers: bool = False,
    poll: float = 0.25,
) -> None:
    """Delete ``keys`` in reverse order and wait until they are gone.

    Objects still present after ``timeout`` (Flux finalizers whose controller is
    not running) raise ``DeletionTimeoutError`` naming them and their
    finalizers — or, with ``remove_finalizers``, get their finalizers removed.
    """
    for key in reversed(keys):
        _delete(client, key)
    deadline = time.monotonic() + timeout
    pending = list(keys)
    while pending:
        pending = [key for key in pending if read_object(client, key) is not None]
        if not pending:
            return
        if time.monotonic() >= deadline:
            if remove_finalizers:
                for key in pending:
                    _drop_finalizers(client, key)
                remove_finalizers = False
                deadline = time.monotonic() + timeout
                continue
            held = []
            for key in pending:
                live = read_object(client, key) or {}
                finalizers = live.get("metadata", {}).get("finalizers") or []
                held.append(f"{key} (finalizers {finalizers})")
            raise DeletionTimeoutError(
                f"still present {timeout:.0f}s after delete: {'; '.join(held)}; are the Flux "
                f"controllers running? Retry, or set removeFinalizers: true to drop them"
            )
        time.sleep(poll)


def list_objects(
    client: Client,
    api_version: str,
    kind: str,
    namespace: str | None = None,
    labels: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Live objects of one kind (in ``namespace``; None: every namespace, or a cluster-scoped
    kind), optionally only those carrying ``labels``: one LIST (paginated by the server). A kind
    the API server does not serve (its CRD is not installed) has none."""
    resource = resource_for(api_version, kind)
    where = f"{kind} list" + (f" in {namespace}" if namespace else "")
    selector = dict(labels) if labels else None
    found: list[dict[str, Any]] = []
    with contextlib.suppress(NotFoundError), api_errors(where):
        items = (
            client.list(resource, labels=selector)
            if kind in CLUSTER_SCOPED_KINDS
            else client.list(resource, namespace=namespace or ALL_NAMESPACES, labels=selector)
        )
        found.extend(_with_kind(_as_dict(item), api_version, kind) for item in items)
    return found


def list_labelled(
    client: Client,
    namespace: str,
    labels: Mapping[str, Any],
    kinds: Iterable[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Live objects of ``kinds`` carrying ``labels`` (in ``namespace``; cluster-scoped kinds
    anywhere). A kind the API server does not serve (its CRD is not installed) has none."""
    found: list[dict[str, Any]] = []
    for api_version, kind in kinds:
        found += list_objects(client, api_version, kind, namespace, labels)
    return found


def list_owned(client: Client, namespace: str, configuration: str) -> list[dict[str, Any]]:
    """Live objects labelled as generated for ``configuration`` in ``namespace``."""
    return list_labelled(client, namespace, {LABEL_CONFIGURATION: configuration}, OWNED_KINDS)


def _with_kind(body: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    body.setdefault("apiVersion", api_version)
    body.setdefault("kind", kind)
    return body

"""Apply, read and delete rendered objects with server-side apply; translate API errors.

``apply_manifests`` server-side-applies ``Manifest``s in order with field
manager ``fluxgitops`` (conflicts become ``ApplyConflictError`` naming each
field and its manager; ``force`` takes ownership). ``read_objects`` returns
what is live, ``delete_objects`` deletes in reverse order and waits for
finalizers with a timeout — it never hangs. Called by the dynamic provider,
the CLI and the reconciler.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx2
from lightkube import ApiError, Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace
from lightkube.types import PatchType

from fluxgitops.errors import (
    ApplyConflictError,
    ClusterRejectedError,
    ClusterUnavailableError,
    DeletionTimeoutError,
    FluxGitOpsError,
    ObjectTooLargeError,
)
from fluxgitops.kube.client import resource_for
from fluxgitops.render.manifest import Manifest, ObjectKey
from fluxgitops.render.meta import LABEL_CONFIGURATION, LABEL_MANAGED_BY

_MANAGER = re.compile(r'conflict with "([^"]+)"')
TOO_LARGE = ("request is too large", "trying to send message larger than max")
"""What a 500 says when the object is above etcd's limit (1.5 MiB: etcd's own answer;
2 MiB: the API server's gRPC client refuses to send it)."""


def translate(exc: Exception, subject: str) -> FluxGitOpsError:
    """Our error for a lightkube/httpx exception raised while working on ``subject``."""
    if isinstance(exc, ApiError):
        status = exc.status
        code = status.code or 0
        message = status.message or ""
        if code == 409 and status.reason == "Conflict" and status.details and status.details.causes:
            conflicts = []
            for cause in status.details.causes:
                manager = _MANAGER.search(cause.message or "")
                conflicts.append((cause.field or "?", manager.group(1) if manager else "?"))
            return ApplyConflictError(subject, conflicts)
        if code == 413 or any(marker in message for marker in TOO_LARGE):
            return ObjectTooLargeError(
                f"{subject}: the API server refused it as too large ({code}): {message}; "
                "not retried — make the configuration smaller"
            )
        if code == 429 or code >= 500:
            return ClusterUnavailableError(
                f"{subject}: the API server answered {code}: {message}; retry"
            )
        return ClusterRejectedError(f"{subject}: the API server refused it ({code}): {message}")
    if isinstance(exc, httpx2.HTTPStatusError):
        code = exc.response.status_code
        if code == 404:
            return ClusterRejectedError(
                f"{subject}: the API server does not serve this kind (404); is its CRD installed "
                f"(FluxExtension)? Install it, then retry"
            )
        if code == 413:
            return ObjectTooLargeError(
                f"{subject}: the API server refused it as too large (413); not retried — "
                "make the configuration smaller"
            )
        if code == 429 or code >= 500:
            return ClusterUnavailableError(f"{subject}: the API server answered {code}; retry")
        return ClusterRejectedError(f"{subject}: the API server refused it ({code})")
    if isinstance(exc, httpx2.HTTPError | OSError):
        return ClusterUnavailableError(f"{subject}: cannot reach the API server: {exc}; retry")
    raise exc


def _resource(key: ObjectKey) -> Any:
    return resource_for(key.api_version, key.kind)


def ensure_namespace(client: Client, name: str) -> None:
    """Create namespace ``name`` if missing (never deleted by us: it may hold other things)."""
    try:
        client.get(Namespace, name)
    except ApiError as exc:
        if exc.status.code != 404:
            raise translate(exc, f"Namespace {name}") from exc
        try:
            client.create(
                Namespace(metadata=ObjectMeta(name=name, labels={LABEL_MANAGED_BY: "fluxgitops"}))
            )
        except ApiError as create_exc:
            if create_exc.status.code != 409:
                raise translate(create_exc, f"Namespace {name}") from create_exc


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
        try:
            live = client.apply(obj, force=force)
        except (ApiError, httpx2.HTTPError, OSError) as exc:
            raise translate(exc, str(manifest.key)) from exc
        applied.append(_as_dict(live))
    return applied


def read_object(client: Client, key: ObjectKey) -> dict[str, Any] | None:
    """The live object, or None when it does not exist."""
    try:
        if key.namespace:
            live = client.get(_resource(key), key.name, namespace=key.namespace)
        else:
            live = client.get(_resource(key), key.name)
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise translate(exc, str(key)) from exc
    except (httpx2.HTTPError, OSError) as exc:
        raise translate(exc, str(key)) from exc
    return _as_dict(live)


def read_objects(
    client: Client, keys: Iterable[ObjectKey]
) -> dict[ObjectKey, dict[str, Any] | None]:
    """Each key's live object (None when missing)."""
    return {key: read_object(client, key) for key in keys}


def _delete(client: Client, key: ObjectKey) -> None:
    try:
        if key.namespace:
            client.delete(_resource(key), key.name, namespace=key.namespace)
        else:
            client.delete(_resource(key), key.name)
    except ApiError as exc:
        if exc.status.code != 404:
            raise translate(exc, str(key)) from exc
    except (httpx2.HTTPError, OSError) as exc:
        raise translate(exc, str(key)) from exc


def _drop_finalizers(client: Client, key: ObjectKey) -> None:
    patch = {"metadata": {"finalizers": None}}
    try:
        if key.namespace:
            client.patch(
                _resource(key), key.name, patch, namespace=key.namespace, patch_type=PatchType.MERGE
            )
        else:
            client.patch(_resource(key), key.name, patch, patch_type=PatchType.MERGE)
    except ApiError as exc:
        if exc.status.code != 404:
            raise translate(exc, str(key)) from exc


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


CLUSTER_SCOPED_KINDS = frozenset(
    {"ClusterRoleBinding", "ClusterRole", "Namespace", "CustomResourceDefinition"}
)
OWNED_KINDS = (
    ("v1", "Secret"),
    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ("source.toolkit.fluxcd.io/v1", "Bucket"),
    ("source.toolkit.fluxcd.io/v1", "OCIRepository"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("fluxgitops.io/v1alpha1", "FluxConfig"),
)


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
        resource = resource_for(api_version, kind)
        scoped = kind not in CLUSTER_SCOPED_KINDS
        try:
            items = (
                client.list(resource, namespace=namespace, labels=dict(labels))
                if scoped
                else client.list(resource, labels=dict(labels))
            )
            found.extend(_with_kind(_as_dict(item), api_version, kind) for item in items)
        except ApiError as exc:
            if exc.status.code != 404:
                raise translate(exc, f"{kind} list in {namespace}") from exc
        except httpx2.HTTPStatusError as exc:
            if exc.response.status_code != 404:
                raise translate(exc, f"{kind} list in {namespace}") from exc
        except (httpx2.HTTPError, OSError) as exc:
            raise translate(exc, f"{kind} list in {namespace}") from exc
    return found


def list_owned(client: Client, namespace: str, configuration: str) -> list[dict[str, Any]]:
    """Live objects labelled as generated for ``configuration`` in ``namespace``."""
    return list_labelled(client, namespace, {LABEL_CONFIGURATION: configuration}, OWNED_KINDS)


def _with_kind(body: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    body.setdefault("apiVersion", api_version)
    body.setdefault("kind", kind)
    return body

"""``SecretCache``: our labelled Secrets' data as the watch delivered it, so a reconcile reads its
protected settings (or its generated key) without a GET.

``reconciler.operator`` feeds it every event of the label-filtered Secret watch
(``seen``); ``reconciler.actions.reconcile`` reads through it in the worker
threads. A read is answered from the cache only when the operator's watch
cache (``Inventory.version``, also fed by apply responses) shows the very
resourceVersion the cached data came with; anything else — a Secret without
our label, not listed yet, changed by a write whose event has not arrived — is
read from the API as before. So a reconcile never uses data older than what
the reconciler already knows the Secret to be, and a change delivered later
triggers a full reconcile (``Inventory.object_event``).

The data is kept as the API returns it (base64, as compact JSON bytes:
≈ 0.1 MiB for 500 Secrets) and decoded per read; it never appears in a repr,
log or error. Pure data plus one GET; no shared state
is written from the worker threads except the cache entry a GET refreshes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lightkube import Client
from lightkube.resources.core_v1 import Secret

from fluxgitops.fluxconfig.drift import Packed, intern_key, resource_version
from fluxgitops.fluxconfig.readback import decode_secret_data
from fluxgitops.kube.boundary import or_none
from fluxgitops.manifest import ObjectKey

Version = Callable[[ObjectKey], int | None]
"""The resourceVersion the watch cache holds for a key (None: not cached)."""


def _unknown(_key: ObjectKey) -> int | None:
    return None


class SecretCache:
    """Secret data by key, each with the resourceVersion it was read or delivered at."""

    def __init__(self, version: Version = _unknown) -> None:
        self._version = version
        self._data: dict[ObjectKey, tuple[int, Packed]] = {}
        self.hits = 0
        """Reads answered from the cache (read by tests and benchmarks)."""
        self.reads = 0
        """Reads that went to the API."""

    def __repr__(self) -> str:
        return f"SecretCache({len(self._data)} Secrets, values not shown)"

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def seen(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A watch event of a Secret: remember its data (forget it when deleted)."""
        meta = body.get("metadata") or {}
        key = ObjectKey(
            "v1", "Secret", str(meta.get("namespace") or ""), str(meta.get("name") or "")
        )
        if event_type == "DELETED":
            self._data.pop(key, None)
            return
        self._store(key, resource_version(body), body.get("data"))

    def _store(self, key: ObjectKey, version: int, data: Any) -> None:
        current = self._data.get(key)
        if current is not None and version < current[0]:
            return
        items = data.items() if isinstance(data, Mapping) else ()
        self._data[intern_key(key)] = (version, Packed({str(k): str(v) for k, v in items}))

    def read(self, client: Client, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's data, decoded; None when it does not exist. From the cache when the watch
        cache shows the same resourceVersion, else one GET (whose answer is cached)."""
        key = ObjectKey("v1", "Secret", namespace, name)
        entry = self._data.get(key)
        if entry is not None and entry[0] and entry[0] == self._version(key):
            self.hits += 1
            return decode_secret_data(entry[1].unpack())
        self.reads += 1
        secret = or_none(
            f"Secret {namespace}/{name}", lambda: client.get(Secret, name, namespace=namespace)
        )
        if secret is None:
            self._data.pop(key, None)
            return None
        if self._version(key) is not None:  # watched: kept until its next event replaces it
            body = secret.to_dict()
            self._store(key, resource_version(body), body.get("data"))
        return decode_secret_data(secret.data)

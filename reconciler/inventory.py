"""What the reconciler has seen and decided, and what each watch event means.

``Inventory`` holds, in the operator's event loop: one ``Record`` per
FluxConfig (its latest compact body, the outcome of its last reconcile, the
objects it renders) and a ``cached`` copy of every live object carrying our
labels (fed by kopf's label-filtered watches and by apply responses): only
what ownership, event ordering and compliance read, never the whole object.
What is read only when a FluxConfig is worked on (its spec and status, the
views it renders, the cached live copies) is kept ``Packed``; what every event
reads (metadata, ``spec.suspend``, resourceVersions) stays decoded; nothing
kept shares structure with a decoded event or response. Its two
event methods turn a watch event into work: ``fluxconfig_event`` (a new spec,
a deletion, a reconcile request) and ``object_event`` (drift → full
reconcile, a Flux status change → status refresh, a stale object → prune).
Used by ``reconciler.operator``; no I/O, no secrets (Secret values are
digests here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fluxgitops.fluxconfig.drift import (
    Packed,
    cached,
    compact,
    drifted,
    intern_key,
    resource_version,
    view,
)
from fluxgitops.fluxconfig.readback import owner_of
from fluxgitops.fluxconfig.status import Outcome
from fluxgitops.fluxconfig.vocabulary import ANNOTATION_REQUESTED_AT
from fluxgitops.kinds import FLUX_KINDS
from fluxgitops.manifest import Manifest, ObjectKey

ConfigKey = tuple[str, str]
"""``(namespace, name)`` of a FluxConfig."""

Owner = tuple[str, str | None]
"""``(namespace, configuration)``; configuration None for the namespace's shared objects."""

Action = Literal["full", "cleanup"]


_PACKED = ("spec", "status")


@dataclass
class Record:
    """One FluxConfig as the reconciler knows it (``Record.of``; ``body`` decodes it)."""

    key: ConfigKey
    head: dict[str, Any] = field(default_factory=dict)
    """The compact body without ``spec`` and ``status``: apiVersion, kind, ``metadata``."""
    packed: Packed = field(default_factory=lambda: Packed({}))
    """``spec`` and ``status`` of the compact body."""
    suspend: bool = False
    """``spec.suspend``."""
    outcome: Outcome | None = None
    desired: dict[ObjectKey, Packed] | None = None
    """The objects its last reconcile rendered (``view``s, in apply order)."""
    protected: ObjectKey | None = None
    """The applier-owned protected-settings Secret (read, watched, never written)."""
    public_key: str = ""
    attempted_generation: int | None = None
    requested_at: str | None = None
    deleted: bool = False
    """Gone from the API (a tombstone waiting for its cleanup)."""
    stale: bool = False
    """The body may be older than the API's (after an outage): read it before reconciling."""
    finalized: bool = False
    applied: list[ObjectKey] | None = None
    """What the last successful reconcile applied (written as ``status.inventory``)."""

    @classmethod
    def of(cls, key: ConfigKey, body: Mapping[str, Any], **fields: Any) -> Record:
        """A record of FluxConfig ``body`` (a raw body or a ``view``)."""
        record = cls(key, **fields)
        record.body = body
        return record

    @property
    def body(self) -> dict[str, Any]:
        """The compact body (a ``view``), decoded afresh: the caller may change it."""
        return {**self.head, **self.packed.unpack()}

    @body.setter
    def body(self, body: Mapping[str, Any]) -> None:
        kept = view(body)
        self.head = compact({k: v for k, v in kept.items() if k not in _PACKED})
        self.packed = Packed({k: kept[k] for k in _PACKED if k in kept})
        self.suspend = bool((kept.get("spec") or {}).get("suspend"))

    @property
    def meta(self) -> Mapping[str, Any]:
        """The compact ``metadata``."""
        meta: Mapping[str, Any] = self.head.get("metadata") or {}
        return meta

    @property
    def generation(self) -> int:
        """``metadata.generation``."""
        return int(self.meta.get("generation") or 0)

    @property
    def deleting(self) -> bool:
        """True once ``deletionTimestamp`` is set (or the object is gone)."""
        return self.deleted or bool(self.meta.get("deletionTimestamp"))

    @property
    def suspended(self) -> bool:
        """``spec.suspend``: no drift healing, no pruning, until resumed."""
        return self.suspend

    @property
    def status(self) -> dict[str, Any]:
        """The ``status`` last seen or written (decoded afresh)."""
        status: dict[str, Any] = self.packed.unpack().get("status") or {}
        return status


def _requested_at(body: Mapping[str, Any]) -> str | None:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(ANNOTATION_REQUESTED_AT)
    return str(value) if value is not None else None


@dataclass
class Inventory:
    """FluxConfig records and the live objects carrying our labels."""

    configs: dict[ConfigKey, Record] = field(default_factory=dict)
    live: dict[ObjectKey, tuple[int, Packed]] = field(default_factory=dict)
    """The ``cached`` copy of each live labelled object, with its resourceVersion."""
    owned: dict[Owner, set[ObjectKey]] = field(default_factory=lambda: defaultdict(set))

    # ------------------------------------------------------------ FluxConfigs

    def fluxconfig_event(
        self, event_type: str | None, body: Mapping[str, Any]
    ) -> tuple[ConfigKey, Action | None]:
        """Record a FluxConfig watch event; whether it needs a reconcile or a cleanup."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        record = self.configs.get(key)
        if event_type == "DELETED":
            if record is None:  # deleted before we saw it: still clean up what it left
                self.configs[key] = Record.of(key, body, deleted=True)
                return key, "cleanup"
            if record.finalized:
                self.forget(key)
                return key, None
            record.deleted = True
            return key, "cleanup"
        if record is None or record.deleted:
            self.configs[key] = Record.of(key, body, requested_at=_requested_at(body))
            return key, "full"
        if resource_version(body) < resource_version(record.head):
            return key, None  # an older copy than one already seen (e.g. a write's response)
        was_deleting, requested = record.deleting, record.requested_at
        record.body = body
        record.requested_at = _requested_at(body)
        if record.deleting and not was_deleting:
            return key, "full"
        if record.generation != record.attempted_generation or record.requested_at != requested:
            return key, "full"
        return key, None

    def update_body(self, key: ConfigKey, body: Mapping[str, Any]) -> None:
        """A FluxConfig body we wrote (finalizer, status): newer than any event before it."""
        record = self.configs.get(key)
        if record is not None and resource_version(body) >= resource_version(record.head):
            record.body = body

    def forget(self, key: ConfigKey) -> None:
        """Drop a FluxConfig that is gone and cleaned up."""
        self.configs.pop(key, None)

    def publish(
        self,
        key: ConfigKey,
        desired: dict[ObjectKey, dict[str, Any]],
        protected: ObjectKey | None,
    ) -> None:
        """The objects ``key`` is about to apply: from now on, a difference is drift."""
        record = self.configs.get(key)
        if record is not None:
            record.desired = {intern_key(k): Packed(v) for k, v in desired.items()}
            record.protected = protected

    def others_remain(self, key: ConfigKey) -> bool:
        """True when another FluxConfig of ``key``'s namespace is not being deleted."""
        return any(
            other != key and not record.deleting
            for other, record in self.configs.items()
            if other[0] == key[0]
        )

    # ------------------------------------------------------------ objects

    def _store(self, key: ObjectKey, body: Mapping[str, Any], deleted: bool) -> bool:
        """Update the ``cached`` live copy unless ``body`` is older; False when it was older."""
        current = self.live.get(key)
        version = resource_version(body)
        if current is not None and version < current[0]:
            return False
        owner = owner_of((body.get("metadata") or {}).get("labels"))
        if deleted:
            self.live.pop(key, None)
            if owner is not None:
                self.owned[owner].discard(key)
            return True
        key = intern_key(key)
        self.live[key] = (version, Packed(cached(body)))
        if owner is not None:
            self.owned[owner].add(key)
        return True

    def absorb(self, bodies: Iterable[Mapping[str, Any]]) -> None:
        """Live objects returned by an apply (fresher than the watch, most of the time)."""
        for body in bodies:
            self._store(Manifest(body).key, body, deleted=False)

    def object_event(
        self, event_type: str | None, body: Mapping[str, Any]
    ) -> list[tuple[ConfigKey, bool]]:
        """Record a watch event of a labelled object; the FluxConfigs to work on (key, full)."""
        key = Manifest(body).key
        deleted = event_type == "DELETED"
        if not self._store(key, body, deleted):
            return []
        owner = owner_of((body.get("metadata") or {}).get("labels"))
        if owner is None:
            return []
        namespace, configuration = owner
        if configuration is not None:
            record = self.configs.get((namespace, configuration))
            records = [record] if record is not None else []
        else:
            records = [r for k, r in self.configs.items() if k[0] == namespace]
        work: list[tuple[ConfigKey, bool]] = []
        seen: dict[str, Any] | None = None  # the event's ``view``, made once when drift is asked
        for record in records:
            if record.desired is None or record.deleting or record.suspended:
                continue
            if key == record.protected:
                work.append((record.key, True))  # credentials changed: validate and apply again
                continue
            packed = record.desired.get(key)
            if packed is None:
                if configuration is not None and not deleted:
                    work.append((record.key, True))  # labelled as ours, no longer rendered
                continue
            if deleted:
                work.append((record.key, True))
                continue
            seen = view(body) if seen is None else seen
            if drifted(seen, packed.unpack()):
                work.append((record.key, True))
            elif key.kind in FLUX_KINDS:
                work.append((record.key, False))
        return work

    def lookup(self, key: ObjectKey) -> dict[str, Any] | None:
        """The ``cached`` live copy of ``key`` (decoded afresh), or None when not cached; a
        ``reconciler.ownership.Lookup`` (called from worker threads: one dict read)."""
        entry = self.live.get(key)
        return None if entry is None else dict(entry[1].unpack())

    def version(self, key: ObjectKey) -> int | None:
        """The resourceVersion of the cached live copy of ``key`` (None when not cached); read
        from worker threads (one dict read)."""
        entry = self.live.get(key)
        return None if entry is None else entry[0]

    def owned_keys(self, namespace: str, name: str | None) -> frozenset[ObjectKey]:
        """Live keys labelled with ``namespace/name`` (name None: the namespace's shared ones)."""
        return frozenset(self.owned.get((namespace, name), ()))

    def shared_wanted(self, key: ConfigKey) -> frozenset[ObjectKey] | None:
        """Shared objects the other FluxConfigs of the namespace render; None if one is unknown."""
        wanted: set[ObjectKey] = set()
        for other, record in self.configs.items():
            if other[0] != key[0] or other == key or record.deleting:
                continue
            if record.desired is None:
                return None
            wanted.update(record.desired)
        return frozenset(wanted)

    def flux_live(self, record: Record) -> list[tuple[ObjectKey, dict[str, Any] | None]]:
        """The rendered Flux objects of ``record`` with their live copies, in apply order."""
        return [(key, self.lookup(key)) for key in (record.desired or {}) if key.kind in FLUX_KINDS]

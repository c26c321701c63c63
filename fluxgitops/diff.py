"""Semantic diff of two sets of Kubernetes objects: what is added, removed, and which fields change.

The dynamic provider's ``diff`` and the CLI's ``plan`` both call
``diff_manifests``. Objects are matched by ``ObjectKey``; deepdiff compares
the matched pairs. Server-managed fields (``status``, ``metadata.uid``,
``resourceVersion``, ``managedFields`` …) never count. Against a live object
(``live=True``) only the fields the desired object sets are compared — what
server-side apply owns — so defaults the API server fills in never cause a
perpetual diff. Secret values are compared but never shown: a changed Secret
key is reported with ``SECRET_MASK`` on both sides. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fluxgitops.errors import SECRET_MASK
from fluxgitops.render.manifest import SECRET_DATA_FIELDS, Manifest, ObjectKey
from fluxgitops.render.meta import FIELD_MANAGER

SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
)
SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)

EMPTY: tuple[Any, ...] = ({}, [])
"""Values the API server does not store (``properties: {}`` in a CRD schema)."""

Action = Literal["create", "delete", "update"]
FieldAction = Literal["add", "remove", "change"]


@dataclass(frozen=True)
class FieldChange:
    """One field of one object: its dotted path, and old/new values (masked for secrets)."""

    path: str
    action: FieldAction
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.action == "add":
            return f"+ {self.path}: {self.new!r}"
        if self.action == "remove":
            return f"- {self.path}: {self.old!r}"
        return f"~ {self.path}: {self.old!r} → {self.new!r}"


@dataclass(frozen=True)
class ObjectChange:
    """What happens to one object; ``fields`` lists field changes of an update; ``body`` is the
    object created or deleted (server fields dropped, Secret values masked), for showing."""

    key: ObjectKey
    action: Action
    fields: tuple[FieldChange, ...] = ()
    body: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        sign = {"create": "+", "delete": "-", "update": "~"}[self.action]
        return f"{sign} {self.key}"


@dataclass(frozen=True)
class ManifestDiff:
    """Every object change between two sets, in a stable order (by action, then key)."""

    changes: tuple[ObjectChange, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        """True when nothing would change."""
        return not self.changes

    def of(self, action: Action) -> list[ObjectChange]:
        """The changes with ``action``."""
        return [c for c in self.changes if c.action == action]

    @property
    def changed_paths(self) -> dict[str, list[str]]:
        """``str(key)`` → field paths changed, for updates (handy for previews and tests)."""
        return {str(c.key): [f.path for f in c.fields] for c in self.of("update")}

    def summary(self) -> str:
        """``N to create, N to update, N to delete`` (Terraform wording)."""
        return (
            f"{len(self.of('create'))} to create, {len(self.of('update'))} to update, "
            f"{len(self.of('delete'))} to delete"
        )


def normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without server-managed fields and with ``stringData`` folded into ``data`` form."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in dict(out.get("metadata", {})).items() if k not in SERVER_METADATA}
    annotations = {
        k: v for k, v in dict(meta.get("annotations") or {}).items() if k not in SERVER_ANNOTATIONS
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    out["metadata"] = meta
    return out


def project(live: Any, desired: Any, owned: Mapping[str, Any] | None = None) -> Any:
    """``live`` reduced to the shape of ``desired``: keys ``desired`` does not set are dropped,
    unless ``owned`` (server-side apply ``fieldsV1`` of our managers) says we set them before —
    those stay, so a field we stop setting shows as a removal.

    Maps recurse; lists of the same length recurse element by element (the API
    server defaults fields inside list items, e.g. ``substituteFrom[].optional``);
    lists of another length are compared whole. An empty map or list ``desired`` sets and
    ``live`` lacks counts as present (the API server drops them, so a refresh that reads the
    object back compares equal to the inputs — no perpetual diff).
    """
    if isinstance(live, Mapping) and isinstance(desired, Mapping):
        out: dict[str, Any] = {}
        for key, value in live.items():
            sub = owned.get(f"f:{key}") if isinstance(owned, Mapping) else None
            if key in desired:
                out[key] = project(value, desired[key], sub)
            elif sub is not None:
                out[key] = value
        for key, value in desired.items():
            if key not in live and value in EMPTY:
                out[key] = value  # the API server drops empty maps and lists: same as absent
        return out
    if isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        return [project(item, want) for item, want in zip(live, desired, strict=True)]
    return live


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(out.get(key), Mapping) and isinstance(value, Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def owned_fields(live: Mapping[str, Any], prefix: str = FIELD_MANAGER) -> dict[str, Any]:
    """The ``fieldsV1`` tree of every Apply manager named ``prefix…`` (ours), merged."""
    owned: dict[str, Any] = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if str(entry.get("manager", "")).startswith(prefix) and entry.get("operation") == "Apply":
            owned = _merge(owned, entry.get("fieldsV1") or {})
    return owned


def _is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _mask(parts: list[Any], value: Any, secret: bool) -> Any:
    if secret and parts and parts[0] in SECRET_DATA_FIELDS:
        if isinstance(value, Mapping):
            return {k: SECRET_MASK for k in value}
        return SECRET_MASK
    return value


def diff_objects(
    old: Mapping[str, Any], new: Mapping[str, Any], *, live: bool = False
) -> list[FieldChange]:
    """Field changes from ``old`` to ``new`` (``live=True``: ``old`` is the cluster's copy)."""
    before, after = normalize(old), normalize(new)
    if live:
        before = project(before, after, owned_fields(old))
    if before == after:
        return []  # the common case (no change) without deepdiff's tree walk
    from deepdiff import DeepDiff  # noqa: PLC0415  (only when something changed: a slow import)

    secret = _is_secret(new) or _is_secret(old)
    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    found: list[FieldChange] = []
    for report, items in tree.items():
        for item in items:
            parts = list(item.path(output_format="list"))
            path = _path(parts)
            old_v = _mask(parts, item.t1, secret)
            new_v = _mask(parts, item.t2, secret)
            if report in ("dictionary_item_added", "iterable_item_added", "attribute_added"):
                found.append(FieldChange(path, "add", new=new_v))
            elif report in (
                "dictionary_item_removed",
                "iterable_item_removed",
                "attribute_removed",
            ):
                found.append(FieldChange(path, "remove", old=old_v))
            else:
                found.append(FieldChange(path, "change", old=old_v, new=new_v))
    return sorted(found, key=lambda c: c.path)


def shown(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` as a plan shows it: no server-managed fields, Secret values masked."""
    return Manifest(normalize(obj)).masked()


def _as_map(objects: Iterable[Manifest | Mapping[str, Any]]) -> dict[ObjectKey, Mapping[str, Any]]:
    out: dict[ObjectKey, Mapping[str, Any]] = {}
    for obj in objects:
        manifest = obj if isinstance(obj, Manifest) else Manifest(obj)
        out[manifest.key] = manifest.body
    return out


def diff_manifests(
    old: Iterable[Manifest | Mapping[str, Any]],
    new: Iterable[Manifest | Mapping[str, Any]],
    *,
    live: bool = False,
) -> ManifestDiff:
    """Compare two sets of objects (``live=True`` when ``old`` was read from the cluster)."""
    before, after = _as_map(old), _as_map(new)
    changes: list[ObjectChange] = []
    for key in sorted(after.keys() - before.keys()):
        changes.append(ObjectChange(key, "create", body=shown(after[key])))
    for key in sorted(after.keys() & before.keys()):
        fields = diff_objects(before[key], after[key], live=live)
        if fields:
            changes.append(ObjectChange(key, "update", tuple(fields)))
    for key in sorted(before.keys() - after.keys()):
        changes.append(ObjectChange(key, "delete", body=shown(before[key])))
    return ManifestDiff(tuple(changes))

"""``ObjectSetProvider``: the dynamic-provider machinery for "a set of rendered objects".

check / diff / create / update / delete / read for any resource whose state is
a list of Kubernetes objects rendered from its inputs: subclasses turn the
inputs into one ``Desired`` per call (``desire``: parsed, rendered, identity,
namespaces), say what forces a replacement (``replaces``) and what status to
report (``status``). Server-side apply, stale-object removal, finalizer-aware
delete and refresh are here, once; when a subclass names an
``inventory_holder`` (the FluxConfig), what was applied is recorded in its
``status.inventory`` and read back (``fluxconfig.ownership.owned_keys``) next
to Pulumi state. The provider is pickled into state by reference (keep this
module path stable): no import side effects, no client or credentials on the
provider object — each method gets its client from the ``kubeconfig`` /
``kubeconfig_content`` / ``context`` inputs through ``client_for``, one client
per cluster per provider process (a module-level cache the engine's concurrent
calls share; never pickled, never in state). Subclassed by
``providers.fluxconfig`` and ``providers.manifests``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.metadata
import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from lightkube import Client
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

import fluxgitops
from fluxgitops.diff import diff_manifests, normalize, project
from fluxgitops.errors import SECRET_MASK, SpecError
from fluxgitops.fluxconfig.ownership import owned_keys
from fluxgitops.kube.apply import (
    apply_concurrently,
    delete_objects,
    ensure_namespace,
    read_object,
    read_objects,
    write_inventory,
)
from fluxgitops.kube.client import connect
from fluxgitops.manifest import SECRET_DATA_FIELDS, Manifest, ObjectKey

CONNECTION_INPUTS = ("kubeconfig", "kubeconfig_content", "context")

TYPE_MODULE = "fluxgitops"
"""Our dynamic resources' types are ``pulumi-python:dynamic/fluxgitops:<Name>``."""
OLD_DYNAMIC_TYPE = "pulumi-python:dynamic:Resource"
"""The type every dynamic resource had before it had its own: an alias, so existing stacks
adopt the new type in place instead of replacing their resources."""


def with_old_type(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """``opts`` plus the alias to ``OLD_DYNAMIC_TYPE``."""
    alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_DYNAMIC_TYPE)])
    return pulumi.ResourceOptions.merge(alias, opts)


def key_string(key: ObjectKey) -> str:
    """``Kind namespace/name`` — how objects are named in inputs, outputs and previews."""
    return str(key)


def parse_key(text: str, api_version: str) -> ObjectKey:
    """Inverse of ``key_string`` given the object's apiVersion."""
    kind, _, rest = text.partition(" ")
    namespace, _, name = rest.rpartition("/")
    return ObjectKey(api_version, kind, namespace, name)


def masked_body(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without server-managed fields and with Secret values masked."""
    out = normalize(body)
    if out.get("kind") == "Secret" and out.get("apiVersion") == "v1":
        for section in SECRET_DATA_FIELDS:
            if section in out:
                out[section] = {k: SECRET_MASK for k in out[section]}
    return out


def preview_objects(manifests: list[Manifest]) -> dict[str, Any]:
    """Object key → masked body: what ``pulumi preview`` shows and diffs."""
    return {key_string(m.key): m.masked() for m in manifests}


RENDERED_BY = "rendered_by"
"""A checked input: the ``render_fingerprint`` of the code that rendered ``objects``."""
DERIVED_INPUTS = ("objects", RENDERED_BY, "source_report", "__provider")
"""Inputs ``check`` computes (or the SDK adds) rather than the program sets."""


@functools.cache
def render_fingerprint() -> str:
    """What renders objects in this process: a digest of the ``fluxgitops`` and ``providers``
    sources and of the versions of the libraries that parse the inputs. A check reuses the
    last check's objects only under the same fingerprint, so any upgrade renders again."""
    digest = hashlib.sha256()
    roots = (Path(fluxgitops.__file__).parent, Path(__file__).parent)
    sources = [path for root in roots for path in sorted(root.rglob("*.py"))]
    if not sources:  # no sources to vouch for the code (a frozen build): never reuse
        return uuid.uuid4().hex
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for dist in ("pydantic", "pydantic-core", "PyYAML"):
        digest.update(f"{dist}=={importlib.metadata.version(dist)}".encode())
    return digest.hexdigest()


OBJECTS_DIGEST = "objects_digest"
"""The output recording what an apply applied: the digest of its masked objects. The
objects themselves are an input (``check`` adds them, so ``pulumi preview --diff`` shows
each object's field changes from the inputs stored with the state); outputs carry only
their digest, so state, the engine's messages and ``diff`` handle each object once."""


def _canonical(value: Any) -> Any:
    """``value`` with integral floats as ints: numbers cross the engine's gRPC as floats."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def objects_digest(objects: dict[str, Any]) -> str:
    """SHA-256 of ``preview_objects`` output as canonical JSON, the same before and after the
    objects crossed the engine's gRPC (Secret values are masked: a configuration's show in its
    ``secrets`` input)."""
    text = json.dumps(_canonical(objects), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def key_index(props: dict[str, Any]) -> dict[str, str]:
    """Key string → apiVersion, for what a previous operation applied."""
    return dict(props.get("object_keys") or {})


_CLIENTS: dict[tuple[Any, ...], Client] = {}
_CLIENTS_LOCK = threading.Lock()


def connection_key(props: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a cluster connection: the connection inputs, the kubeconfig file's
    modification time and size (a rewritten file is a new connection) and ``$KUBECONFIG`` when
    no path is given. Inline content is represented by its SHA-256 only."""
    path, context, content = (props.get(name) for name in CONNECTION_INPUTS)
    stamp: tuple[int, int] | None = None
    if path:
        with contextlib.suppress(OSError):
            info = os.stat(path)
            stamp = (info.st_mtime_ns, info.st_size)
    digest = hashlib.sha256(str(content).encode()).hexdigest() if content else None
    default = None if (path or content) else os.environ.get("KUBECONFIG")
    return (path, stamp, context, digest, default)


def client_for(props: dict[str, Any]) -> Client:
    """The client for the cluster named by the inputs: one per cluster per provider process,
    shared by the engine's concurrent calls (a module-level cache: never pickled, never in
    state, nothing stored on the provider object)."""
    key = connection_key(props)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = connect(
                props.get("kubeconfig"), props.get("context"), props.get("kubeconfig_content")
            )
            _CLIENTS[key] = client
    return client


@dataclass(frozen=True)
class Desired:
    """The inputs of one provider call, parsed and rendered once: every method works from it."""

    identity: str
    """The resource ID."""
    manifests: list[Manifest]
    """Every object the inputs describe, in apply order."""
    applied: list[Manifest]
    """The part of ``manifests`` this provider applies itself."""
    namespaces: tuple[str, ...] = ()
    """Namespaces that must exist before applying (created if missing, never deleted)."""
    spec: Any = None
    """The subclass's typed value the objects were rendered from (None when there is none)."""


class ObjectSetProvider(ResourceProvider):
    """Apply a rendered set of objects and keep Pulumi state in line with the cluster."""

    extra_inputs: tuple[str, ...] = ()

    # ------------------------------------------------------------ for subclasses

    def desire(self, props: dict[str, Any]) -> Desired:
        """The inputs parsed and rendered (raise ``SpecError`` for invalid inputs)."""
        raise NotImplementedError

    def replaces(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """Input names whose change forces a replacement."""
        return []

    def checked(self, news: dict[str, Any], desired: Desired) -> CheckResult:
        """The check result for valid inputs (subclasses add their own checks)."""
        objects = preview_objects(desired.manifests)
        return CheckResult(
            {**copy.deepcopy(news), "objects": objects, RENDERED_BY: render_fingerprint()}, []
        )

    def reusable(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """True when ``olds`` (the last checked inputs) hold objects rendered by this code
        from the same inputs: then they are this check's objects too."""
        if not isinstance(olds.get("objects"), dict):
            return False
        if olds.get(RENDERED_BY) != render_fingerprint():
            return False
        names = (olds.keys() | news.keys()) - set(DERIVED_INPUTS)
        return all(olds.get(name) == news.get(name) for name in names)

    def after_apply(
        self, props: dict[str, Any], desired: Desired, outs: dict[str, Any]
    ) -> dict[str, Any]:
        """The outputs of a create or update, once everything is applied (for example after
        waiting for the objects to be ready)."""
        return outs

    def protected(self, client: Client, key: ObjectKey, props: dict[str, Any]) -> bool:
        """True for an object that must not be deleted now (shared with other resources)."""
        return False

    def status(self, live: list[dict[str, Any]]) -> dict[str, Any]:
        """Extra outputs computed from the live objects."""
        return {}

    def inventory_holder(self, props: dict[str, Any]) -> ObjectKey | None:
        """The applied object whose ``status.inventory`` records what this provider applied
        (written after every apply; read back by ``read``, ``update`` and ``delete`` next to
        Pulumi state's ``object_keys``). None: Pulumi state alone."""
        return None

    # ------------------------------------------------------------ the provider protocol

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate and render; every error becomes a failure with its property path. Inputs
        unchanged since the last check (``reusable``) keep its objects, unparsed."""
        if self.reusable(olds, news):
            return CheckResult(
                {**news, "objects": olds["objects"], RENDERED_BY: olds[RENDERED_BY]}, []
            )
        try:
            desired = self.desire(news)
        except SpecError as exc:
            failures = [
                CheckFailure(
                    f"spec.{e.path}" if e.path else "spec",
                    f"{e.message}{f' (got {e.value})' if e.value else ''}",
                )
                for e in exc.errors
            ]
            return CheckResult(news, failures)
        return self.checked(news, desired)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Changed when an object, a secret or the connection changes. The rendered objects are
        compared by digest with what the last apply recorded (``objects_digest``); field by
        field when the outputs hold objects (a refresh read them live)."""
        replaces = self.replaces(olds, news)
        desired = news.get("objects")  # check() rendered them already
        if not isinstance(desired, dict):
            try:
                desired = preview_objects(self.desire(news).manifests)
            except SpecError:
                return DiffResult(changes=True, replaces=replaces, delete_before_replace=True)
        if isinstance(olds.get("objects"), dict):  # state before 0.2, or a refresh's live objects
            old_objects = [dict(body) for body in olds["objects"].values()]
            changed = not diff_manifests(old_objects, [dict(b) for b in desired.values()]).empty
        else:
            changed = olds.get(OBJECTS_DIGEST) != objects_digest(desired)
        for name in ("secrets", *CONNECTION_INPUTS, *self.extra_inputs):
            changed = changed or (olds.get(name) or None) != (news.get(name) or None)
        return DiffResult(
            changes=changed or bool(replaces), replaces=replaces, delete_before_replace=True
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Apply every rendered object (server-side apply)."""
        desired = self.desire(props)
        outs = self._apply(props, desired, previous={})
        return CreateResult(desired.identity, self.after_apply(props, desired, outs))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply the new objects, then delete the ones no longer rendered."""
        desired = self.desire(news)
        outs = self._apply(news, desired, previous=key_index(olds))
        return UpdateResult(self.after_apply(news, desired, outs))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete every object applied before — what Pulumi state recorded and what the live
        inventory holder records — in reverse order, waiting for finalizers."""
        client = client_for(props)
        keys = [parse_key(text, api) for text, api in key_index(props).items()]
        holder = self.inventory_holder(props)
        if holder is not None:
            keys = owned_keys(read_object(client, holder), keys)
        self._delete(client, [k for k in keys if not self.protected(client, k, props)], props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Live state: objects deleted by hand disappear, fields changed by hand show."""
        client = client_for(props)
        try:
            desired = {key_string(m.key): m for m in self.desire(props).manifests}
        except SpecError:
            desired = {}
        keys = {text: parse_key(text, api) for text, api in key_index(props).items()}
        keys |= {text: manifest.key for text, manifest in desired.items()}
        live: dict[ObjectKey, dict[str, Any] | None] = read_objects(client, keys.values())
        holder = self.inventory_holder(props)
        if holder is not None:  # what the live inventory records beyond state and the render
            body = live[holder] if holder in live else read_object(client, holder)
            extra = [k for k in owned_keys(body, keys.values()) if key_string(k) not in keys]
            live |= read_objects(client, extra)
            keys |= {key_string(k): k for k in extra}
        objects: dict[str, Any] = {}
        for text, key in keys.items():
            body = live[key]
            if body is None:
                continue
            want = desired.get(text)
            objects[text] = masked_body(project(body, want.masked()) if want else body)
        found = [body for body in live.values() if body is not None]
        outs = {**copy.deepcopy(props), "objects": objects, **self.status(found)}
        return ReadResult(id_, outs)

    # ------------------------------------------------------------ helpers

    def _delete(self, client: Client, keys: list[ObjectKey], props: dict[str, Any]) -> None:
        delete_objects(
            client,
            keys,
            timeout=float(props.get("delete_timeout") or 120),
            remove_finalizers=bool(props.get("remove_finalizers", False)),
        )

    def _apply(
        self, props: dict[str, Any], desired: Desired, previous: dict[str, str]
    ) -> dict[str, Any]:
        mine = desired.applied
        client = client_for(props)
        for namespace in desired.namespaces:
            ensure_namespace(client, namespace)
        live = apply_concurrently(client, mine, force=bool(props.get("force_conflicts", False)))
        current = {key_string(m.key): m.key.api_version for m in mine}
        before = [parse_key(t, api) for t, api in previous.items()]
        holder = self.inventory_holder(props)
        if holder is not None:  # the apply answered with the holder's status: its inventory
            recorded = next((b for b in live if Manifest(b).key == holder), None)
            before = owned_keys(recorded, before)
        stale = [k for k in before if key_string(k) not in current]
        stale = [k for k in stale if not self.protected(client, k, props)]
        if stale:
            self._delete(client, stale, props)
        if holder is not None:
            write_inventory(client, holder, [m.key for m in mine if m.key != holder])
        return {
            **copy.deepcopy({k: v for k, v in props.items() if k != "objects"}),
            OBJECTS_DIGEST: objects_digest(preview_objects(desired.manifests)),
            "object_keys": current,
            **self.status(live),
        }

"""The fluxgitops dynamic provider: one FluxConfiguration applied to a cluster as Flux objects.

``FluxConfigurationProvider`` implements check / diff / create / update /
delete / read over the shared core: ``parse_configuration`` (check failures
with field paths, nothing applied), ``render_configuration`` (the objects),
``diff_manifests`` (what changes), ``fluxgitops.kube.apply`` (server-side
apply, finalizer-aware delete). The provider object is pickled into Pulumi
state by reference: this module has no import side effects, its path must stay
stable, and the provider holds no credentials and no client — it connects
inside each method from the ``kubeconfig`` / ``context`` inputs (a path, or
``kubeconfig_content`` passed as a Pulumi secret).

Inputs: ``spec`` (the configuration without secret values), ``secrets``
(dotted path → value, a Pulumi secret), ``kubeconfig``, ``kubeconfig_content``,
``context``, ``multi_tenancy``, ``force_conflicts``, ``remove_finalizers``,
``delete_timeout``. Check adds ``objects``: the rendered objects with Secret
values masked, so ``pulumi preview --diff`` shows which object and field
changes. Outputs add ``object_keys``, ``compliance_state``,
``compliance_message``, ``source_synced_commit_id``, ``repository_public_key``.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from fluxgitops.diff import diff_manifests, normalize, project
from fluxgitops.errors import SECRET_MASK, SpecError
from fluxgitops.kube.apply import apply_manifests, delete_objects, ensure_namespace, read_objects
from fluxgitops.kube.client import connect, resource_for
from fluxgitops.render import Manifest, ObjectKey, RenderOptions, render_configuration
from fluxgitops.render.manifest import SECRET_DATA_FIELDS
from fluxgitops.render.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration
from fluxgitops.spec.redact import merge_secrets
from fluxgitops.status import compliance, synced_commit

CONNECTION_INPUTS = ("kubeconfig", "kubeconfig_content", "context")
IMMUTABLE = FluxConfigurationSpec.IMMUTABLE_FIELDS


def key_string(key: ObjectKey) -> str:
    """``Kind namespace/name`` — how objects are named in inputs, outputs and previews."""
    return str(key)


def parse_key(text: str, api_version: str) -> ObjectKey:
    """Inverse of ``key_string`` given the object's apiVersion."""
    kind, _, rest = text.partition(" ")
    namespace, _, name = rest.rpartition("/")
    return ObjectKey(api_version, kind, namespace, name)


def _spec(props: dict[str, Any]) -> FluxConfigurationSpec:
    return parse_configuration(merge_secrets(props.get("spec") or {}, props.get("secrets") or {}))


def _render(props: dict[str, Any]) -> list[Manifest]:
    options = RenderOptions(multi_tenancy=bool(props.get("multi_tenancy", True)))
    return render_configuration(_spec(props), options)


def _masked(body: dict[str, Any]) -> dict[str, Any]:
    out = normalize(body)
    if out.get("kind") == "Secret" and out.get("apiVersion") == "v1":
        for section in SECRET_DATA_FIELDS:
            if section in out:
                out[section] = {k: SECRET_MASK for k in out[section]}
    return out


def preview_objects(manifests: list[Manifest]) -> dict[str, Any]:
    """Object key → masked body: what ``pulumi preview`` shows and diffs."""
    return {key_string(m.key): m.masked() for m in manifests}


def _key_index(props: dict[str, Any]) -> dict[str, str]:
    """Key string → apiVersion, for what a previous operation applied."""
    return dict(props.get("object_keys") or {})


class FluxConfigurationProvider(ResourceProvider):
    """Dynamic provider for ``providers.fluxconfig.FluxConfigurationResource``."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the configuration; every error is a failure with its property path."""
        try:
            manifests = _render(news)
        except SpecError as exc:
            failures = [
                CheckFailure(
                    f"spec.{e.path}" if e.path else "spec",
                    f"{e.message}{f' (got {e.value})' if e.value else ''}",
                )
                for e in exc.errors
            ]
            return CheckResult(news, failures)
        return CheckResult({**copy.deepcopy(news), "objects": preview_objects(manifests)}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Changed when an object, a secret or the connection changes; replace on name/ns/scope."""
        old_spec, new_spec = olds.get("spec") or {}, news.get("spec") or {}
        replaces = [] if all(old_spec.get(f) == new_spec.get(f) for f in IMMUTABLE) else ["spec"]
        try:
            desired = _render(news)
        except SpecError:
            return DiffResult(changes=True, replaces=replaces, delete_before_replace=True)
        old_objects = [dict(body) for body in (olds.get("objects") or {}).values()]
        changed = not diff_manifests(old_objects, preview_objects(desired).values()).empty
        changed = changed or (olds.get("secrets") or {}) != (news.get("secrets") or {})
        for name in (*CONNECTION_INPUTS, "multi_tenancy"):
            changed = changed or olds.get(name) != news.get(name)
        return DiffResult(
            changes=changed or bool(replaces), replaces=replaces, delete_before_replace=True
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Apply every rendered object (server-side apply); the namespace is created if missing."""
        spec = _spec(props)
        outs = self._apply(props, previous={})
        return CreateResult(f"{spec.namespace}/{spec.name}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply the new objects, then delete the ones no longer rendered."""
        return UpdateResult(self._apply(news, previous=_key_index(olds)))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete every object we applied; shared RBAC only with the namespace's last config."""
        client = connect(
            props.get("kubeconfig"), props.get("context"), props.get("kubeconfig_content")
        )
        keys = [parse_key(text, api) for text, api in _key_index(props).items()]
        keys = [k for k in keys if not self._shared_still_used(client, k, props)]
        delete_objects(
            client,
            keys,
            timeout=float(props.get("delete_timeout", 120)),
            remove_finalizers=bool(props.get("remove_finalizers", False)),
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Live state: objects deleted by hand disappear, fields changed by hand show."""
        client = connect(
            props.get("kubeconfig"), props.get("context"), props.get("kubeconfig_content")
        )
        desired = {key_string(m.key): m for m in _render(props)}
        keys = {text: parse_key(text, api) for text, api in _key_index(props).items()}
        live = read_objects(client, keys.values())
        objects: dict[str, Any] = {}
        for text, key in keys.items():
            body = live[key]
            if body is None:
                continue
            want = desired.get(text)
            objects[text] = _masked(project(body, want.masked()) if want else body)
        outs = {
            **copy.deepcopy(props),
            "objects": objects,
            **self._status(list(filter(None, live.values()))),
        }
        return ReadResult(id_, outs)

    # ------------------------------------------------------------ helpers

    def _apply(self, props: dict[str, Any], previous: dict[str, str]) -> dict[str, Any]:
        spec = _spec(props)
        manifests = _render(props)
        client = connect(
            props.get("kubeconfig"), props.get("context"), props.get("kubeconfig_content")
        )
        ensure_namespace(client, spec.namespace)
        live = apply_manifests(client, manifests, force=bool(props.get("force_conflicts", False)))
        current = {key_string(m.key): m.key.api_version for m in manifests}
        stale = [parse_key(t, api) for t, api in previous.items() if t not in current]
        stale = [k for k in stale if not self._shared_still_used(client, k, props)]
        if stale:
            delete_objects(
                client,
                stale,
                timeout=float(props.get("delete_timeout", 120)),
                remove_finalizers=bool(props.get("remove_finalizers", False)),
            )
        return {
            **copy.deepcopy(props),
            "objects": preview_objects(manifests),
            "object_keys": current,
            **self._status(live),
        }

    @staticmethod
    def _status(live: list[dict[str, Any]]) -> dict[str, Any]:
        state = compliance(live)
        source = next(
            (o for o in live if o.get("kind") in ("GitRepository", "Bucket", "OCIRepository")), None
        )
        fluxconfig = next((o for o in live if o.get("kind") == FLUXCONFIG_KIND), None)
        fc_status = (fluxconfig or {}).get("status") or {}
        return {
            "compliance_state": fc_status.get("compliance_state", state.state),
            "compliance_message": fc_status.get("errorMessage", state.message),
            "source_synced_commit_id": fc_status.get(
                "source_synced_commit_id", synced_commit(source)
            ),
            "repository_public_key": fc_status.get("repository_public_key", ""),
        }

    @staticmethod
    def _shared_still_used(client: Any, key: ObjectKey, props: dict[str, Any]) -> bool:
        """True for namespace-shared RBAC while another FluxConfig lives in that namespace."""
        if key.kind not in ("ServiceAccount", "Role", "RoleBinding", "ClusterRoleBinding"):
            return False
        spec = props.get("spec") or {}
        namespace, name = spec.get("namespace", "default"), spec.get("name")
        fluxconfig = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
        others = [
            o for o in client.list(fluxconfig, namespace=namespace) if o.metadata.name != name
        ]
        return bool(others)


OUTPUTS = (
    "objects",
    "object_keys",
    "compliance_state",
    "compliance_message",
    "source_synced_commit_id",
    "repository_public_key",
)


class FluxConfigurationResource(Resource):
    """One Flux configuration on one cluster, applied by ``FluxConfigurationProvider``.

    ``secrets`` and ``kubeconfig_content`` are stored as Pulumi secrets; the
    component (``components.flux_configuration``) builds the inputs.
    """

    objects: pulumi.Output[dict[str, Any]]
    object_keys: pulumi.Output[dict[str, str]]
    compliance_state: pulumi.Output[str]
    compliance_message: pulumi.Output[str]
    source_synced_commit_id: pulumi.Output[str]
    repository_public_key: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        secret_outputs = pulumi.ResourceOptions(
            additional_secret_outputs=["secrets", "kubeconfig_content"]
        )
        super().__init__(
            FluxConfigurationProvider(),
            name,
            {**props, **dict.fromkeys(OUTPUTS)},
            pulumi.ResourceOptions.merge(secret_outputs, opts),
        )

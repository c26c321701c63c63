"""The Manifests dynamic provider: a fixed list of Kubernetes objects applied as one resource.

Used by the FluxExtension component for what the extension installs on the
``kubernetes`` backend (CRDs, the Flux controllers from a bundle, the
reconciler and its RBAC), all rendered by ``fluxgitops.render.extension``.
Inputs: ``manifests`` (the object bodies, no secrets), the connection inputs,
``force_conflicts``, ``delete_timeout``. Shares all behaviour with
``providers.objectset``.
"""

from __future__ import annotations

from typing import Any

import pulumi
from lightkube import Client
from pulumi.dynamic import Resource

from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.render import Manifest
from providers.objectset import ObjectSetProvider


class ManifestsProvider(ObjectSetProvider):
    """Applies the ``manifests`` input as given."""

    def render(self, props: dict[str, Any]) -> list[Manifest]:
        """The objects, in apply order."""
        return [Manifest(body) for body in props.get("manifests") or []]

    def before_apply(self, client: Client, props: dict[str, Any]) -> None:
        """Namespaces the objects live in must exist (created if missing, never deleted)."""
        manifests = self.render(props)
        declared = {m.key.name for m in manifests if m.key.kind == "Namespace"}
        for namespace in sorted({m.key.namespace for m in manifests} - declared - {""}):
            ensure_namespace(client, namespace)

    def identity(self, props: dict[str, Any]) -> str:
        """The name the component gave the set."""
        return str(props.get("set_name") or "manifests")


class ManifestsResource(Resource):
    """A set of Kubernetes objects applied by ``ManifestsProvider``."""

    objects: pulumi.Output[dict[str, Any]]
    object_keys: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig_content"])
        super().__init__(
            ManifestsProvider(),
            name,
            {**props, "set_name": name, "objects": None, "object_keys": None},
            pulumi.ResourceOptions.merge(secret, opts),
        )

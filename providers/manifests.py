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
from pulumi.dynamic import Resource

from fluxgitops.manifest import Manifest
from providers.objectset import TYPE_MODULE, Desired, ObjectSetProvider, with_old_type


class ManifestsProvider(ObjectSetProvider):
    """Applies the ``manifests`` input as given."""

    def desire(self, props: dict[str, Any]) -> Desired:
        """The objects in apply order, named as the component named the set; the namespaces
        they live in (and do not declare themselves) must exist first."""
        manifests = [Manifest(body) for body in props.get("manifests") or []]
        declared = {m.key.name for m in manifests if m.key.kind == "Namespace"}
        return Desired(
            identity=str(props.get("set_name") or "manifests"),
            manifests=manifests,
            applied=manifests,
            namespaces=tuple(sorted({m.key.namespace for m in manifests} - declared - {""})),
        )


class ManifestsResource(Resource, module=TYPE_MODULE, name="Manifests"):
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
            with_old_type(pulumi.ResourceOptions.merge(secret, opts)),
        )

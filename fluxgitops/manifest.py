"""``Manifest``: one rendered Kubernetes object, identified by its key, safe to print.

Every renderer function (``fluxgitops.render``, ``fluxgitops.fluxconfig.render``)
returns ``Manifest``s; the diff, the plan, ``kube``, the provider, the reconciler
and the CLI consume them. Below the renderer and the FluxConfig package (it
imports only ``errors``), so both import it without a cycle. A Secret's values
are masked in ``repr`` and in ``masked()``; only ``body`` (used for applying)
carries them. Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from fluxgitops.errors import SECRET_MASK, RenderError

SECRET_DATA_FIELDS = ("data", "stringData")


class ObjectKey(NamedTuple):
    """apiVersion, kind, namespace ('' for cluster-scoped) and name: unique per cluster."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class Manifest:
    """A Kubernetes object as a plain JSON-compatible dict (``body``), with its identity."""

    body: Mapping[str, Any] = field(repr=False)

    @property
    def key(self) -> ObjectKey:
        """The object's identity."""
        meta = self.body["metadata"]
        return ObjectKey(
            self.body["apiVersion"], self.body["kind"], meta.get("namespace", ""), meta["name"]
        )

    @property
    def is_secret(self) -> bool:
        """True for core/v1 Secrets, whose values are masked when shown."""
        return bool(self.body["kind"] == "Secret" and self.body["apiVersion"] == "v1")

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the object, secrets included (for applying only)."""
        return copy.deepcopy(dict(self.body))

    def masked(self) -> dict[str, Any]:
        """A deep copy with every Secret value replaced by ``SECRET_MASK`` (for showing)."""
        out = self.to_dict()
        if self.is_secret:
            for section in SECRET_DATA_FIELDS:
                if section in out:
                    out[section] = {k: SECRET_MASK for k in out[section]}
        return out

    def __repr__(self) -> str:
        return f"Manifest({self.key})"


def to_yaml(manifests: Iterable[Manifest], *, mask: bool = True) -> str:
    """Multi-document YAML, keys in insertion order; Secret values masked unless ``mask=False``."""
    docs = [m.masked() if mask else m.to_dict() for m in manifests]
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=1000)


def index(manifests: Iterable[Manifest]) -> dict[ObjectKey, Manifest]:
    """Manifests by key; a duplicate key is a renderer bug and raises ``RenderError``."""
    out: dict[ObjectKey, Manifest] = {}
    for manifest in manifests:
        if manifest.key in out:
            raise RenderError(
                f"two rendered objects share the key {manifest.key}; this is a renderer bug, "
                "nothing was applied — report it"
            )
        out[manifest.key] = manifest
    return out

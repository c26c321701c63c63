"""``crd``: a minimal CustomResourceDefinition body (one served version, schema left open) for
tests that need a kind the API server serves. Used by the discovery and Flux v1 tests."""

from __future__ import annotations

from typing import Any


def crd(group: str, kind: str, plural: str, *, scope: str = "Namespaced") -> dict[str, Any]:
    """The CRD of ``kind`` in ``group`` (version v1), ``scope`` Namespaced or Cluster."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }

"""``Manifest`` and ``ObjectKey``: identity, Secret values masked when shown, no duplicate keys."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from fluxgitops.errors import SECRET_MASK, RenderError
from fluxgitops.manifest import Manifest, ObjectKey, index, to_yaml

TOKEN = "s3cr3t-t0ken"


def secret(name: str = "web-auth") -> dict[str, Any]:
    """A core/v1 Secret with one data and one stringData value."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "team-a"},
        "data": {"password": TOKEN},
        "stringData": {"username": TOKEN},
    }


def test_key_of_a_cluster_scoped_object_has_no_namespace() -> None:
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding"}
    manifest = Manifest({**binding, "metadata": {"name": "flux-applier"}})
    assert manifest.key == ObjectKey(binding["apiVersion"], binding["kind"], "", "flux-applier")
    assert str(manifest.key) == "ClusterRoleBinding flux-applier"


def test_secret_values_are_masked_when_shown_but_kept_for_applying() -> None:
    manifest = Manifest(secret())
    assert manifest.masked()["data"] == {"password": SECRET_MASK}
    assert manifest.masked()["stringData"] == {"username": SECRET_MASK}
    assert TOKEN not in repr(manifest)
    assert TOKEN not in to_yaml([manifest])
    assert manifest.to_dict()["data"] == {"password": TOKEN}
    (unmasked,) = yaml.safe_load_all(to_yaml([manifest], mask=False))
    assert unmasked["data"] == {"password": TOKEN}


def test_two_objects_with_one_key_are_a_renderer_bug() -> None:
    with pytest.raises(RenderError, match=r"^two rendered objects share the key Secret team-a/"):
        index([Manifest(secret()), Manifest(secret())])

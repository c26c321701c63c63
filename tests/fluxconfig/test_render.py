"""The FluxConfig CRD: our own group, structural schema, status subresource, compliance columns."""

from __future__ import annotations

from typing import Any

from fluxgitops.fluxconfig.render import render_fluxconfig_crd
from fluxgitops.meta import GROUP


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        out.append((path, node))
        for key in ("properties",):
            for name, child in node.get(key, {}).items():
                out.extend(_walk(child, f"{path}.{name}"))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                out.extend(_walk(node[key], f"{path}[{key}]"))
    return out


def test_crd_uses_our_group_not_azures() -> None:
    crd = render_fluxconfig_crd().to_dict()
    assert crd["spec"]["group"] == GROUP == "fluxgitops.io"
    assert crd["metadata"]["name"] == "fluxconfigs.fluxgitops.io"


def test_crd_has_status_subresource_and_compliance_column() -> None:
    (version,) = render_fluxconfig_crd().to_dict()["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Compliance"] == ".status.complianceState"
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'


def test_schema_is_structural() -> None:
    (version,) = render_fluxconfig_crd().to_dict()["spec"]["versions"]
    for path, node in _walk(version["schema"]["openAPIV3Schema"]):
        assert not {"$ref", "anyOf", "title"} & node.keys(), path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path
        assert not ("properties" in node and "additionalProperties" in node), path


def test_schema_has_no_secret_fields() -> None:
    (version,) = render_fluxconfig_crd().to_dict()["spec"]["versions"]
    paths = [p for p, _ in _walk(version["schema"]["openAPIV3Schema"])]
    git = [p for p in paths if p.startswith(".spec.gitRepository.")]
    assert ".spec.gitRepository.url" in git
    assert not [
        p for p in paths if p.endswith(("httpsKey", "sshPrivateKey", "sasToken", "clientSecret"))
    ]

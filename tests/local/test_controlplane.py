"""The local control plane is the real thing: real version, real CRD schemas, real RBAC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from fluxgitops.diff import diff_objects
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.toolchain import version_of
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration

CASES = sorted((Path(__file__).parent.parent / "testdata" / "render").glob("*.input.yaml"))


def git_repository(name: str, **spec: Any) -> Any:
    """A GitRepository object for ``client.create``."""
    return codecs.from_dict(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
    )


def test_version_is_the_pinned_kubernetes(control_plane: ControlPlane) -> None:
    assert control_plane.get("/version")["gitVersion"] == version_of("kube-apiserver")


def test_git_repository_with_ftp_url_is_rejected_by_the_crd(admin: Client) -> None:
    with pytest.raises(ApiError) as info:
        admin.create(git_repository("ftp", url="ftp://x", interval="1m"))
    assert info.value.status.code == 422
    assert "spec.url" in str(info.value.status.message)


def test_git_repository_without_interval_is_rejected(admin: Client) -> None:
    with pytest.raises(ApiError) as info:
        admin.create(git_repository("no-interval", url="https://example.com/r.git"))
    assert info.value.status.code == 422
    assert "spec.interval: Required value" in str(info.value.status.message)


def test_valid_git_repository_is_stored_and_read_back(admin: Client) -> None:
    admin.create(git_repository("valid", url="https://example.com/r.git", interval="5m"))
    stored = admin.get(type(git_repository("x", url="u")), "valid", namespace="default")
    assert stored["spec"]["url"] == "https://example.com/r.git"
    assert stored["spec"]["interval"] == "5m"


def test_non_admin_certificate_is_denied_by_rbac(control_plane: ControlPlane) -> None:
    client = Client(KubeConfig.from_file(control_plane.user("mallory", ("developers",))))
    with pytest.raises(ApiError) as info:
        list(client.list(Namespace))
    assert info.value.status.code == 403
    assert 'User "mallory" cannot list resource "namespaces"' in str(info.value.status.message)


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".input.yaml") for c in CASES])
def test_rendered_golden_configuration_is_accepted_by_the_real_crds(
    case: Path, admin: Client
) -> None:
    data = yaml.safe_load(case.read_text())
    spec = parse_configuration(data["configuration"])
    options = RenderOptions(multi_tenancy=data.get("options", {}).get("multiTenancy", True))
    try:
        admin.create(Namespace(metadata=ObjectMeta(name=spec.namespace)))
    except ApiError as exc:
        if exc.status.code != 409:
            raise
    for manifest in render_configuration(spec, options):
        applied = admin.apply(codecs.from_dict(manifest.to_dict()), force=True)
        live: dict[str, Any] = applied.to_dict()  # type: ignore[no-untyped-call]
        assert live["metadata"]["uid"]
        # what the API server stored (with its defaults) shows no diff: no perpetual diffs
        assert diff_objects(live, manifest.body, live=True) == [], manifest.key

"""FluxExtension install mode and ``load_bundle``: the generated bundle by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.flux_extension import FluxExtension, FluxExtensionArgs, load_bundle
from fluxgitops.errors import SpecError, ToolchainError
from fluxgitops.local.toolchain import version_of
from tests.components.test_components import Recorder
from tests.pulumi_support import pulumi_test


@pytest.fixture
def recorder() -> Recorder:
    """Pulumi runtime mocks installed for this test; the resources they saw."""
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, preview=False)
    return mocks


@pulumi_test
def test_install_mode_without_a_bundle_applies_the_generated_one(recorder: Recorder) -> Any:

    ext = FluxExtension("c1-flux", FluxExtensionArgs(mode="install", kubeconfig="/k"))

    def check(_: Any) -> None:
        inputs = next(i for t, n, i in recorder.resources if n == "c1-flux-objects")
        images = {
            c["image"]
            for m in inputs["manifests"]
            if m["kind"] == "Deployment"
            for c in m["spec"]["template"]["spec"]["containers"]
        }
        assert f"ghcr.io/fluxcd/source-controller:{version_of('source-controller')}" in images
        assert f"ghcr.io/fluxcd/helm-controller:{version_of('helm-controller')}" in images

    return ext.installed.apply(check)


def test_install_mode_without_the_built_bundle_says_how_to_build_it(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLUXGITOPS_FLUX_BUNDLE", str(tmp_path / "missing"))
    with pytest.raises(ToolchainError) as info:
        FluxExtension("c1-flux", FluxExtensionArgs(mode="install"))
    assert "`python3 tools/build.py flux-bundle`" in str(info.value)


def test_unreadable_bundle_file_is_an_error_on_flux_bundle(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_bundle(tmp_path / "flux.yaml")
    assert info.value.paths == ["fluxBundle"]
    assert info.value.errors[0].message.startswith("cannot be read")
    assert info.value.errors[0].value == repr(str(tmp_path / "flux.yaml"))


def test_bundle_file_without_kubernetes_objects_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "flux.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n- a list\n")
    with pytest.raises(SpecError) as info:
        load_bundle(path)
    assert info.value.paths == ["fluxBundle"]
    assert info.value.errors[0].message.startswith(
        "is not a list of Kubernetes objects (document 1"
    )

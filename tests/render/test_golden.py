"""Golden YAML for the renderer: each ``*.input.yaml`` renders to its ``*.golden.yaml``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxgitops.manifest import to_yaml
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration

CASES = sorted((Path(__file__).parent.parent / "testdata" / "render").glob("*.input.yaml"))


def _render(case: Path) -> str:
    data: dict[str, Any] = yaml.safe_load(case.read_text())
    spec = parse_configuration(data["configuration"])
    options = RenderOptions(multi_tenancy=data.get("options", {}).get("multiTenancy", True))
    return to_yaml(render_configuration(spec, options), mask=False)


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".input.yaml") for c in CASES])
def test_render_matches_golden(case: Path, golden: Callable[[Path, str], None]) -> None:
    golden(case.with_name(case.name.replace(".input.yaml", ".golden.yaml")), _render(case))


def test_every_required_case_is_present() -> None:
    names = {c.name.removesuffix(".input.yaml") for c in CASES}
    assert names >= {
        "git-ssh-generated-key",
        "git-https-token-ca",
        "bucket",
        "azure-blob-service-principal",
        "oci",
        "namespace-scope",
        "depends-on-chain",
        "seed-example",
    }

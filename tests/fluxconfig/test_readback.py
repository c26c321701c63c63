"""A FluxConfig read back: the round trip over every golden configuration keeps
``PROTECTED_SETTINGS`` (derived from the spec's secret markers) and the renderer in step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxgitops.errors import SpecError
from fluxgitops.fluxconfig.readback import (
    configuration_from_cr,
    decode_secret_data,
    identity_from_secret,
    owned_manifests,
)
from fluxgitops.kinds import MANAGED_KINDS
from fluxgitops.manifest import Manifest
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.sshkeys import generate_ed25519

CASES = sorted((Path(__file__).parent.parent / "testdata" / "render").glob("*.input.yaml"))

NOW = "2026-01-01T00:00:00Z"

LATER = "2026-01-01T00:05:00Z"


def _cr(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str] | None, list[Manifest]]:
    """The FluxConfig spec and decoded auth Secret the provider would apply for ``raw``."""
    manifests = render_configuration(parse_configuration(raw), RenderOptions())
    fluxconfig = next(m for m in manifests if m.key.kind == "FluxConfig")
    secret = next(
        (m for m in manifests if m.is_secret and m.key.name.endswith("-auth")),
        None,
    )
    data = decode_secret_data(secret.body["data"]) if secret is not None else None
    return dict(fluxconfig.body["spec"]), data, manifests


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".input.yaml") for c in CASES])
def test_fluxconfig_round_trips_to_the_same_spec(case: Path) -> None:
    raw = yaml.safe_load(case.read_text())["configuration"]
    cr_spec, secret, manifests = _cr(raw)
    desired = configuration_from_cr(raw["name"], raw.get("namespace", "default"), cr_spec, secret)
    assert desired.spec == parse_configuration(raw)
    owned = {m.key for m in owned_manifests(desired, None)}
    rendered = {m.key for m in manifests if m.key.kind != "FluxConfig"}
    assert owned == rendered - {desired.auth_secret}
    assert {(k.api_version, k.kind) for k in rendered} <= set(MANAGED_KINDS)


def test_generated_key_secret_is_owned_and_keeps_its_key() -> None:
    raw = {"name": "ssh", "namespace": "t", "gitRepository": {"url": "git@github.com:o/r.git"}}
    cr_spec, _, _ = _cr(raw)
    assert cr_spec["generateSshKey"] is True
    identity = generate_ed25519()
    secret = {"identity": identity.private_key.get_secret_value(), "identity.pub": "x"}
    desired = configuration_from_cr("ssh", "t", cr_spec, secret)
    assert desired.generate_ssh_key  # identity is the generated key, not an inline sshPrivateKey
    found = identity_from_secret(secret)
    assert found is not None
    assert found.public_key == identity.public_key
    keys = {m.key for m in owned_manifests(desired, found)}
    assert desired.auth_secret in keys


def test_invalid_spec_names_the_fluxconfig_and_every_error() -> None:
    with pytest.raises(SpecError) as error:
        configuration_from_cr(
            "bad",
            "team",
            {"gitRepository": {"url": "ftp://x"}, "kustomizations": {"a": {"dependsOn": ["a"]}}},
        )
    assert str(error.value).startswith("FluxConfig team/bad is invalid (2 errors)")

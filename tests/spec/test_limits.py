"""Bounds: every size limit of the spec, at the limit and one past it, in the spec and the CRD.

"What validation accepts, the cluster accepts": each over-limit input is
refused by ``parse_configuration`` naming the field and the limit, and by the
real API server through the FluxConfig CRD's schema (``maxLength``,
``maxItems``, ``maxProperties`` and CEL rules); the input at the limit passes both.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from lightkube import Client

from fluxgitops.errors import ClusterRejectedError, FieldError, SpecError
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.manifest import Manifest
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.spec.names import (
    CONFIG_PLUS_KUSTOMIZATION_MAX,
    MAX_KUSTOMIZATIONS,
    MAX_PATH,
    MAX_SPEC_BYTES,
    MAX_SUBSTITUTE_VALUE,
    MAX_SUBSTITUTIONS,
    MAX_URL,
)
from fluxgitops.spec.parse import RAW_LIMIT

URL = "https://git.example.com/"


def base() -> dict[str, Any]:
    """A valid configuration (namespace scope, one Kustomization)."""
    return {
        "name": "cfg",
        "namespace": "default",
        "scope": "namespace",
        "gitRepository": {"url": URL + "r.git"},
        "kustomizations": {"apps": {"path": "apps"}},
    }


def _url(size: int) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["gitRepository"]["url"] = URL + "r" * (size - len(URL))

    return change


def _path(size: int) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["kustomizations"]["apps"]["path"] = "p" * size

    return change


def _kustomizations(count: int) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["kustomizations"] = {f"k{i}": {"path": "apps"} for i in range(count)}

    return change


def _substitutions(count: int) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["kustomizations"]["apps"]["postBuild"] = {
            "substitute": {f"v{i}": "x" for i in range(count)}
        }

    return change


def _value(size: int) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["kustomizations"]["apps"]["postBuild"] = {"substitute": {"v": "x" * size}}

    return change


def _joined_name(size: int) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["kustomizations"] = {"k" * (size - len(raw["name"])): {"path": "apps"}}

    return change


# (id, change at the limit, change past it, expected path, expected message start)
LIMITS: list[tuple[str, Callable[..., None], Callable[..., None], str, str]] = [
    (
        "url",
        _url(MAX_URL),
        _url(MAX_URL + 1),
        "gitRepository.url",
        f"has {MAX_URL + 1} characters; at most {MAX_URL}",
    ),
    (
        "path",
        _path(MAX_PATH),
        _path(MAX_PATH + 1),
        "kustomizations.apps.path",
        f"has {MAX_PATH + 1} characters; at most {MAX_PATH}",
    ),
    (
        "kustomizations",
        _kustomizations(MAX_KUSTOMIZATIONS),
        _kustomizations(MAX_KUSTOMIZATIONS + 1),
        "kustomizations",
        f"has {MAX_KUSTOMIZATIONS + 1} entries; at most {MAX_KUSTOMIZATIONS}",
    ),
    (
        "substitutions",
        _substitutions(MAX_SUBSTITUTIONS),
        _substitutions(MAX_SUBSTITUTIONS + 1),
        "kustomizations.apps.postBuild.substitute",
        f"has {MAX_SUBSTITUTIONS + 1} entries; at most {MAX_SUBSTITUTIONS}",
    ),
    (
        "substitute-value",
        _value(MAX_SUBSTITUTE_VALUE),
        _value(MAX_SUBSTITUTE_VALUE + 1),
        "kustomizations.apps.postBuild.substitute.v",
        f"has {MAX_SUBSTITUTE_VALUE + 1} characters; at most {MAX_SUBSTITUTE_VALUE}",
    ),
    (
        "joined-name",
        _joined_name(CONFIG_PLUS_KUSTOMIZATION_MAX),
        _joined_name(CONFIG_PLUS_KUSTOMIZATION_MAX + 1),
        "kustomizations.",
        "configuration name + kustomization name is 63 characters; at most 62",
    ),
]


def _applied(raw: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    change(out)
    return out


def _error(raw: dict[str, Any]) -> FieldError:
    with pytest.raises(SpecError) as info:
        parse_configuration(raw)
    assert len(info.value.errors) == 1, info.value.errors
    return info.value.errors[0]


@pytest.mark.parametrize(
    ("at", "past", "path", "message"),
    [case[1:] for case in LIMITS],
    ids=[case[0] for case in LIMITS],
)
def test_limit_is_accepted_and_one_past_is_refused_naming_field_and_limit(
    at: Callable[[dict[str, Any]], None],
    past: Callable[[dict[str, Any]], None],
    path: str,
    message: str,
) -> None:
    parse_configuration(_applied(base(), at))
    error = _error(_applied(base(), past))
    assert error.path.startswith(path), error
    assert error.message.startswith(message), error


def test_huge_kustomization_key_gives_a_short_error() -> None:
    raw = base()
    raw["kustomizations"] = {"k" * 100_000: {"path": "apps"}}
    with pytest.raises(SpecError) as info:
        parse_configuration(raw)
    assert len(str(info.value)) < 2000
    assert "...(100000 characters)" in str(info.value)


def test_whole_spec_above_the_limit_is_refused_naming_the_limit() -> None:
    raw = base()
    value = "x" * MAX_SUBSTITUTE_VALUE
    raw["kustomizations"] = {
        f"k{i}": {"path": "apps", "postBuild": {"substitute": {"v": value}}}
        for i in range(MAX_KUSTOMIZATIONS)
    }
    error = _error(raw)
    assert error.path == ""
    assert error.message.startswith("the configuration is ")
    assert f"at most {MAX_SPEC_BYTES} are allowed" in error.message


def test_huge_input_is_refused_before_field_validation() -> None:
    raw = base()
    raw["gitRepository"]["sshKnownHosts"] = "h" * RAW_LIMIT
    error = _error(raw)  # one error: the size, not also the field's own bound
    assert error.path == ""
    assert f"at most {RAW_LIMIT} are allowed" in error.message


# ---------------------------------------------------------------- the API server agrees


def _fluxconfig(raw: dict[str, Any], namespace: str) -> Manifest:
    """The FluxConfig for ``raw`` without parsing it (so over-limit input reaches the server)."""
    spec = {k: v for k, v in raw.items() if k not in ("name", "namespace")}
    return Manifest(
        {
            "apiVersion": FLUXCONFIG_API_VERSION,
            "kind": FLUXCONFIG_KIND,
            "metadata": {"name": raw["name"], "namespace": namespace},
            "spec": spec,
        }
    )


@pytest.fixture(scope="module")
def limits_namespace(admin: Client) -> str:
    """A namespace for the FluxConfigs of these tests."""
    name = f"limits-{uuid.uuid4().hex[:6]}"
    ensure_namespace(admin, name)
    return name


@pytest.mark.parametrize(
    ("at", "past"), [case[1:3] for case in LIMITS], ids=[case[0] for case in LIMITS]
)
def test_api_server_enforces_the_same_limits(
    admin: Client,
    limits_namespace: str,
    at: Callable[[dict[str, Any]], None],
    past: Callable[[dict[str, Any]], None],
) -> None:
    accepted = _applied(base(), at)
    rendered = render_configuration(
        parse_configuration(accepted), RenderOptions(multi_tenancy=True)
    )
    body = next(m for m in rendered if m.key.kind == FLUXCONFIG_KIND).to_dict()
    body["metadata"]["namespace"] = limits_namespace
    apply_manifests(admin, [Manifest(body)], force=True)
    refused = _applied(base(), past)
    refused["name"] = "past"
    with pytest.raises(ClusterRejectedError, match=r"refused it \(422\)"):
        apply_manifests(admin, [_fluxconfig(refused, limits_namespace)], force=True)

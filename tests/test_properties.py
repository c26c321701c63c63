"""Property-based tests (hypothesis) of the renderer and the diff over generated valid specs."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fluxgitops.diff import diff_manifests
from fluxgitops.manifest import Manifest
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.spec.names import is_dns1123_label, is_dns1123_subdomain

LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True)
SECONDS = st.integers(min_value=1, max_value=86_400)


@st.composite
def sources(draw: st.DrawFn) -> dict[str, Any]:
    """One valid source block with its sourceKind."""
    kind = draw(st.sampled_from(["git-https", "git-ssh", "bucket", "blob", "oci"]))
    interval = draw(SECONDS)
    if kind == "git-https":
        block: dict[str, Any] = {
            "url": f"https://example.com/{draw(LABEL)}.git",
            "syncInterval": interval,
        }
        if draw(st.booleans()):
            block |= {"httpsUser": draw(LABEL), "httpsKey": draw(st.text(min_size=1, max_size=20))}
        return {"sourceKind": "GitRepository", "gitRepository": block}
    if kind == "git-ssh":
        ref = draw(st.sampled_from([{"branch": "main"}, {"tag": "v1.0.0"}, {"semver": ">=1.0.0"}]))
        return {
            "sourceKind": "GitRepository",
            "gitRepository": {"url": f"git@example.com:{draw(LABEL)}.git", "repositoryRef": ref},
        }
    if kind == "bucket":
        return {
            "sourceKind": "Bucket",
            "bucket": {
                "url": "http://minio.local:9000",
                "bucketName": "b" + draw(LABEL) + "b",
                "accessKey": "ak",
                "secretKey": draw(st.text(min_size=1, max_size=20)),
            },
        }
    if kind == "blob":
        return {
            "sourceKind": "AzureBlob",
            "azureBlob": {
                "url": "https://acct.blob.core.windows.net",
                "containerName": "c" + re.sub("-+", "-", draw(LABEL)) + "c",
                "sasToken": draw(st.text(min_size=1, max_size=20)),
            },
        }
    return {
        "sourceKind": "OCIRepository",
        "ociRepository": {"url": f"oci://ghcr.io/x/{draw(LABEL)}"},
    }


@st.composite
def configurations(draw: st.DrawFn) -> dict[str, Any]:
    """A valid configuration: random source, 1-4 kustomizations whose dependsOn form a DAG."""
    names = draw(st.lists(LABEL, min_size=1, max_size=4, unique=True))
    kustomizations: dict[str, Any] = {}
    for i, name in enumerate(names):
        deps = draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else []
        kustomizations[name] = {
            "path": draw(st.sampled_from(["", "apps", "./clusters/prod"])),
            "dependsOn": deps,
            "syncInterval": draw(SECONDS),
            "prune": draw(st.booleans()),
        }
    return {
        "name": draw(LABEL),
        "namespace": draw(LABEL),
        "scope": draw(st.sampled_from(["cluster", "namespace"])),
        "suspend": draw(st.booleans()),
        "kustomizations": kustomizations,
        **draw(sources()),
    }


def _render(raw: dict[str, Any], multi_tenancy: bool = True) -> list[Manifest]:
    return render_configuration(
        parse_configuration(raw), RenderOptions(multi_tenancy=multi_tenancy)
    )


@settings(max_examples=150, deadline=None)
@given(configurations(), st.booleans())
def test_rendering_is_deterministic(raw: dict[str, Any], multi_tenancy: bool) -> None:
    first = [m.to_dict() for m in _render(raw, multi_tenancy)]
    second = [m.to_dict() for m in _render(copy.deepcopy(raw), multi_tenancy)]
    assert first == second


@settings(max_examples=150, deadline=None)
@given(configurations())
def test_every_rendered_name_is_dns1123(raw: dict[str, Any]) -> None:
    for manifest in _render(raw):
        key = manifest.key
        assert is_dns1123_subdomain(key.name), key
        if key.kind in ("Kustomization", "GitRepository", "Bucket", "OCIRepository", "FluxConfig"):
            assert is_dns1123_label(key.name), key
        if key.namespace:
            assert is_dns1123_label(key.namespace), key


@settings(max_examples=100, deadline=None)
@given(configurations())
def test_diff_of_a_set_with_itself_is_empty(raw: dict[str, Any]) -> None:
    rendered = _render(raw)
    assert diff_manifests(rendered, rendered).empty


@settings(max_examples=150, deadline=None)
@given(configurations(), configurations())
def test_diff_is_empty_exactly_when_objects_are_equal(a: dict[str, Any], b: dict[str, Any]) -> None:
    left, right = _render(a), _render(b)
    equal = sorted((m.key, repr(m.to_dict())) for m in left) == sorted(
        (m.key, repr(m.to_dict())) for m in right
    )
    assert diff_manifests(left, right).empty == equal


@settings(max_examples=100, deadline=None)
@given(configurations(), st.integers(min_value=1, max_value=10_000))
def test_changing_one_interval_changes_exactly_that_field(
    raw: dict[str, Any], seconds: int
) -> None:
    first = next(iter(raw["kustomizations"]))
    before = _render(raw)
    changed = copy.deepcopy(raw)
    old = changed["kustomizations"][first]["syncInterval"]
    changed["kustomizations"][first]["syncInterval"] = seconds
    diff = diff_manifests(before, _render(changed))
    if seconds == old:
        assert diff.empty
        return
    kustomization = f"Kustomization {raw['namespace']}/{raw['name']}-{first}"
    paths = {str(c.key): [f.path for f in c.fields] for c in diff.of("update")}
    assert paths[kustomization] == ["spec.interval", "spec.retryInterval"]
    assert not diff.of("create")
    assert not diff.of("delete")

"""Valid implies appliable: what validation accepts, the real API server with the real Flux
CRDs accepts (server-side apply, dry run); what it refuses comes with a field path.

Hypothesis generates configurations across the full range of the fields the CRDs
constrain with patterns and formats — durations from 1 ms to days in every input form,
URL forms and scheme cases, names at their length limits, every source kind — and each
accepted one is rendered and dry-run applied to the local kube-apiserver.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lightkube import ApiError, Client, codecs

from fluxgitops.errors import SpecError
from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration

_MS = timedelta(milliseconds=1)


def _go(value: timedelta) -> str:
    ms = int(value / _MS)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    parts = [f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms"))]
    return "".join(p for p in parts if not p.startswith("0")) or "0s"


durations = st.integers(min_value=1, max_value=4 * 24 * 3_600_000).map(
    lambda ms: timedelta(milliseconds=ms)
)
duration_inputs = st.one_of(
    durations.map(_go),
    st.integers(min_value=1, max_value=400_000),  # ARM *InSeconds
    durations.map(lambda d: f"PT{int(d.total_seconds())}S"),
    st.sampled_from(["1h30m", "90s", "500ms", "1.5h", "25h", "0.5s", "1ms500us", "0s", "-5m"]),
)
names = st.from_regex(r"[a-z]([a-z0-9-]{0,40}[a-z0-9])?", fullmatch=True)
git_urls = st.sampled_from(
    [
        "https://github.com/org/repo",
        "http://git.example.com:8080/org/repo.git",
        "ssh://git@github.com/org/repo",
        "git@github.com:org/repo.git",
        "HTTPS://github.com/org/repo",
        "Ssh://git@github.com/org/repo",
        "https://user@dev.azure.com/org/project/_git/repo",
        "ftp://example.com/repo",
    ]
)


@st.composite
def configurations(draw: st.DrawFn) -> dict[str, Any]:
    """Raw configurations, valid or not, over the constrained fields."""
    kind = draw(st.sampled_from(["GitRepository", "Bucket", "OCIRepository"]))
    raw: dict[str, Any] = {"name": draw(names), "namespace": "appliable", "sourceKind": kind}
    timing = {"timeout": draw(duration_inputs), "syncInterval": draw(duration_inputs)}
    if kind == "GitRepository":
        raw["gitRepository"] = {"url": draw(git_urls), **timing}
    elif kind == "Bucket":
        raw["bucket"] = {
            "url": draw(st.sampled_from(["s3.example.com", "https://minio:9000", "HTTP://x"])),
            "bucketName": "flux-bucket",
            **timing,
        }
    else:
        raw["ociRepository"] = {
            "url": draw(st.sampled_from(["oci://ghcr.io/org/app", "OCI://ghcr.io/org/app"])),
            **timing,
        }
    kustomizations = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    raw["kustomizations"] = {
        k: {
            "path": "./apps",
            "timeout": draw(duration_inputs),
            "syncInterval": draw(duration_inputs),
            "retryInterval": draw(duration_inputs),
        }
        for k in kustomizations
    }
    return raw


@pytest.fixture(scope="module")
def dry_run(admin: Client) -> Client:
    """The admin client, with the namespace the generated configurations use."""
    ensure_namespace(admin, "appliable")
    return admin


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(configurations())
def test_what_validation_accepts_the_api_server_accepts(
    dry_run: Client, raw: dict[str, Any]
) -> None:
    try:
        spec = parse_configuration(raw)
    except SpecError as exc:
        unnamed = [str(e) for e in exc.errors if not e.path]
        if unnamed:
            pytest.fail(f"refused without a field path: {unnamed}")
        return
    for manifest in render_configuration(spec, RenderOptions()):
        try:
            dry_run.apply(codecs.from_dict(manifest.to_dict()), dry_run=True, force=True)
        except ApiError as exc:
            pytest.fail(f"{manifest.key} was accepted by validation but refused: {exc}")

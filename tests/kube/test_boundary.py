"""The error boundary: a real API server's answers map to one class each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx2
import pytest
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace

from fluxgitops.errors import (
    AlreadyExistsError,
    ClusterRejectedError,
    ClusterUnavailableError,
    NotFoundError,
    StaleObjectError,
    TemporaryError,
)
from fluxgitops.kube.boundary import api_errors, or_none, translate


@pytest.fixture
def namespace(admin: Client) -> Iterator[str]:
    """A fresh namespace, deleted afterwards."""
    name = f"boundary-{uuid.uuid4().hex[:8]}"
    admin.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    admin.delete(Namespace, name)


def _config_map(namespace: str, version: str | None = None, value: str = "1") -> ConfigMap:
    meta = ObjectMeta(name="cm", namespace=namespace, resourceVersion=version)
    return ConfigMap(metadata=meta, data={"a": value})


def api_error(code: int, headers: dict[str, str] | None = None) -> ApiError:
    """An API answer the local API server will not give on demand (throttling, outage)."""
    request = httpx2.Request("PATCH", "https://x/y")
    response = httpx2.Response(
        code,
        json={"kind": "Status", "code": code, "message": "m"},
        headers=headers,
        request=request,
    )
    return ApiError(request=request, response=response)


def test_absent_object_is_none(admin: Client, namespace: str) -> None:
    assert or_none("ConfigMap cm", lambda: admin.get(ConfigMap, "cm", namespace=namespace)) is None


def test_second_create_is_already_exists(admin: Client, namespace: str) -> None:
    admin.create(_config_map(namespace))
    expected = pytest.raises(AlreadyExistsError, match=r"^ConfigMap cm: already exists \(409\)")
    with expected, api_errors("ConfigMap cm"):
        admin.create(_config_map(namespace))


def test_write_with_an_old_resource_version_is_stale(admin: Client, namespace: str) -> None:
    created = admin.create(_config_map(namespace))
    assert created.metadata is not None
    old = created.metadata.resourceVersion
    admin.replace(_config_map(namespace, old, "2"))
    expected = pytest.raises(StaleObjectError, match=r"^ConfigMap cm: changed since")
    with expected, api_errors("ConfigMap cm"):
        admin.replace(_config_map(namespace, old, "3"))


def test_invalid_object_is_rejected_permanently(admin: Client) -> None:
    expected = pytest.raises(ClusterRejectedError, match=r"^ConfigMap Bad: the API server refused")
    with expected, api_errors("ConfigMap Bad"):
        admin.create(ConfigMap(metadata=ObjectMeta(name="Bad", namespace="default")))


def test_throttling_is_temporary_with_the_servers_delay() -> None:
    error = translate(api_error(429, {"Retry-After": "7"}), "FluxConfig a/b")
    assert isinstance(error, ClusterUnavailableError)
    assert error.retry_after == 7.0


def test_gone_is_temporary() -> None:
    assert isinstance(translate(api_error(410), "FluxConfig a/b"), StaleObjectError)


def test_unreachable_is_temporary() -> None:
    error = translate(httpx2.ConnectError("refused"), "FluxConfig a/b")
    assert isinstance(error, TemporaryError)
    assert str(error).startswith("FluxConfig a/b: cannot reach the API server")


def test_not_found_is_not_temporary() -> None:
    assert not isinstance(translate(api_error(404), "FluxConfig a/b"), TemporaryError)
    assert isinstance(translate(api_error(404), "FluxConfig a/b"), NotFoundError)

"""The one place Kubernetes API errors become fluxgitops errors.

Every call to the API server (``kube.apply``, ``kube.discovery``,
``reconciler.actions``, ``reconciler.election``) runs inside ``api_errors``,
which translates lightkube's ``ApiError``, httpx errors and socket errors
once, with ``raise ... from``, into a class of ``fluxgitops.errors`` — callers
decide from the class alone:

- 404 → ``NotFoundError`` (``KindNotServedError`` when the API server does not
  serve the kind); ``or_none`` turns it into None for readers;
- 409 Conflict with field-manager causes (server-side apply) →
  ``ApplyConflictError``; any other 409 Conflict (resourceVersion) and 410 Gone
  → ``StaleObjectError`` (temporary: re-read and retry); 409 AlreadyExists →
  ``AlreadyExistsError``;
- 413, or a 500 saying the object is above etcd's limit → ``ObjectTooLargeError``;
- 429 and 5xx → ``ClusterUnavailableError`` carrying the server's ``Retry-After``;
- connection errors and timeouts → ``ClusterUnavailableError``;
- anything else the server refused (403, 422, …) → ``ClusterRejectedError``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx2
from lightkube import ApiError

from fluxgitops.errors import (
    AlreadyExistsError,
    ApplyConflictError,
    ClusterRejectedError,
    ClusterUnavailableError,
    FluxGitOpsError,
    KindNotServedError,
    NotFoundError,
    ObjectTooLargeError,
    StaleObjectError,
)

T = TypeVar("T")

API_ERRORS = (ApiError, httpx2.HTTPError, OSError)
"""What a lightkube call raises: the API's answer, an HTTP failure, a socket error."""

_MANAGER = re.compile(r'conflict with "([^"]+)"')
TOO_LARGE = ("request is too large", "trying to send message larger than max")
"""What a 500 says when the object is above etcd's limit (1.5 MiB: etcd's own answer;
2 MiB: the API server's gRPC client refuses to send it)."""


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("Retry-After")
    with contextlib.suppress(TypeError, ValueError):
        return float(value or "")
    return None


def _from_api_error(exc: ApiError, subject: str) -> FluxGitOpsError:
    status = exc.status
    code = status.code or 0
    message = status.message or ""
    if code == 404:
        return NotFoundError(f"{subject}: not found (404): {message}")
    if code == 409 and status.reason == "AlreadyExists":
        return AlreadyExistsError(f"{subject}: already exists (409): {message}")
    if code == 409 and status.details and status.details.causes:
        conflicts = []
        for cause in status.details.causes:
            manager = _MANAGER.search(cause.message or "")
            conflicts.append((cause.field or "?", manager.group(1) if manager else "?"))
        return ApplyConflictError(subject, conflicts)
    if code in (409, 410):
        return StaleObjectError(
            f"{subject}: changed since it was read ({code}): {message}; re-reading and retrying"
        )
    if code == 413 or any(marker in message for marker in TOO_LARGE):
        return ObjectTooLargeError(
            f"{subject}: the API server refused it as too large ({code}): {message}; "
            "not retried — make the configuration smaller"
        )
    if code == 429 or code >= 500:
        return ClusterUnavailableError(
            f"{subject}: the API server answered {code}: {message}; retry",
            retry_after=_retry_after(exc.response),
        )
    return ClusterRejectedError(f"{subject}: the API server refused it ({code}): {message}")


def _from_status_error(exc: httpx2.HTTPStatusError, subject: str) -> FluxGitOpsError:
    code = exc.response.status_code
    if code == 404:
        return KindNotServedError(
            f"{subject}: the API server does not serve this kind (404); is its CRD installed "
            f"(FluxExtension)? Install it, then retry"
        )
    if code == 413:
        return ObjectTooLargeError(
            f"{subject}: the API server refused it as too large (413); not retried — "
            "make the configuration smaller"
        )
    if code in (409, 410):
        return StaleObjectError(f"{subject}: changed since it was read ({code}); retrying")
    if code == 429 or code >= 500:
        return ClusterUnavailableError(
            f"{subject}: the API server answered {code}; retry",
            retry_after=_retry_after(exc.response),
        )
    return ClusterRejectedError(f"{subject}: the API server refused it ({code})")


def translate(exc: BaseException, subject: str) -> FluxGitOpsError:
    """Our error for a lightkube/httpx/socket exception raised while working on ``subject``."""
    if isinstance(exc, ApiError):
        return _from_api_error(exc, subject)
    if isinstance(exc, httpx2.HTTPStatusError):
        return _from_status_error(exc, subject)
    if isinstance(exc, httpx2.HTTPError | OSError):
        return ClusterUnavailableError(f"{subject}: cannot reach the API server: {exc}; retry")
    raise TypeError(f"not an API error: {type(exc).__name__}") from exc


@contextlib.contextmanager
def api_errors(subject: str) -> Iterator[None]:
    """Run API calls about ``subject``; their errors leave as ``fluxgitops.errors`` classes."""
    try:
        yield
    except API_ERRORS as exc:
        raise translate(exc, subject) from exc


def or_none(subject: str, call: Callable[[], T]) -> T | None:
    """``call()``, or None when what it asks for is absent (404); other errors translated."""
    try:
        with api_errors(subject):
            return call()
    except NotFoundError:
        return None

"""What the tests under Pulumi's runtime mocks share: ``pulumi_test``, the SDK's
``pulumi.runtime.test`` decorator with its type kept. Used by the component, policy,
Flux v1 and example tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import pulumi

F = TypeVar("F", bound=Callable[..., Any])


def pulumi_test(fn: F) -> F:
    """``pulumi.runtime.test`` with its type kept (the SDK's decorator is untyped)."""
    return cast(F, pulumi.runtime.test(fn))  # type: ignore[no-untyped-call]

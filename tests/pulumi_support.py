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


class Recorder(pulumi.runtime.Mocks):
    """Pulumi mocks that record every registered resource as (type, name, inputs); outputs are
    the inputs plus ``extra_outputs``; invokes return nothing. Subclasses add what a type
    reports."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, Any]]] = []

    def extra_outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        """Outputs a resource has beyond its inputs (none by default)."""
        return {}

    def resource_id(self, args: pulumi.runtime.MockResourceArgs) -> str:
        """The mocked resource's ID."""
        return f"{args.name}-id"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        return self.resource_id(args), {**dict(args.inputs), **self.extra_outputs(args)}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

"""Run an example program of ``examples/`` under Pulumi's runtime mocks and record its graph.

``run_example`` executes the example's ``__main__.py`` exactly as the language
host would (``runpy``), with the stack config given, inside ``pulumi.runtime.test``
so every output has resolved before it returns. ``Graph`` is the
``MockMonitor`` it records into: per URN (which encodes the parent chain) the
type, name, the inputs as the engine received them and which input paths were
sent as secrets. Used by ``tests/examples/test_*_program.py``.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from fluxgitops.local.toolchain import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
"""A serialized secret is ``{SIG_KEY: SECRET_SIG, "value": ...}`` (the SDK's ``rpc`` module)."""
F = TypeVar("F", bound=Callable[..., Any])
Outputs = Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]
"""Extra outputs of a mocked resource (beyond its inputs)."""
Calls = Callable[[pulumi.runtime.MockCallArgs], dict[str, Any]]
"""The result of a mocked invoke."""


@dataclass
class Registered:
    """One resource the program registered."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    secret_inputs: set[str] = field(default_factory=set)
    """Dotted paths of the inputs sent as secrets."""
    dependencies: list[str] = field(default_factory=list)
    """URNs of what it ``depends_on`` (components expanded to their children by the SDK)."""

    def is_secret(self, path: str) -> bool:
        """True when the input at dotted ``path`` was sent as a secret (or inside one)."""
        parts = path.split(".")
        return any(".".join(parts[:n]) in self.secret_inputs for n in range(1, len(parts) + 1))

    @property
    def parent_types(self) -> list[str]:
        """The types of the parents, outermost first (from the URN)."""
        return self.urn.split("::")[2].split("$")[:-1]


def unwrap(value: Any) -> Any:
    """``value`` with every serialized secret replaced by its plain value."""
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return unwrap(value.get("value"))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def _secret_keys(wire: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the values sent as secrets."""
    found = set()
    for key, value in wire.items():
        if isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG:
            found.add(f"{prefix}{key}")
        elif isinstance(value, Mapping):
            found |= _secret_keys(value, f"{prefix}{key}.")
    return found


class Graph(pulumi_mocks.MockMonitor):
    """A ``MockMonitor`` keeping every registration with its wire-level secrets."""

    def __init__(self, outputs: Outputs, calls: Calls | None = None) -> None:
        self.registered: list[Registered] = []
        self.outputs = outputs
        self.calls = calls
        super().__init__(_Mocks(self))

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802  (the gRPC method name)
        """Record the request, then answer as the mocks do."""
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        known = self.resources.get(response.urn)
        wire = dict(known.state) if known is not None else {}  # secrets still marked
        inputs = unwrap(wire)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                Registered(
                    response.urn,
                    request.type,
                    request.name,
                    inputs,
                    _secret_keys(wire),
                    list(request.dependencies),
                )
            )
        return response

    def of_type(self, typ: str) -> list[Registered]:
        """The registrations of ``typ``."""
        return [r for r in self.registered if r.type == typ]

    def named(self, name: str) -> Registered:
        """The one registration called ``name``."""
        found = [r for r in self.registered if r.name == name]
        assert len(found) == 1, f"{name!r}: {[r.name for r in self.registered]}"
        return found[0]


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", {**args.inputs, **self.graph.outputs(args)}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return ({} if self.graph.calls is None else self.graph.calls(args)), []


def install(
    project: str,
    config: Mapping[str, str],
    outputs: Outputs,
    secret_config: Mapping[str, str] | None = None,
    calls: Calls | None = None,
) -> Graph:
    """Mocks and stack config for ``project``; returns the graph they record."""
    graph = Graph(outputs, calls)
    pulumi.runtime.set_mocks(
        graph.mocks, project=project, stack="test", preview=False, monitor=graph
    )
    values = {f"{project}:{k}": v for k, v in {**config, **(secret_config or {})}.items()}
    secret = [f"{project}:{k}" for k in secret_config or {}]
    pulumi.runtime.set_all_config(values, secret)
    return graph


def run_example(directory: Path) -> dict[str, Any]:
    """Run ``directory/__main__.py`` as the language host does; its globals."""
    return runpy.run_path(str(directory / "__main__.py"), run_name="__main__")

"""Configuration-wide rules: source block vs ``sourceKind``, name lengths, ``dependsOn`` graph.

These rules span the whole configuration, so they must also run when some
unrelated field failed pydantic validation (users want every error at once).
They work on a small ``Outline`` of the configuration, built either from a
validated spec (``FluxConfigurationSpec`` calls ``check_outline`` in its model
validator) or tolerantly from the raw input (``fluxgitops.spec.parse`` does,
when pydantic already failed). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic.alias_generators import to_snake

from fluxgitops.spec.base import RuleFailure
from fluxgitops.spec.names import CONFIG_PLUS_KUSTOMIZATION_MAX, shorten_key

SOURCE_BLOCKS: dict[str, str] = {
    "GitRepository": "gitRepository",
    "Bucket": "bucket",
    "AzureBlob": "azureBlob",
    "OCIRepository": "ociRepository",
}
"""``sourceKind`` → the key of the source block it needs (camelCase, as users write it)."""

DEFAULT_KUSTOMIZATION = "kustomization-1"
_KNOWN_SHOWN = 20


@dataclass(frozen=True)
class Outline:
    """What the configuration-wide rules look at, and nothing else."""

    name: str | None
    source_kind: str
    blocks: frozenset[str]
    depends_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _get(raw: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in raw:
            return raw[key]
    return None


def outline_from_raw(raw: Mapping[str, Any]) -> Outline:
    """Build an ``Outline`` from unvalidated input, skipping whatever is malformed."""
    name = _get(raw, "name")
    kind = _get(raw, "sourceKind", "source_kind")
    blocks = frozenset(
        block for block in SOURCE_BLOCKS.values() if _get(raw, block, to_snake(block)) is not None
    )
    depends: dict[str, tuple[str, ...]] = {}
    kustomizations = _get(raw, "kustomizations")
    if kustomizations is None:
        depends[DEFAULT_KUSTOMIZATION] = ()
    elif isinstance(kustomizations, Mapping):
        for key, body in kustomizations.items():
            if not isinstance(key, str):
                continue
            deps = _get(body, "dependsOn", "depends_on") if isinstance(body, Mapping) else None
            depends[key] = (
                tuple(d for d in deps if isinstance(d, str)) if isinstance(deps, list) else ()
            )
    return Outline(
        name=name if isinstance(name, str) else None,
        source_kind=kind if isinstance(kind, str) else "GitRepository",
        blocks=blocks,
        depends_on=depends,
    )


def check_outline(outline: Outline) -> Iterator[RuleFailure]:
    """Yield every configuration-wide failure, each with a path relative to the configuration."""
    yield from _check_source_block(outline)
    yield from _check_name_lengths(outline)
    yield from _check_depends_on(outline.depends_on)


def _check_source_block(outline: Outline) -> Iterator[RuleFailure]:
    wanted = SOURCE_BLOCKS.get(outline.source_kind)
    if wanted is None:
        return  # the sourceKind field itself reports the bad value
    if wanted not in outline.blocks:
        yield RuleFailure(wanted, f"is required because sourceKind is {outline.source_kind!r}")
    for other in sorted(outline.blocks - {wanted}):
        yield RuleFailure(
            other,
            f"is not allowed because sourceKind is {outline.source_kind!r}; remove it or "
            f"set sourceKind to the kind of this block",
        )


def _check_name_lengths(outline: Outline) -> Iterator[RuleFailure]:
    if outline.name is None:
        return
    for key in outline.depends_on:
        combined = len(outline.name) + len(key)
        if combined > CONFIG_PLUS_KUSTOMIZATION_MAX:
            yield RuleFailure(
                f"kustomizations.{shorten_key(key)}",
                f"configuration name + kustomization name is {combined} characters; at most "
                f"{CONFIG_PLUS_KUSTOMIZATION_MAX} are allowed (the Kustomization is named "
                f"'<configuration>-<kustomization>')",
            )


def _check_depends_on(graph: Mapping[str, tuple[str, ...]]) -> Iterator[RuleFailure]:
    known = sorted(graph)
    for name, deps in graph.items():
        for index, dep in enumerate(deps):
            path = f"kustomizations.{shorten_key(name)}.dependsOn[{index}]"
            if dep == name:
                yield RuleFailure(path, "a kustomization cannot depend on itself", dep)
            elif dep not in graph:
                yield RuleFailure(
                    path,
                    "names no kustomization of this configuration; known: "
                    + ", ".join(shorten_key(k) for k in known[:_KNOWN_SHOWN])
                    + (", ..." if len(known) > _KNOWN_SHOWN else ""),
                    dep,
                )
    for cycle in find_cycles(graph):
        yield RuleFailure(
            f"kustomizations.{shorten_key(cycle[0])}.dependsOn",
            "dependency cycle: " + " → ".join(shorten_key(c) for c in cycle),
        )


def find_cycles(graph: Mapping[str, tuple[str, ...]]) -> list[list[str]]:
    """Every elementary cycle reached by DFS, each reported once, starting at its smallest name."""
    seen_cycles: set[tuple[str, ...]] = set()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, ()):
            if dep == node or dep not in graph:
                continue  # self-references and unknown names are reported separately
            if state.get(dep) == 1:
                loop = stack[stack.index(dep) :]
                start = loop.index(min(loop))
                canonical = tuple(loop[start:] + loop[:start])
                if canonical not in seen_cycles:
                    seen_cycles.add(canonical)
                    cycles.append([*canonical, canonical[0]])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def topological_order(graph: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Names ordered so that dependencies come first, ties broken by name (deterministic)."""
    remaining = {name: set(deps) & set(graph) - {name} for name, deps in graph.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(n for n, deps in remaining.items() if not deps)
        if not ready:  # a cycle; validation rejects these, keep the output total anyway
            ready = [min(remaining)]
        for name in ready:
            order.append(name)
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order

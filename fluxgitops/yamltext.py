"""YAML text to data, refusing what would be lost silently: duplicated mapping keys.

PyYAML keeps the last of two equal keys and drops the other without a word,
so two kustomizations with the same name, or a manifest with two ``spec:``
blocks, would lose one of them. ``StrictLoader`` refuses a duplicated key,
naming it and both lines (merge keys ``<<`` keep their override meaning).
``load`` / ``load_all`` turn every YAML problem into ``YamlError`` with the
file and line. Used by the CLI (stack and configuration files) and by
``fluxgitops.tenancy`` (repository manifests). Pure: parses text it is given.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from fluxgitops.errors import YamlError

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MERGE_KEY = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ConstructorError):
    """A mapping names the same key twice (a ``yaml.YAMLError``, so YAML handlers catch it)."""


class StrictLoader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader (libyaml when available) that refuses duplicated mapping keys."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Hashable, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_KEY:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:
                    continue  # unhashable keys fail in the base class with its own message
                line = key_node.start_mark.line + 1
                if first != line:
                    raise DuplicateKeyError(
                        None,
                        None,
                        f"duplicate key {key!r} (first at line {first}, again at line {line}); "
                        "YAML would keep only the last one — rename or remove one of them",
                        key_node.start_mark,
                    )
        result: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return result


def problem_of(exc: yaml.YAMLError) -> tuple[int, str]:
    """(line, problem) of a YAML error; the line where the broken construct is, if known."""
    if isinstance(exc, DuplicateKeyError) and exc.problem_mark is not None:
        return exc.problem_mark.line + 1, str(exc.problem)
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return (mark.line + 1 if mark is not None else 1), str(problem)


def load(text: str, file: str) -> Any:
    """The single document in ``text``; ``YamlError`` naming ``file`` and the line."""
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        line, problem = problem_of(exc)
        raise YamlError(file, line, problem) from None


def load_all(text: str, file: str) -> list[Any]:
    """Every non-empty document in ``text``; ``YamlError`` naming ``file`` and the line."""
    try:
        return [doc for doc in yaml.load_all(text, Loader=StrictLoader) if doc is not None]
    except yaml.YAMLError as exc:
        line, problem = problem_of(exc)
        raise YamlError(file, line, problem) from None

"""YAML text to data, refusing what would be lost silently: duplicated mapping keys.

PyYAML keeps the last of two equal keys and drops the other without a word,
so two kustomizations with the same name, or a manifest with two ``spec:``
blocks, would lose one of them. ``StrictLoader`` refuses a duplicated key,
naming it and both lines (merge keys ``<<`` keep their override meaning).
``load`` / ``load_all`` turn every YAML problem into ``YamlError`` with the
file and line. ``positions`` keeps where each key and list item starts, and
``line_of`` finds the line of a field path (``clusters[local].configurations
[team-a].gitRepository.url``: list items by name or index) for ``file:line``
in validation messages. ``safe_load`` / ``safe_dump`` are PyYAML's safe functions with
libyaml. Used by the CLI (stack and configuration files), ``components.automation``
(stack files) and ``fluxgitops.tenancy`` (repository manifests). Pure: parses text it
is given.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fluxgitops.errors import YamlError

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

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


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml when PyYAML has it (a 200-configuration stack file parses
    about five times faster); no duplicate-key check, exactly what ``yaml.safe_load`` returns."""
    return yaml.load(text, Loader=_Base)


def safe_dump(data: Any) -> str:
    """``yaml.safe_dump`` with libyaml when PyYAML has it."""
    return str(yaml.dump(data, Dumper=_SafeDumper))


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


Position = tuple[str | int, ...]


def positions(text: str) -> dict[Position, int]:
    """(key or index path) → 1-based line where that key or list item starts."""
    try:
        root = yaml.compose(text, Loader=StrictLoader)
    except yaml.YAMLError:
        return {}
    found: dict[Position, int] = {}

    def walk(node: Node | None, path: Position) -> None:
        if isinstance(node, MappingNode):
            for key_node, value in node.value:
                if isinstance(key_node, ScalarNode):
                    here = (*path, str(key_node.value))
                    found[here] = key_node.start_mark.line + 1
                    walk(value, here)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                found[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    walk(root, ())
    return found


_SEGMENT = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


def line_of(
    data: Any, lines: Mapping[Position, int], path: str, root: Sequence[str | int] = ()
) -> int | None:
    """The line of ``path`` (``a.b[name].c``: ``[name]`` is the list item whose ``name`` is
    that, or an index) below ``root`` in ``data``; the deepest part found when the rest is
    missing; None when not even the first part is there."""
    node: Any = data
    for part in root:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    where: Position = tuple(root)
    best = lines.get(where)
    for match in _SEGMENT.finditer(path):
        label, key = match.group(1), match.group(2)
        step: str | int | None = None
        if key is not None and isinstance(node, Mapping) and key in node:
            step = key
        elif label is not None and isinstance(node, list):
            if label.isdigit() and int(label) < len(node):
                step = int(label)
            else:
                step = next(
                    (
                        i
                        for i, v in enumerate(node)
                        if isinstance(v, Mapping) and v.get("name") == label
                    ),
                    None,
                )
        if step is None:
            break
        node = node[step]
        where = (*where, step)
        best = lines.get(where, best)
    return best

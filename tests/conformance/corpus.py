"""Load the conformance corpus: public Azure/Flux inputs with their expected outcome.

Each case is one file under ``tests/testdata/conformance/<family>/`` (``.json``
or ``.yaml``) holding:

- ``source``: where the input came from (``repo``, ``path``, ``commit`` when
  known, ``url`` for documentation pages) and, for az CLI invocations and
  Terraform HCL, ``translated`` — how it was turned into the ARM shape;
- ``expect``: ``outcome`` (``valid`` or ``invalid``) and ``why`` (the Azure or
  Flux rule it follows, e.g. the az CLI validator message); for invalid cases
  ``paths`` (dotted field paths our ``SpecError`` must name; ``a|b`` accepts
  either spelling, e.g. where the ARM form and the plain form differ); for valid cases
  optionally ``render`` — ``"Kind/name"`` → ``{JSON pointer: value}`` fields
  the rendered objects must carry — and ``backends`` (default ``kubernetes``
  and ``azure``: the ARM API 2025-04-01 accepts every Azure-sourced case);
- the input itself: ``name`` and ARM ``properties`` (camelCase, as in a
  ``Microsoft.KubernetesConfiguration/fluxConfigurations`` request body), or
  ``text``: a configuration file verbatim, for cases about the file format
  itself (duplicate keys).

Used by ``tests/conformance/test_corpus.py``. Pure: reads the files only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).parents[1] / "testdata" / "conformance"
BACKENDS = ("kubernetes", "azure")


@dataclass(frozen=True)
class Case:
    """One corpus input and what fluxgitops must do with it."""

    id: str
    file: Path
    source: dict[str, Any]
    outcome: str
    why: str
    paths: tuple[str, ...] = ()
    render: dict[str, dict[str, Any]] = field(default_factory=dict)
    backends: tuple[str, ...] = BACKENDS
    name: str | None = None
    properties: dict[str, Any] | None = None
    text: str | None = None

    @property
    def raw(self) -> dict[str, Any]:
        """The configuration as a stack entry holds it: ``name`` plus the ARM ``properties``."""
        assert self.properties is not None, f"{self.id} has no properties"
        return {"name": self.name, **self.properties}


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert isinstance(data, dict), f"{path}: a case is a mapping"
    return data


def load_case(path: Path) -> Case:
    """Parse one case file, checking that it says where it came from and what to expect."""
    data = _read(path)
    source, expect = data.get("source"), data.get("expect")
    assert isinstance(source, dict), f"{path}: 'source' must be a mapping"
    assert "repo" in source or "url" in source, f"{path}: 'source' must name its repo (or url)"
    assert isinstance(expect, dict), f"{path}: 'expect' must be a mapping"
    assert expect.get("outcome") in ("valid", "invalid"), f"{path}: outcome is valid or invalid"
    assert expect.get("why"), f"{path}: 'expect.why' must say which rule the outcome follows"
    if expect["outcome"] == "invalid":
        assert expect.get("paths"), f"{path}: an invalid case names the field paths to report"
    assert ("properties" in data) != ("text" in data), f"{path}: give 'properties' or 'text'"
    return Case(
        id=f"{path.parent.name}/{path.stem}",
        file=path,
        source=source,
        outcome=expect["outcome"],
        why=expect["why"],
        paths=tuple(expect.get("paths", ())),
        render=dict(expect.get("render", {})),
        backends=tuple(expect.get("backends", BACKENDS)),
        name=data.get("name"),
        properties=data.get("properties"),
        text=data.get("text"),
    )


def all_cases() -> list[Case]:
    """Every case of the corpus, ordered by family and name."""
    files = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".json", ".yaml"))
    return [load_case(p) for p in files]


def pointer(body: Any, path: str) -> Any:
    """The value at JSON pointer ``path`` (``/data/ca.crt``) in ``body``; KeyError if absent."""
    node = body
    for part in path.lstrip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise KeyError(path)
    return node

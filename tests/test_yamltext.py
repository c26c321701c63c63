"""YAML text that would lose data silently is refused, naming the key and both lines."""

from __future__ import annotations

import pytest

from fluxgitops import yamltext
from fluxgitops.errors import YamlError

TWO_KUSTOMIZATIONS = """\
kustomizations:
  apps:
    path: ./apps
  apps:
    path: ./other
"""


def test_duplicate_key_names_the_key_and_both_lines() -> None:
    with pytest.raises(YamlError) as info:
        yamltext.load(TWO_KUSTOMIZATIONS, "stack.yaml")
    assert info.value.line == 4
    assert str(info.value).startswith(
        "stack.yaml:4: duplicate key 'apps' (first at line 2, again at line 4)"
    )


def test_merge_keys_keep_their_override_meaning() -> None:
    text = "base: &b {a: 1, b: 2}\nchild:\n  <<: *b\n  b: 3\n"
    assert yamltext.load(text, "f.yaml")["child"] == {"a": 1, "b": 3}


def test_syntax_error_names_the_file_and_line() -> None:
    with pytest.raises(YamlError) as info:
        yamltext.load("a: [1, 2\nb: 3\n", "broken.yaml")
    assert str(info.value).startswith("broken.yaml:")


def test_duplicate_key_in_a_later_document_is_refused() -> None:
    with pytest.raises(YamlError):
        yamltext.load_all("a: 1\n---\nkind: X\nkind: Y\n", "many.yaml")


def test_line_of_finds_list_items_by_name_and_the_deepest_part() -> None:
    text = "clusters:\n  - name: a\n  - name: b\n    configurations:\n      - name: web\n"
    data = yamltext.load(text, "s.yaml")
    lines = yamltext.positions(text)
    assert yamltext.line_of(data, lines, "[b].configurations[web].name", ("clusters",)) == 5
    assert yamltext.line_of(data, lines, "[b].configurations[web].nope", ("clusters",)) == 5
    assert yamltext.line_of(data, lines, "[1]", ("clusters",)) == 3

"""The typed args mirror the spec models field for field, each argument documented.

A field added to a spec model without its argument (or an argument the spec does
not know) fails here, so the public API cannot drift from what validation
accepts; every argument has a docstring naming its camelCase stack/ARM field.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect

import pytest

import fluxgitops_pulumi
from fluxgitops_pulumi import configuration_args, extension_args
from fluxgitops_pulumi.convert import alias, spec_fields

ARGS = sorted(
    (
        cls
        for module in (configuration_args, extension_args)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if dataclasses.is_dataclass(cls) and hasattr(cls, "SPEC")
    ),
    key=lambda cls: cls.__name__,
)


def documented_fields(cls: type) -> dict[str, str]:
    """Field name → the docstring under it in the class body (and its bases)."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not dataclasses.is_dataclass(klass):
            continue
        body = ast.parse(inspect.getsource(klass)).body[0]
        assert isinstance(body, ast.ClassDef)
        for node, after in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
            ):
                found[node.target.id] = str(after.value.value)
    return found


def test_every_args_class_is_exported() -> None:
    assert {cls.__name__ for cls in ARGS} <= set(fluxgitops_pulumi.__all__)
    assert len(ARGS) >= 25


@pytest.mark.parametrize("cls", ARGS, ids=lambda cls: cls.__name__)
def test_args_fields_are_the_spec_fields(cls: type) -> None:
    args = {f.name for f in spec_fields(cls)}

    assert args == set(cls.SPEC.model_fields)  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", ARGS, ids=lambda cls: cls.__name__)
def test_every_argument_has_a_docstring_naming_its_stack_field(cls: type) -> None:
    docs = documented_fields(cls)
    undocumented = [f.name for f in dataclasses.fields(cls) if not docs.get(f.name)]
    assert undocumented == []
    spec_names = {f.name for f in spec_fields(cls)}
    unnamed = [
        name
        for name in spec_names
        if f"``{alias(cls.SPEC, name)}``" not in docs[name]  # type: ignore[attr-defined]
    ]
    assert unnamed == []

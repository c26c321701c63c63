"""Shared base of every spec model: strict, frozen, camelCase aliases, secrets masked.

``SpecModel`` is the pydantic base for the extension and configuration specs.
Cross-field rules inside one model report *all* their failures at once through
``rule_errors``: they raise a single ``PydanticCustomError`` that carries the
list, and ``fluxgitops.spec.parse`` expands it into one ``FieldError`` each.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from fluxgitops.spec.durations import Duration

RULES_ERROR_TYPE = "fluxgitops_rules"


class SpecModel(BaseModel):
    """Base for spec models: unknown keys rejected, immutable, accepts camelCase or snake_case."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        hide_input_in_errors=True,
        str_strip_whitespace=False,
    )


class RuleFailure:
    """One cross-field failure found by a model validator, relative to that model."""

    __slots__ = ("message", "path", "value")

    def __init__(self, path: str, message: str, value: object = None) -> None:
        self.path = path
        self.message = message
        self.value = value

    def __repr__(self) -> str:  # never used for secrets: values are checked by the caller
        return f"RuleFailure({self.path!r}, {self.message!r})"


def raise_rule_failures(failures: Iterable[RuleFailure]) -> None:
    """Raise one pydantic error carrying every failure (no-op when there is none)."""
    found = list(failures)
    if found:
        summary = "; ".join(f"{f.path}: {f.message}" for f in found)
        raise PydanticCustomError(
            RULES_ERROR_TYPE, "{summary}", {"summary": summary, "failures": found}
        )


def duration_field(default: timedelta | None, *, azure: str, name: str) -> Any:
    """A duration field accepting the Go form under ``name`` and seconds under Azure's ``azure``."""
    camel = to_camel(name)
    choices = AliasChoices(camel, name, azure)
    return Field(default=default, validation_alias=choices, serialization_alias=camel)


@dataclass(frozen=True)
class SecretKey:
    """Marks a ``SecretStr`` field (``Annotated[SecretStr | None, SecretKey(...)]``): the one
    place its secrecy is written down. ``key`` is its key in the auth Secret Flux reads;
    ``arm`` its name in ARM's ``configurationProtectedSettings`` when ARM defines one.
    ``fluxgitops.spec.secrets`` derives every secret map from these markers."""

    key: str
    arm: str | None = None


def secret_value(secret: SecretStr | None) -> str | None:
    """The plain value of an optional secret — call only where the value is written out."""
    return None if secret is None else secret.get_secret_value()


__all__ = [
    "Duration",
    "RuleFailure",
    "SecretKey",
    "SecretStr",
    "SpecModel",
    "duration_field",
    "raise_rule_failures",
    "secret_value",
]

"""Parse untrusted input into a spec, reporting every error at once with field paths.

``parse_configuration`` and ``parse_extension`` are the only doors from user
input (stack config, Pulumi inputs, FluxConfig custom resources, CLI files) to
the typed specs. They translate pydantic's errors into ``FieldError``s — dotted
camelCase paths, the bad value quoted with ``repr`` (masked for secret fields
and unknown keys, which may be mistyped secrets), and what is allowed — and add
the configuration-wide rules even when other fields already failed. The
resulting ``SpecError`` is raised ``from None`` so no pydantic text (which can
quote input) is chained. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast, get_args

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.alias_generators import to_camel

from fluxgitops.errors import SECRET_MASK, FieldError, SpecError
from fluxgitops.spec.arm import fold_protected_settings
from fluxgitops.spec.base import RULES_ERROR_TYPE, RuleFailure
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.extension import FluxExtensionSpec
from fluxgitops.spec.names import MAX_SPEC_BYTES, shorten_key
from fluxgitops.spec.rules import check_outline, outline_from_raw
from fluxgitops.spec.secrets import SECRETS

M = TypeVar("M", bound=BaseModel)

_SECRET_WORDS = re.compile(r"(key|secret|password|token|private|credential)", re.IGNORECASE)
_MAX_SHOWN = 80


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models_in(arg)


SECRET_FIELDS = frozenset(
    name
    for field in SECRETS
    for name in (field.attrs[-1], to_camel(field.attrs[-1]), field.path[-1], field.marker.arm)
    if name
)
"""Every name (Python, camelCase, ARM) a secret field of ``fluxgitops.spec.secrets`` goes by."""


def format_path(loc: Iterable[int | str]) -> str:
    """``('kustomizations', 'apps', 'dependsOn', 0)`` → ``kustomizations.apps.dependsOn[0]``.

    Long keys (user input) are shortened, so an error about a huge key stays small."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += ("." if out else "") + shorten_key(str(part))
    return out


def is_secret_path(path: str) -> bool:
    """True when the last field of ``path`` holds (or is named like) a secret."""
    leaf = re.split(r"[.\[]", path)[-1]
    return leaf in SECRET_FIELDS or bool(_SECRET_WORDS.search(leaf))


def show_value(path: str, value: object) -> str:
    """How a bad value appears in an error: ``repr``, shortened, or masked when secret."""
    if value is None:
        return ""
    if isinstance(value, SecretStr) or is_secret_path(path):
        return SECRET_MASK
    if not isinstance(value, str | int | float | bool):
        return ""
    shown = repr(value)
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 4] + "...'"


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class whose field ``loc`` points into, following aliases; None if unknown."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int) or part == "[key]":
            continue
        match = next(
            (
                info
                for name, info in model.model_fields.items()
                if part in (name, to_camel(name), info.alias, info.serialization_alias)
            ),
            None,
        )
        if match is None:
            # a dict key (kustomization name): keep the model of the dict's values
            continue
        model = next(_models_in(match.annotation), None)
    return model


def _allowed_fields(model: type[BaseModel]) -> list[str]:
    return sorted(
        info.serialization_alias or info.alias or to_camel(name)
        for name, info in model.model_fields.items()
    )


def _translate(root: type[BaseModel], error: Mapping[str, Any]) -> Iterator[FieldError]:
    loc = tuple(error["loc"])
    path = format_path(loc)
    kind = error["type"]
    if kind == RULES_ERROR_TYPE:
        for failure in cast(list[RuleFailure], error["ctx"]["failures"]):
            sub = ".".join(p for p in (path, failure.path) if p)
            sub = sub.replace(".[", "[")
            yield FieldError(sub, failure.message, show_value(sub, failure.value), "rule")
        return
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        allowed = _allowed_fields(parent) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"is not a known field{hint} Allowed: {', '.join(allowed)}"
        yield FieldError(path, message, "", kind)
        return
    if kind == "missing":
        yield FieldError(path, "is required", "", kind)
        return
    if loc and loc[-1] == "[key]":
        yield FieldError(
            path, f"name {error['msg'][0].lower()}{error['msg'][1:]}", show_value("", loc[-2]), kind
        )
        return
    message = error["msg"]
    if kind in ("string_too_long", "too_long"):
        limit = error.get("ctx", {}).get("max_length")
        unit = "characters" if kind == "string_too_long" else "entries"
        size = len(error["input"]) if hasattr(error.get("input"), "__len__") else "?"
        message = f"has {size} {unit}; at most {limit} are allowed"
        yield FieldError(path, message, "", kind)
        return
    if kind == "literal_error":
        message = "must be " + message.removeprefix("Input should be ")
    elif message.startswith("Input should be"):
        message = "must be" + message.removeprefix("Input should be")
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    yield FieldError(path, message, show_value(path, error.get("input")), kind)


def translate_errors(model: type[BaseModel], raw: object) -> list[FieldError]:
    """Validate ``raw`` against ``model``; its errors as ``FieldError``s (empty when valid)."""
    try:
        model.model_validate(raw)
    except ValidationError as exc:
        return [fe for err in exc.errors(include_url=False) for fe in _translate(model, err)]
    return []


def _validate(
    model: type[M], raw: Mapping[str, Any], subject: str, extra: Iterable[FieldError] = ()
) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [fe for err in exc.errors(include_url=False) for fe in _translate(model, err)]
        errors.extend(extra)
        unique = {(e.path, e.message): e for e in errors}
        raise SpecError(subject, unique.values()) from None


def _subject(kind: str, raw: object) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return f"{kind} {shorten_key(name)!r}" if isinstance(name, str) else kind


def parse_configuration(raw: Mapping[str, Any]) -> FluxConfigurationSpec:
    """Validate ``raw`` into a ``FluxConfigurationSpec`` or raise ``SpecError`` with every error."""
    if not isinstance(raw, Mapping):
        raise SpecError(
            "FluxConfiguration", [FieldError("", "must be a mapping", type(raw).__name__)]
        )
    raw, folded = fold_protected_settings(raw)
    subject = _subject("FluxConfiguration", raw)
    too_large = spec_size_error(raw, RAW_LIMIT)
    if too_large is not None:  # checked first: validating megabytes only to reject them is waste
        raise SpecError(subject, [too_large])
    if not folded:
        try:
            spec = FluxConfigurationSpec.model_validate(raw)
        except ValidationError:
            pass  # collected again below, together with the configuration-wide rules
        else:
            # measured on the canonical form, so the applier (user input) and the reconciler
            # (the FluxConfig, defaults filled in) agree on what fits
            too_large = spec_size_error(spec.model_dump(mode="json", exclude_none=True))
            if too_large is not None:
                raise SpecError(subject, [too_large])
            return spec
    rules = [
        FieldError(f.path, f.message, show_value(f.path, f.value), "rule")
        for f in check_outline(outline_from_raw(raw))
    ]
    model = _validate(FluxConfigurationSpec, raw, subject, [*rules, *folded])
    if folded:
        raise SpecError(subject, folded)
    return model


RAW_LIMIT = 2 * MAX_SPEC_BYTES
"""Input larger than this is refused before validation (its canonical form cannot fit)."""


def spec_size_error(body: Mapping[str, Any], limit: int = MAX_SPEC_BYTES) -> FieldError | None:
    """A ``FieldError`` when ``body`` is larger than ``limit`` bytes as JSON, else None."""
    size = len(json.dumps(body, default=str, separators=(",", ":")).encode())
    if size <= limit:
        return None
    return FieldError(
        "",
        f"the configuration is {size} bytes as JSON (defaults included); at most {limit} are "
        "allowed (split it into several configurations)",
        code="too_large",
    )


def parse_extension(raw: Mapping[str, Any]) -> FluxExtensionSpec:
    """Validate ``raw`` into a ``FluxExtensionSpec`` or raise ``SpecError`` with every error."""
    if not isinstance(raw, Mapping):
        raise SpecError("FluxExtension", [FieldError("", "must be a mapping", type(raw).__name__)])
    return _validate(FluxExtensionSpec, raw, _subject("FluxExtension", raw))


def ssh_key_problems(spec: FluxConfigurationSpec, reconciler_enabled: bool) -> list[FieldError]:
    """An SSH Git source without a key when no reconciler will generate one (kubernetes
    backend with ``extension.reconciler.enabled: false``): nothing would ever fill the
    Secret the GitRepository refers to. Used by ``parse_stack`` and the provider's check."""
    git = spec.git_repository
    if reconciler_enabled or git is None or not git.generates_ssh_key:
        return []
    return [
        FieldError(
            "gitRepository.sshPrivateKey",
            "is required for an ssh:// URL when the reconciler is off "
            "(extension.reconciler.enabled: false), since only the reconciler generates keys; "
            "set sshPrivateKey as a Pulumi secret, use localAuthRef, or enable the reconciler",
            repr(git.url),
        )
    ]

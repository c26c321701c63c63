"""Public args → the spec, and spec errors → the user's resource and argument names.

``to_raw`` turns a typed args object (``configuration_args`` /
``extension_args``) into the camelCase raw input ``fluxgitops.spec.parse``
validates: ``None`` fields are left out (the spec's default applies), the key
of each field is the spec model's own alias (read from the model, never
repeated here). A secret given as a Pulumi ``Output`` is replaced by a
stand-in of the right form for the check at construction and returned by
dotted path, so the value travels only as a Pulumi secret (the dynamic provider
validates the real value at preview). ``python_path`` maps an error path such as
``kustomizations.apps.dependsOn[0]`` back to ``kustomizations['apps'].depends_on[0]``,
and ``rename_errors`` rebuilds a ``SpecError`` whose subject is the user's resource.
Called by ``fluxgitops_pulumi.components``; imports no I/O.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pulumi
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from fluxgitops.errors import FieldError, SpecError
from fluxgitops.spec.parse import SECRET_FIELDS


def alias(model: type[BaseModel], name: str) -> str:
    """The camelCase key of field ``name`` of ``model`` (as stack files and ARM write it)."""
    info = model.model_fields[name]
    return info.serialization_alias or info.alias or to_camel(name)


def spec_fields(args: object) -> list[dataclasses.Field[Any]]:
    """The fields of an args dataclass that belong to its spec model."""
    skip: frozenset[str] = getattr(args, "CONNECTION", frozenset())
    return [f for f in dataclasses.fields(args) if f.name not in skip]  # type: ignore[arg-type]


def stand_in(key: str, number: int) -> str:
    """A unique value of the right form for the secret ``key`` while its ``Output`` is unknown
    (a fresh OpenSSH key for ``sshPrivateKey``, which is checked as a key)."""
    if key != "sshPrivateKey":
        return f"deferred-secret-{number}"
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


OUTPUT_REFUSED = (
    "is a pulumi.Output; only secret arguments and the cluster connection take Outputs "
    "(the spec is checked when the program runs), give a plain value"
)


def to_raw(args: object, deferred: dict[str, pulumi.Output[str]] | None = None) -> dict[str, Any]:
    """The raw camelCase spec input of ``args``; each ``Output`` secret is replaced by a
    stand-in, recorded in ``deferred`` (stand-in → the ``Output``). An ``Output`` anywhere
    else is a ``SpecError`` (subject ``args``' class) naming the argument."""
    found: dict[str, pulumi.Output[str]] = {} if deferred is None else deferred
    refused: list[str] = []
    raw = _node(args, "", found, refused)
    if refused:
        errors = [FieldError(p, OUTPUT_REFUSED, code="output") for p in refused]
        raise SpecError(type(args).__name__, errors)
    return dict(raw)


def _node(value: Any, path: str, secrets: dict[str, pulumi.Output[str]], refused: list[str]) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        model: type[BaseModel] = type(value).SPEC  # type: ignore[attr-defined]
        out: dict[str, Any] = {}
        for f in spec_fields(value):
            item = getattr(value, f.name)
            if item is None:
                continue
            key = alias(model, f.name)
            here = f"{path}.{key}" if path else key
            if isinstance(item, pulumi.Output):
                if key not in SECRET_FIELDS:
                    refused.append(here)
                    continue
                placeholder = stand_in(key, len(secrets))
                secrets[placeholder] = item
                out[key] = placeholder
            else:
                out[key] = _node(item, here, secrets, refused)
        return out
    if isinstance(value, Mapping):
        return {str(k): _node(v, f"{path}.{k}", secrets, refused) for k, v in value.items()}
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Sequence):
        return [_node(v, f"{path}[{i}]", secrets, refused) for i, v in enumerate(value)]
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, pulumi.Output):
        refused.append(path)
    return value


_TOKEN = re.compile(r"\[(\d+)\]|([^.\[]+)")


def python_path(args: object, path: str) -> str:
    """``path`` (camelCase, from the spec) in the Python names of ``args``' classes."""
    out = ""
    node: Any = args
    for index, name in _TOKEN.findall(path):
        if index:
            out += f"[{index}]"
            node = (
                node[int(index)] if isinstance(node, Sequence) and int(index) < len(node) else None
            )
            continue
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            model: type[BaseModel] = type(node).SPEC  # type: ignore[attr-defined]
            match = next(
                (f.name for f in spec_fields(node) if name in (f.name, alias(model, f.name))),
                None,
            )
            if match is not None:
                out += ("." if out else "") + match
                node = getattr(node, match)
                continue
        if isinstance(node, Mapping):
            out += f"[{name!r}]"
            node = node.get(name)
            continue
        out += ("." if out else "") + name  # not in the args (a default's field): as the spec
        node = None
    return out


def rename_errors(
    exc: SpecError, subject: str, args: object, hints: Mapping[str, str]
) -> SpecError:
    """``exc`` about ``subject`` (the user's resource), paths in ``args``' Python names;
    ``hints`` adds advice after the message of a path (e.g. where a default came from)."""
    renamed = []
    for error in exc.errors:
        path = python_path(args, error.path)
        message = error.message + hints.get(path, "")
        renamed.append(FieldError(path, message, error.value, error.code))
    return type(exc)(subject, renamed)

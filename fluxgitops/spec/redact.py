"""Split the secret values out of raw configuration input, and put them back.

The Pulumi layer passes a configuration to the dynamic provider as two inputs:
``spec`` without any secret (so ``pulumi preview`` can show its diff field by
field) and ``secrets`` — a flat map from dotted path to value, marked secret
so Pulumi encrypts it in state. The provider merges them back before parsing.
A value counts as secret when its key is a ``SecretStr`` field of the spec
models (``SECRET_FIELDS``). Pure: no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, SecretStr

from fluxgitops.spec.durations import format_duration
from fluxgitops.spec.parse import SECRET_FIELDS


def split_secrets(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(public, secrets)``: ``raw`` without secret values, and those values by dotted path."""
    secrets: dict[str, Any] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, Mapping):
            out: dict[str, Any] = {}
            for key, value in node.items():
                here = f"{path}.{key}" if path else str(key)
                if key in SECRET_FIELDS and value is not None and not isinstance(value, Mapping):
                    secrets[here] = value
                else:
                    out[key] = walk(value, here)
            return out
        if isinstance(node, list):
            return [walk(item, f"{path}[{i}]") for i, item in enumerate(node)]
        return node

    public = walk(raw, "")
    return public, secrets


def merge_secrets(public: Mapping[str, Any], secrets: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of ``split_secrets`` (paths through lists are not used by the spec)."""
    merged: dict[str, Any] = copy.deepcopy(dict(public))
    for path, value in secrets.items():
        *parents, leaf = path.split(".")
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return merged


def spec_to_raw(model: BaseModel) -> dict[str, Any]:
    """A validated spec back to raw camelCase input, secrets revealed (``parse`` round-trips it).

    For handing a spec to the provider; split the result with ``split_secrets``
    straight away so the values travel only as Pulumi secrets.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, timedelta):
            return format_duration(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    dumped = model.model_dump(mode="python", by_alias=True, exclude_none=True)
    result: dict[str, Any] = plain(dumped)
    return result

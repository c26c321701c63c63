"""Stack entries from what already exists: an ARM body, ``az … show`` output, a live FluxConfig.

``Imported`` is the result: the configuration entry without secret values,
those values apart by dotted path (to become ``pulumi config set --secret``
lines, never printed), what was left out, and the errors found. ``from_arm``
takes ``properties`` when present, leaves out ARM's read-only fields, and
folds ``configurationProtectedSettings`` (``fluxgitops.spec.arm``); the split of
secret values is ``fluxgitops.spec.redact.split_secrets``, the one the Pulumi
layer uses. A live FluxConfig is read back by
``fluxgitops.fluxconfig.readback.entry_from_fluxconfig``. Called by the CLI
(``fluxgitops import``). Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fluxgitops.errors import FieldError
from fluxgitops.spec.arm import READ_ONLY_FIELDS, fold_protected_settings
from fluxgitops.spec.redact import split_secrets


@dataclass
class Imported:
    """A configuration entry for a stack, its secrets apart, and what was left out."""

    entry: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def from_arm(body: Mapping[str, Any]) -> Imported:
    """A stack entry from an ARM resource, ``az … show`` output or a bare ``properties`` map."""
    props: dict[str, Any] = dict(body.get("properties") or body)
    dropped = sorted(k for k in props if k in READ_ONLY_FIELDS)
    if "properties" in body:  # the resource envelope: only its name is input
        dropped += sorted(k for k in body if k not in ("properties", "name"))
    entry = {k: copy.deepcopy(v) for k, v in props.items() if k not in READ_ONLY_FIELDS}
    if "name" not in entry and isinstance(body.get("name"), str):
        entry = {"name": body["name"], **entry}
    kustomizations = entry.get("kustomizations")
    if isinstance(kustomizations, Mapping):
        dropped += [
            f"kustomizations.{name}.name"
            for name, k in kustomizations.items()
            if isinstance(k, Mapping) and k.get("name") == name
        ]
    folded, errors = fold_protected_settings(entry)  # also drops ARM's nulls and echoed names
    public, secrets = split_secrets(folded)
    return Imported(public, {k: str(v) for k, v in secrets.items()}, dropped, errors)

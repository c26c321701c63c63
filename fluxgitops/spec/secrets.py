"""The one secret map: every secret field of a configuration, read from the spec models.

A secret field is a ``SecretStr`` field marked ``SecretKey(key, arm=...)``
(``fluxgitops.spec.base``) on the model itself. ``SECRETS`` lists each one with
its camelCase path from the configuration root, its key in the auth Secret and
its ARM protected-setting name; the tables the other layers need are derived
here: ``PROTECTED_SETTINGS`` (source block → Secret key → field inside the
block: reading a FluxConfig's Secret back, ``fluxgitops.fluxconfig.readback``) and
``ARM_PROTECTED_SETTINGS`` (ARM key → block and field: ``fluxgitops.spec.arm``).
``fluxgitops.spec.parse.SECRET_FIELDS`` (redaction, error masking) and the
FluxConfig's exclusion of secret values (``fluxgitops.fluxconfig.render``) read
the same markers. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, SecretStr
from pydantic.alias_generators import to_camel

from fluxgitops.spec.base import SecretKey
from fluxgitops.spec.configuration import FluxConfigurationSpec


@dataclass(frozen=True)
class SecretField:
    """One secret field: where it sits (camelCase and Python names) and its marker."""

    path: tuple[str, ...]
    """camelCase keys from the configuration root, e.g. ``("gitRepository", "httpsKey")``."""
    attrs: tuple[str, ...]
    """The same path as Python attribute names."""
    marker: SecretKey

    @property
    def block(self) -> str:
        """The source block holding it (``gitRepository``, ``bucket``, …)."""
        return self.path[0]

    @property
    def inner(self) -> str:
        """Its dotted path inside the block (``servicePrincipal.clientSecret``)."""
        return ".".join(self.path[1:])


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _camel(name: str, alias: str | None) -> str:
    return alias or to_camel(name)


def secret_fields(root: type[BaseModel]) -> tuple[SecretField, ...]:
    """Every field marked ``SecretKey`` reachable from ``root``, in declaration order."""
    found: list[SecretField] = []

    def walk(model: type[BaseModel], path: tuple[str, ...], attrs: tuple[str, ...]) -> None:
        for name, info in model.model_fields.items():
            key = _camel(name, info.serialization_alias or info.alias)
            markers = [m for m in info.metadata if isinstance(m, SecretKey)]
            if markers:
                found.append(SecretField((*path, key), (*attrs, name), markers[0]))
                continue
            for sub in _models_in(info.annotation):
                if sub is not model:
                    walk(sub, (*path, key), (*attrs, name))

    walk(root, (), ())
    return tuple(found)


SECRETS: tuple[SecretField, ...] = secret_fields(FluxConfigurationSpec)

PROTECTED_SETTINGS: Mapping[str, Mapping[str, str]] = {
    block: {f.marker.key: f.inner for f in SECRETS if f.block == block}
    for block in dict.fromkeys(f.block for f in SECRETS)
}
"""Source block → auth Secret key → the secret field (in that block) it came from.

The inverse of ``fluxgitops.render.auth.auth_data`` for the secret fields only;
``tests/fluxconfig/test_readback.py`` renders every golden configuration and
checks that reading it back gives the same spec."""

ARM_PROTECTED_SETTINGS: Mapping[str, tuple[str, str]] = {
    f.marker.arm: (f.block, f.inner) for f in SECRETS if f.marker.arm
}
"""ARM protected-setting key → (source block, field of that block) it stands for."""


def secret_data(block: BaseModel) -> dict[str, str]:
    """The secret fields set in ``block`` (a source block), revealed, under their auth Secret
    keys — what ``fluxgitops.render.auth`` writes and ``PROTECTED_SETTINGS`` reads back."""
    out: dict[str, str] = {}
    for name, info in type(block).model_fields.items():
        value = getattr(block, name)
        markers = [m for m in info.metadata if isinstance(m, SecretKey)]
        if markers and isinstance(value, SecretStr):
            out[markers[0].key] = value.get_secret_value()
        elif isinstance(value, BaseModel):
            out.update(secret_data(value))
    return out


def arm_secret_data(block: BaseModel) -> dict[str, str]:
    """The secret fields set in ``block`` that ARM takes as protected settings, revealed,
    under their ARM keys (``sshPrivateKey``, ``httpsKey``, ``bucketSecretKey``) — what
    ``fluxgitops.azure`` sends and ``ARM_PROTECTED_SETTINGS`` reads back."""
    out: dict[str, str] = {}
    for name, info in type(block).model_fields.items():
        value = getattr(block, name)
        markers = [m for m in info.metadata if isinstance(m, SecretKey) and m.arm]
        if markers and isinstance(value, SecretStr):
            out[str(markers[0].arm)] = value.get_secret_value()
    return out


def secret_key(model: type[BaseModel], attr: str) -> str:
    """The auth Secret key of the secret field ``attr`` of ``model``."""
    markers = [m for m in model.model_fields[attr].metadata if isinstance(m, SecretKey)]
    if not markers:
        raise KeyError(f"{model.__name__}.{attr} is not marked SecretKey")
    return markers[0].key

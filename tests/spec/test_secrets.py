"""The one secret map: every ``SecretStr`` field is marked, and the derived tables agree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from pydantic import BaseModel, SecretStr

from fluxgitops.spec import FluxConfigurationSpec, FluxExtensionSpec, parse_configuration
from fluxgitops.spec.base import SecretKey
from fluxgitops.spec.secrets import (
    ARM_PROTECTED_SETTINGS,
    PROTECTED_SETTINGS,
    SECRETS,
    arm_secret_data,
)


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models(arg)


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_is_secret(a) for a in get_args(annotation))


def test_every_secret_field_is_marked() -> None:
    unmarked = []
    seen: set[type[BaseModel]] = set()
    stack: list[type[BaseModel]] = [FluxConfigurationSpec, FluxExtensionSpec]
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            marked = any(isinstance(m, SecretKey) for m in info.metadata)
            if _is_secret(info.annotation) and not marked:
                unmarked.append(f"{model.__name__}.{name}")
            stack.extend(_models(info.annotation))
    assert unmarked == []


def test_secret_keys_are_unique_within_a_source_block() -> None:
    for block in PROTECTED_SETTINGS:
        keys = [f.marker.key for f in SECRETS if f.block == block]
        assert len(keys) == len(set(keys)), block


def test_arm_protected_settings_are_the_git_and_bucket_secrets() -> None:
    assert dict(ARM_PROTECTED_SETTINGS) == {
        "sshPrivateKey": ("gitRepository", "sshPrivateKey"),
        "httpsKey": ("gitRepository", "httpsKey"),
        "bucketSecretKey": ("bucket", "secretKey"),
    }


def test_arm_secret_data_keys_a_git_block_by_its_protected_settings() -> None:
    spec = parse_configuration(
        {
            "name": "web",
            "gitRepository": {"url": "https://h/r.git", "httpsUser": "bot", "httpsKey": "t0ken"},
        }
    )
    assert spec.git_repository is not None
    assert arm_secret_data(spec.git_repository) == {"httpsKey": "t0ken"}

"""ARM's request shape: ``configurationProtectedSettings`` (base64) and ``az … show`` output."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from fluxgitops.errors import SpecError
from fluxgitops.spec import parse_configuration
from fluxgitops.spec.importing import from_arm


def b64(text: str) -> str:
    """``text`` as ARM carries it."""
    return base64.b64encode(text.encode()).decode()


def arm_https(**protected: Any) -> dict[str, Any]:
    """An ARM-shaped HTTPS Git configuration with ``protected`` settings."""
    return {
        "name": "cfg",
        "namespace": "flux-config",
        "gitRepository": {"url": "https://dev.azure.com/org/repo", "httpsUser": "git"},
        "configurationProtectedSettings": protected,
    }


def paths_of(raw: dict[str, Any]) -> list[str]:
    """The error paths of ``raw``, expecting failure."""
    with pytest.raises(SpecError) as info:
        parse_configuration(raw)
    return info.value.paths


def test_protected_https_key_folds_into_the_git_block_decoded() -> None:
    spec = parse_configuration(arm_https(httpsKey=b64("pat-123")))
    assert spec.git_repository is not None
    assert spec.git_repository.https_key is not None
    assert spec.git_repository.https_key.get_secret_value() == "pat-123"


def test_protected_bucket_secret_key_folds_into_the_bucket_block() -> None:
    raw = {
        "name": "cfg",
        "sourceKind": "Bucket",
        "bucket": {"url": "https://s3.example.com", "bucketName": "flux", "accessKey": "AK"},
        "configurationProtectedSettings": {"bucketSecretKey": b64("SK")},
    }
    spec = parse_configuration(raw)
    assert spec.bucket is not None
    assert spec.bucket.secret_key is not None
    assert spec.bucket.secret_key.get_secret_value() == "SK"


def test_protected_setting_that_is_not_base64_names_the_key_and_hides_the_value() -> None:
    with pytest.raises(SpecError) as info:
        parse_configuration(arm_https(httpsKey="not base64!"))
    error = next(
        e for e in info.value.errors if e.path == "configurationProtectedSettings.httpsKey"
    )
    assert error.message.startswith("must be base64")
    assert "not base64!" not in str(info.value)


def test_protected_setting_given_twice_is_refused() -> None:
    raw = arm_https(httpsKey=b64("a"))
    raw["gitRepository"]["httpsKey"] = "b"
    assert "configurationProtectedSettings.httpsKey" in paths_of(raw)


def test_protected_setting_arm_does_not_define_is_refused() -> None:
    assert "configurationProtectedSettings.password" in paths_of(
        arm_https(httpsKey=b64("a"), password=b64("b"))
    )


def test_az_show_output_becomes_an_entry_without_read_only_fields_or_secrets() -> None:
    shown = {
        "id": "/subscriptions/x/resourceGroups/rg/providers/.../fluxConfigurations/cfg",
        "name": "cfg",
        "type": "Microsoft.KubernetesConfiguration/fluxConfigurations",
        "properties": {
            "scope": "cluster",
            "namespace": "flux-config",
            "sourceKind": "GitRepository",
            "complianceState": "Compliant",
            "statuses": [],
            "provisioningState": "Succeeded",
            "gitRepository": {
                "url": "https://dev.azure.com/org/repo",
                "httpsUser": "git",
                "repositoryRef": {"branch": "main", "tag": None, "semver": None, "commit": None},
                "sshKnownHosts": None,
            },
            "configurationProtectedSettings": {"httpsKey": b64("tok-9f3e")},
            "kustomizations": {"infra": {"name": "infra", "path": "./infra", "dependsOn": []}},
        },
    }
    imported = from_arm(shown)
    assert imported.secrets == {"gitRepository.httpsKey": "tok-9f3e"}
    assert "tok-9f3e" not in repr(imported.entry)
    assert imported.entry["kustomizations"] == {"infra": {"path": "./infra", "dependsOn": []}}
    assert {"complianceState", "statuses", "provisioningState", "id", "type"} <= set(
        imported.dropped
    )
    assert imported.errors == []
    restored = {**imported.entry, "gitRepository": {**imported.entry["gitRepository"]}}
    restored["gitRepository"]["httpsKey"] = imported.secrets["gitRepository.httpsKey"]
    assert parse_configuration(restored).name == "cfg"

"""Validation of FluxConfiguration and FluxExtension input: one test per rule.

Each test asserts the field path and the message prefix, as Flux's own tests
assert condition reasons and message prefixes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from fluxgitops.errors import SECRET_MASK, FieldError, SpecError
from fluxgitops.spec import parse_configuration, parse_extension
from tests.keys import KNOWN_HOSTS, SSH_KEY

GIT = {"url": "https://github.com/example/repo.git"}


def config(**overrides: Any) -> dict[str, Any]:
    """A valid configuration with ``overrides`` merged in at the top level."""
    raw: dict[str, Any] = {"name": "cfg", "gitRepository": dict(GIT)}
    raw.update(overrides)
    return raw


def errors_of(raw: dict[str, Any]) -> dict[str, FieldError]:
    """Parse ``raw`` expecting failure; return its errors by path."""
    with pytest.raises(SpecError) as info:
        parse_configuration(raw)
    return {e.path: e for e in info.value.errors}


def ext_errors_of(raw: dict[str, Any]) -> dict[str, FieldError]:
    """Parse extension ``raw`` expecting failure; return its errors by path."""
    with pytest.raises(SpecError) as info:
        parse_extension(raw)
    return {e.path: e for e in info.value.errors}


# ---------------------------------------------------------------- names


def test_name_not_dns1123_label() -> None:
    err = errors_of(config(name="Team_A"))["name"]
    assert err.message.startswith("must be at most 63 lower-case letters, digits, '-' or '.'")
    assert err.value == "'Team_A'"


def test_namespace_not_dns1123_label() -> None:
    err = errors_of(config(namespace="bad.ns!"))["namespace"]
    assert err.message.startswith("must be a DNS-1123 label")


def test_name_plus_kustomization_over_62_characters() -> None:
    raw = config(name="a" * 40, kustomizations={"k" * 23: {}})
    err = errors_of(raw)["kustomizations." + "k" * 23]
    assert err.message.startswith(
        "configuration name + kustomization name is 63 characters; at most 62"
    )


def test_name_plus_kustomization_of_62_characters_is_accepted() -> None:
    spec = parse_configuration(config(name="a" * 40, kustomizations={"k" * 22: {}}))
    assert list(spec.kustomizations) == ["k" * 22]


def test_kustomization_name_not_dns1123() -> None:
    err = errors_of(config(kustomizations={"Apps": {}}))["kustomizations.Apps"]
    assert err.message.startswith("name must be at most 63 lower-case letters")


# ---------------------------------------------------------------- URLs


def test_git_url_scheme_rejected() -> None:
    err = errors_of(config(gitRepository={"url": "ftp://example.com/repo"}))["gitRepository.url"]
    assert err.message.startswith("must be an http://, https:// or ssh:// URL")
    assert err.value == "'ftp://example.com/repo'"


def test_scp_like_git_url_normalised_to_ssh() -> None:
    spec = parse_configuration(config(gitRepository={"url": "git@github.com:org/repo.git"}))
    assert spec.git_repository is not None
    assert spec.git_repository.url == "ssh://git@github.com/org/repo.git"


def test_oci_url_needs_oci_scheme() -> None:
    raw = config(sourceKind="OCIRepository", ociRepository={"url": "https://ghcr.io/x/y"})
    raw.pop("gitRepository")
    assert errors_of(raw)["ociRepository.url"].message.startswith("must be an oci:// URL")


def test_bucket_url_with_path_rejected() -> None:
    raw = {
        "name": "b",
        "sourceKind": "Bucket",
        "bucket": {"url": "https://s3/x/y", "bucketName": "abc"},
    }
    assert errors_of(raw)["bucket.url"].message.startswith(
        "must be an http:// or https:// URL of the S3 endpoint"
    )


def test_azure_blob_url_must_be_https() -> None:
    raw = {
        "name": "b",
        "sourceKind": "AzureBlob",
        "azureBlob": {
            "url": "http://acct.blob.core.windows.net",
            "containerName": "abc",
            "sasToken": "x",
        },
    }
    assert errors_of(raw)["azureBlob.url"].message.startswith("must be an https:// storage account")


# ---------------------------------------------------------------- source block vs kind


def test_source_block_missing_for_source_kind() -> None:
    raw = config(sourceKind="Bucket")
    errors = errors_of(raw)
    assert errors["bucket"].message.startswith("is required because sourceKind is 'Bucket'")
    assert errors["gitRepository"].message.startswith(
        "is not allowed because sourceKind is 'Bucket'"
    )


def test_source_kind_unknown() -> None:
    err = errors_of(config(sourceKind="HelmRepository"))["sourceKind"]
    assert err.message.startswith(
        "must be 'GitRepository', 'Bucket', 'AzureBlob' or 'OCIRepository'"
    )


# ---------------------------------------------------------------- refs


def test_default_ref_is_branch_master() -> None:
    spec = parse_configuration(config())
    assert spec.git_repository is not None
    assert spec.git_repository.repository_ref.branch == "master"


def test_two_refs_conflict() -> None:
    raw = config(gitRepository={**GIT, "repositoryRef": {"tag": "v1", "semver": "^1.0"}})
    err = errors_of(raw)["gitRepository.repositoryRef.semver"]
    assert err.message.startswith("conflicts with 'tag'")


def test_empty_ref_rejected() -> None:
    err = errors_of(config(gitRepository={**GIT, "repositoryRef": {}}))[
        "gitRepository.repositoryRef"
    ]
    assert err.message.startswith("set one of branch, tag, semver or commit")


def test_branch_with_commit_is_allowed() -> None:
    sha = "a" * 40
    spec = parse_configuration(
        config(gitRepository={**GIT, "repositoryRef": {"branch": "main", "commit": sha}})
    )
    assert spec.git_repository is not None
    assert spec.git_repository.repository_ref.commit == sha


def test_semver_range_must_parse() -> None:
    raw = config(gitRepository={**GIT, "repositoryRef": {"semver": ">= one"}})
    err = errors_of(raw)["gitRepository.repositoryRef.semver"]
    assert err.message.startswith("must be a semver range")


def test_commit_must_be_hex_sha() -> None:
    raw = config(gitRepository={**GIT, "repositoryRef": {"commit": "main~1"}})
    err = errors_of(raw)["gitRepository.repositoryRef.commit"]
    assert err.message.startswith("must be a full lower-case hex commit SHA")


def test_branch_must_be_valid_ref_name() -> None:
    raw = config(gitRepository={**GIT, "repositoryRef": {"branch": "feature..x"}})
    assert errors_of(raw)["gitRepository.repositoryRef.branch"].message.startswith(
        "must be a valid Git ref"
    )


# ---------------------------------------------------------------- auth


def test_ssh_fields_rejected_for_https_url() -> None:
    raw = config(gitRepository={**GIT, "sshPrivateKey": SSH_KEY, "sshKnownHosts": KNOWN_HOSTS})
    errors = errors_of(raw)
    assert errors["gitRepository.sshPrivateKey"].message.startswith(
        "is only allowed with an ssh://"
    )
    assert errors["gitRepository.sshKnownHosts"].message.startswith(
        "is only allowed with an ssh://"
    )


def test_https_fields_rejected_for_ssh_url() -> None:
    raw = config(gitRepository={"url": "ssh://git@h/r", "httpsUser": "u", "httpsKey": "k"})
    errors = errors_of(raw)
    assert errors["gitRepository.httpsUser"].message.startswith(
        "is only allowed with an http(s)://"
    )
    assert errors["gitRepository.httpsKey"].message.startswith("is only allowed with an http(s)://")


def test_https_user_needs_https_key() -> None:
    err = errors_of(config(gitRepository={**GIT, "httpsUser": "bot"}))["gitRepository.httpsKey"]
    assert err.message.startswith("is required when httpsUser is set")


def test_local_auth_ref_conflicts_with_inline_key() -> None:
    raw = config(gitRepository={**GIT, "httpsUser": "u", "httpsKey": "k", "localAuthRef": "creds"})
    assert errors_of(raw)["gitRepository.localAuthRef"].message.startswith(
        "cannot be combined with inline"
    )


def test_azure_blob_needs_an_auth_method() -> None:
    raw = {
        "name": "b",
        "sourceKind": "AzureBlob",
        "azureBlob": {"url": "https://a.blob.core.windows.net", "containerName": "abc"},
    }
    assert errors_of(raw)["azureBlob"].message.startswith("set exactly one authentication method")


def test_azure_blob_takes_exactly_one_auth_method() -> None:
    raw = {
        "name": "b",
        "sourceKind": "AzureBlob",
        "azureBlob": {
            "url": "https://a.blob.core.windows.net",
            "containerName": "abc",
            "accountKey": "k",
            "sasToken": "t",
        },
    }
    err = errors_of(raw)["azureBlob.sasToken"]
    assert err.message.startswith(
        "conflicts with accountKey: set exactly one authentication method"
    )


def test_bucket_secret_key_needs_its_access_key() -> None:
    raw = {
        "name": "b",
        "sourceKind": "Bucket",
        "bucket": {"url": "http://minio:9000", "bucketName": "abc", "secretKey": "SK"},
    }
    assert errors_of(raw)["bucket.accessKey"].message.startswith("is required with secretKey")


def test_bucket_access_key_alone_is_accepted_as_arm_accepts_it() -> None:
    raw = {
        "name": "b",
        "sourceKind": "Bucket",
        "bucket": {"url": "http://minio:9000", "bucketName": "abc", "accessKey": "AK"},
    }
    assert parse_configuration(raw).bucket is not None


# ---------------------------------------------------------------- kustomizations


def test_default_kustomization_1_when_none_given() -> None:
    spec = parse_configuration(config())
    assert list(spec.kustomizations) == ["kustomization-1"]
    assert spec.kustomizations["kustomization-1"].path == ""


def test_depends_on_unknown_name() -> None:
    err = errors_of(config(kustomizations={"a": {"dependsOn": ["b"]}}))[
        "kustomizations.a.dependsOn[0]"
    ]
    assert err.message.startswith("names no kustomization of this configuration; known: a")
    assert err.value == "'b'"


def test_depends_on_self() -> None:
    err = errors_of(config(kustomizations={"a": {"dependsOn": ["a"]}}))[
        "kustomizations.a.dependsOn[0]"
    ]
    assert err.message.startswith("a kustomization cannot depend on itself")


def test_depends_on_cycle_prints_the_cycle() -> None:
    raw = config(
        kustomizations={
            "a": {"dependsOn": ["b"]},
            "b": {"dependsOn": ["c"]},
            "c": {"dependsOn": ["a"]},
        }
    )
    err = errors_of(raw)["kustomizations.a.dependsOn"]
    assert err.message == "dependency cycle: a → b → c → a"


def test_interval_must_be_positive() -> None:
    err = errors_of(config(kustomizations={"a": {"syncInterval": 0}}))[
        "kustomizations.a.syncInterval"
    ]
    assert err.message.startswith("must be a positive duration")


def test_interval_must_be_a_duration() -> None:
    err = errors_of(config(kustomizations={"a": {"timeout": "ten minutes"}}))[
        "kustomizations.a.timeout"
    ]
    assert err.message.startswith("must be a Go duration such as '90s'")


def test_durations_accept_go_strings_seconds_and_azure_names() -> None:
    spec = parse_configuration(
        config(
            kustomizations={
                "a": {"syncInterval": "1h30m", "timeoutInSeconds": 90, "retryInterval": "45"},
            }
        )
    )
    k = spec.kustomizations["a"]
    assert (k.sync_interval, k.timeout, k.retry_interval) == (
        timedelta(hours=1, minutes=30),
        timedelta(seconds=90),
        timedelta(seconds=45),
    )


def test_retry_interval_defaults_to_sync_interval() -> None:
    spec = parse_configuration(config(kustomizations={"a": {"syncInterval": "3m"}}))
    assert spec.kustomizations["a"].effective_retry_interval == timedelta(minutes=3)


def test_kustomization_path_cannot_escape_the_source() -> None:
    err = errors_of(config(kustomizations={"a": {"path": "../other"}}))["kustomizations.a.path"]
    assert err.message.startswith("must be a path relative to the source root")


def test_substitute_variable_names() -> None:
    raw = config(
        kustomizations={"a": {"postBuild": {"substitute": {"ok_1": "x", "bad-name": "y"}}}}
    )
    err = errors_of(raw)["kustomizations.a.postBuild.substitute"]
    assert err.message.startswith("variable names must match")
    assert "'bad-name'" in err.message


def test_unknown_field_suggests_the_right_one() -> None:
    err = errors_of(config(gitRepository={**GIT, "syncIntervall": "1m"}))[
        "gitRepository.syncIntervall"
    ]
    assert err.message.startswith("is not a known field; did you mean 'syncInterval'?")


# ---------------------------------------------------------------- all at once, secrets


def test_five_different_errors_are_all_reported() -> None:
    raw = {
        "name": "Bad_Name",
        "gitRepository": {"url": "ftp://x/y", "repositoryRef": {"commit": "xyz"}},
        "kustomizations": {
            "a": {"dependsOn": ["b"], "syncInterval": -1},
            "b": {"dependsOn": ["a"]},
        },
    }
    with pytest.raises(SpecError) as info:
        parse_configuration(raw)
    assert info.value.paths == [
        "gitRepository.repositoryRef.commit",
        "gitRepository.url",
        "kustomizations.a.dependsOn",
        "kustomizations.a.syncInterval",
        "name",
    ]
    assert str(info.value).startswith(
        "FluxConfiguration 'Bad_Name' is invalid (5 errors); nothing was applied"
    )


SECRETS = ["s3cr3t-https-token", "-----BEGIN OPENSSH PRIVATE KEY-----xyz", "mistyped-secret-value"]


def test_no_secret_value_in_errors_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    raw = config(
        name="Bad_Name",
        gitRepository={
            "url": "ssh://git@h/r",
            "httpsKey": SECRETS[0],
            "sshPrivateKey": SECRETS[1],
            "sshPrivatekey": SECRETS[2],
        },
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(SpecError) as info:
        parse_configuration(raw)
    logging.getLogger("fluxgitops.test").exception("parse failed", exc_info=info.value)
    shown = "\n".join(
        [str(info.value), repr(info.value), caplog.text, *(repr(e) for e in info.value.errors)]
    )
    for secret in SECRETS:
        assert secret not in shown
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_valid_spec_repr_and_dump_mask_secrets() -> None:
    spec = parse_configuration(
        config(gitRepository={**GIT, "httpsUser": "u", "httpsKey": SECRETS[0]})
    )
    assert SECRETS[0] not in repr(spec)
    assert SECRETS[0] not in str(spec.model_dump(mode="json"))


def test_secret_of_wrong_type_is_masked() -> None:
    err = errors_of(config(gitRepository={**GIT, "httpsUser": "u", "httpsKey": 123456789}))
    assert err["gitRepository.httpsKey"].value == SECRET_MASK


# ---------------------------------------------------------------- extension


def test_extension_defaults_follow_azure() -> None:
    ext = parse_extension({})
    assert ext.multi_tenancy.enforce is True
    assert ext.controllers.image_automation.enabled is False
    assert ext.controllers.image_reflector.enabled is False
    assert ext.controllers.source.resources.limits.memory == "1Gi"
    assert ext.reconciler.resources.limits.memory == "150Mi"


def test_extension_version_pin_needs_auto_upgrade_off() -> None:
    err = ext_errors_of({"version": "1.23.0"})["version"]
    assert err.message.startswith("pinning a version needs autoUpgradeMinorVersion: false")


def test_extension_workload_identity_needs_client_id() -> None:
    err = ext_errors_of({"workloadIdentity": {"enable": True}})["workloadIdentity.azureClientId"]
    assert err.message.startswith("is required when enable is true")


def test_extension_image_automation_needs_reflector() -> None:
    raw = {"controllers": {"imageAutomation": {"enabled": True}}}
    err = ext_errors_of(raw)["controllers.imageAutomation.enabled"]
    assert err.message.startswith("needs controllers.imageReflector.enabled")


def test_extension_tuning_bounds() -> None:
    err = ext_errors_of({"controllers": {"kustomize": {"tuning": {"concurrent": 0}}}})
    assert err["controllers.kustomize.tuning.concurrent"].message.startswith(
        "must be greater than or equal to 1"
    )


def test_extension_resource_quantity() -> None:
    raw = {"controllers": {"source": {"resources": {"limits": {"memory": "lots"}}}}}
    err = ext_errors_of(raw)["controllers.source.resources.limits.memory"]
    assert err.message.startswith("must be a Kubernetes quantity")

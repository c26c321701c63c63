"""ARM's base64 text fields and the credentials Flux must read, checked at validation time.

Every field ARM defines as base64 (``sshKnownHosts``, ``httpsCACert``, the
service principal's ``clientCertificate``, OCI ``tlsConfig``) accepts the
base64 ARM sends and the plain text, and means one thing on both backends:
the Secret holds the plain text once, ARM receives it base64-encoded once.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fluxgitops.azure import flux_configuration_properties
from fluxgitops.errors import SECRET_MASK, FieldError, SpecError
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.sshkeys import generate_ed25519

KNOWN_HOSTS = (
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
)
CA_CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"


def b64(text: str) -> str:
    """``text`` as ARM carries it."""
    return base64.b64encode(text.encode()).decode()


def ssh(**fields: Any) -> dict[str, Any]:
    """An SSH Git configuration with ``fields`` in its gitRepository block."""
    return {"name": "cfg", "gitRepository": {"url": "ssh://git@github.com/org/repo", **fields}}


def https(**fields: Any) -> dict[str, Any]:
    """An HTTPS Git configuration with ``fields`` in its gitRepository block."""
    return {"name": "cfg", "gitRepository": {"url": "https://github.com/org/repo", **fields}}


def errors_of(raw: dict[str, Any]) -> dict[str, FieldError]:
    """Parse ``raw`` expecting failure; its errors by path."""
    with pytest.raises(SpecError) as info:
        parse_configuration(raw)
    return {e.path: e for e in info.value.errors}


def secret_data(raw: dict[str, Any]) -> dict[str, str]:
    """The decoded data of the rendered auth Secret."""
    manifests = render_configuration(parse_configuration(raw), RenderOptions())
    secret = next(m for m in manifests if m.key.kind == "Secret")
    return {k: base64.b64decode(v).decode() for k, v in secret.body["data"].items()}


def test_known_hosts_in_base64_is_decoded_once() -> None:
    spec = parse_configuration(ssh(sshKnownHosts=b64(KNOWN_HOSTS)))
    assert spec.git_repository is not None
    assert spec.git_repository.ssh_known_hosts == KNOWN_HOSTS


def test_known_hosts_in_plain_text_is_kept() -> None:
    spec = parse_configuration(ssh(sshKnownHosts=KNOWN_HOSTS))
    assert spec.git_repository is not None
    assert spec.git_repository.ssh_known_hosts == KNOWN_HOSTS


def test_known_hosts_line_without_a_key_is_refused() -> None:
    errors = errors_of(ssh(sshKnownHosts="github.com ssh-ed25519\n"))
    assert errors["gitRepository.sshKnownHosts"].message.startswith("must be known_hosts text")
    assert (
        "line 1 needs '<host> <key-type> <base64-key>'"
        in errors["gitRepository.sshKnownHosts"].message
    )


def test_known_hosts_with_an_unknown_key_type_is_refused() -> None:
    errors = errors_of(ssh(sshKnownHosts="github.com ssh-foo AAAA\n"))
    assert "unknown key type 'ssh-foo'" in errors["gitRepository.sshKnownHosts"].message


def test_ssh_private_key_that_cannot_be_read_is_refused_and_masked() -> None:
    errors = errors_of(ssh(sshPrivateKey="not a key at all"))
    error = errors["gitRepository.sshPrivateKey"]
    assert error.message.startswith("is not a readable SSH private key")
    assert error.value in ("", SECRET_MASK)
    assert "not a key at all" not in str(error)


def test_ssh_private_key_in_base64_is_decoded() -> None:
    key = generate_ed25519().private_key.get_secret_value()
    spec = parse_configuration(ssh(sshPrivateKey=b64(key)))
    assert spec.git_repository is not None
    assert spec.git_repository.ssh_private_key is not None
    assert spec.git_repository.ssh_private_key.get_secret_value() == key


def test_ssh_private_key_in_pem_rsa_form_is_accepted() -> None:
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    assert parse_configuration(ssh(sshPrivateKey=pem)).git_repository is not None


def test_encrypted_ssh_private_key_is_refused_with_what_to_do() -> None:
    encrypted = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
        .decode()
    )
    errors = errors_of(ssh(sshPrivateKey=encrypted))
    assert errors["gitRepository.sshPrivateKey"].message.startswith(
        "is encrypted with a passphrase"
    )


def test_https_ca_cert_in_base64_lands_in_the_secret_as_plain_text() -> None:
    assert secret_data(https(httpsCACert=b64(CA_CERT)))["ca.crt"] == CA_CERT


def test_https_ca_cert_is_encoded_once_for_arm_whatever_form_came_in() -> None:
    for given in (CA_CERT, b64(CA_CERT)):
        props = flux_configuration_properties(parse_configuration(https(httpsCACert=given)))
        assert props["git_repository"]["https_ca_cert"] == b64(CA_CERT)


def test_upper_case_url_scheme_is_refused_naming_the_lower_case_form() -> None:
    errors = errors_of({"name": "cfg", "gitRepository": {"url": "HTTPS://github.com/org/repo"}})
    assert errors["gitRepository.url"].message.startswith(
        "the scheme must be lower-case ('https://')"
    )


def test_upper_case_oci_scheme_is_refused() -> None:
    raw = {
        "name": "cfg",
        "sourceKind": "OCIRepository",
        "ociRepository": {"url": "OCI://ghcr.io/org/repo"},
    }
    assert "ociRepository.url" in errors_of(raw)

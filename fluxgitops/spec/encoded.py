"""Text fields that ARM carries in base64, and the credentials Flux must be able to read.

ARM defines ``sshKnownHosts``, ``httpsCACert``, the service principal's
``clientCertificate``, the OCI ``tlsConfig`` certificates and every value of
``configurationProtectedSettings`` as base64. fluxgitops also accepts the
friendlier plain text for the same fields. The two forms cannot be confused:
base64 has no spaces, newlines or dashes, and every plain known_hosts line,
PEM block or OpenSSH key has them. Whatever form came in, the spec holds the
plain text; the renderer writes it into the Secret as is (Kubernetes encodes
it once) and the Azure mapping encodes it once for ARM. Nothing is encoded
twice, nothing is left encoded.

``check_known_hosts`` and ``check_ssh_private_key`` reject, at validation time,
what the Azure CLI rejects and Flux would only fail on in the cluster.

Used by the spec models (``fluxgitops.spec.sources``) and the ARM
protected-settings folding (``fluxgitops.spec.arm``). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")

KNOWN_HOST_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-256",
        "rsa-sha2-512",
    }
)
"""Key types OpenSSH writes into known_hosts (what Flux's Go SSH client reads)."""


def decode_base64_text(value: str) -> str | None:
    """``value`` decoded when it is strict base64 of UTF-8 text, else None (plain text)."""
    compact = value.strip()
    if not compact or len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def plain_text(value: object) -> object:
    """Before-validator: base64 input decoded, plain text kept, anything else left to pydantic."""
    if not isinstance(value, str):
        secret = getattr(value, "get_secret_value", None)
        if secret is None:
            return value
        value = secret()
    assert isinstance(value, str)
    decoded = decode_base64_text(value)
    return value if decoded is None else decoded


def known_hosts_problems(text: str) -> list[str]:
    """Why each bad line of a known_hosts text is bad (empty when every line is usable)."""
    problems: list[str] = []
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    entries = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if not entries:
        return ["has no host key line ('<host> <key-type> <base64-key>')"]
    for number, line in entries:
        fields = line.split()
        if fields[0].startswith("@"):  # @cert-authority / @revoked marker
            fields = fields[1:]
        if len(fields) < 3:
            problems.append(
                f"line {number} needs '<host> <key-type> <base64-key>' (got {len(fields)} fields)"
            )
            continue
        key_type, key = fields[1], fields[2]
        if key_type not in KNOWN_HOST_KEY_TYPES:
            allowed = ", ".join(sorted(KNOWN_HOST_KEY_TYPES))
            problems.append(f"line {number} has unknown key type {key_type!r} (allowed: {allowed})")
            continue
        try:
            base64.b64decode(key, validate=True)
        except binascii.Error:
            problems.append(f"line {number} has a key that is not base64")
    return problems


def _known_hosts(value: object) -> object:
    value = plain_text(value)
    if isinstance(value, str):
        problems = known_hosts_problems(value)
        if problems:
            raise PydanticCustomError(
                "known_hosts",
                "must be known_hosts text (plain, or base64 as ARM sends it) whose every line "
                "is '<host> <key-type> <base64-key>' (as `ssh-keyscan <host>` prints it): "
                "{problems}",
                {"problems": "; ".join(problems)},
            )
    return value


def ssh_private_key_problem(text: str) -> str | None:
    """Why Flux could not use ``text`` as an SSH identity, or None when it can."""
    # cryptography only when an SSH key is validated (≈ 7 MiB of RSS otherwise held by all)
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    data = text.encode()
    loaders = (
        ("OpenSSH", serialization.load_ssh_private_key),
        ("PEM", serialization.load_pem_private_key),
    )
    encrypted = False
    for _, load in loaders:
        try:
            load(data, password=None)
            return None
        except TypeError:  # "Password was not given but private key is encrypted"
            encrypted = True
        except (ValueError, binascii.Error):
            continue
        except UnsupportedAlgorithm as exc:  # an encrypted OpenSSH key needs bcrypt to open
            encrypted = encrypted or "bcrypt" in str(exc)
    if encrypted:
        return (
            "is encrypted with a passphrase, which an inline key cannot carry; decrypt it "
            "(`ssh-keygen -p -N '' -f KEY`) or put it with its passphrase ('password' key) in a "
            "Secret named by localAuthRef"
        )
    return (
        "is not a readable SSH private key: give the whole OpenSSH or PEM key "
        "(from its BEGIN line to its END line), plain or base64 as ARM sends it "
        "(ed25519, ECDSA and RSA keys are accepted)"
    )


def _ssh_private_key(value: object) -> object:
    value = plain_text(value)
    if isinstance(value, str):
        problem = ssh_private_key_problem(value)
        if problem is not None:
            raise PydanticCustomError("ssh_private_key", problem)
    return value


def _pem(value: object) -> object:
    # ARM's own examples send base64 of text that is not PEM ("examplecertificate") and ARM
    # accepts it, so only the encoding is decided here; Flux reports a certificate it cannot use
    return plain_text(value)


KnownHostsCheck = BeforeValidator(_known_hosts)
"""Validator for known_hosts text: base64 (ARM) or plain in, plain inside, every line checked."""

SshPrivateKey = BeforeValidator(_ssh_private_key)
"""Validator for a ``SecretStr`` SSH private key: base64 (ARM) or plain in, plain inside."""

Pem = BeforeValidator(_pem)
"""Validator for certificates and keys (secret or not): base64 (ARM) or plain text in."""

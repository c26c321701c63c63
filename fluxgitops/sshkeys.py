"""SSH identities: generate ed25519 key pairs and derive OpenSSH public keys.

The reconciler generates a key in the cluster when an SSH source has none
(the private key never leaves the cluster); tests and the renderer use the same
type. Pure computation (``cryptography``), no I/O. The private key is held as a
``SecretStr`` so it never shows in a repr or a log line. ``cryptography`` is
imported by the functions that use it: ≈ 7 MiB of RSS that the reconciler (and
every HTTPS-only process) does not need to hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True)
class SshIdentity:
    """A private key (OpenSSH PEM, secret) and its ``ssh-ed25519 AAAA... comment`` public key."""

    private_key: SecretStr
    public_key: str


def generate_ed25519(comment: str = "fluxgitops") -> SshIdentity:
    """A fresh ed25519 key pair; ``comment`` ends the public key line."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - lazy, see above
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return SshIdentity(SecretStr(private), f"{public} {comment}")


def public_key_of(private_key_pem: str, comment: str = "fluxgitops") -> str:
    """The OpenSSH public key line of a private key; ``ValueError`` if unreadable."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - lazy, see above

    key = serialization.load_ssh_private_key(private_key_pem.encode(), password=None)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return f"{public} {comment}"

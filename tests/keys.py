"""Credentials for tests: a real (throwaway, test-only) ed25519 key and a known_hosts line.

Validation reads SSH keys and known_hosts the way Flux will, so tests that need an
inline key use these instead of placeholder text.
"""

from __future__ import annotations

SSH_KEY = """\
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz
c2gtZWQyNTUxOQAAACA9PyAKQ/NRWQT2uzH5+4zq6AAa6hggy7qU/FXDCqj1twAA
AIh/FlQMfxZUDAAAAAtzc2gtZWQyNTUxOQAAACA9PyAKQ/NRWQT2uzH5+4zq6AAa
6hggy7qU/FXDCqj1twAAAEDuhC55Iocg5KsdVrW9bY8URXDOGoqwmitPql+jEm1p
wz0/IApD81FZBPa7Mfn7jOroABrqGCDLupT8VcMKqPW3AAAAAAECAwQF
-----END OPENSSH PRIVATE KEY-----
"""
"""A test-only private key (generated for these tests; it guards nothing)."""

SSH_KEY_BODY = "6hggy7qU/FXDCqj1twAAAEDuhC55Iocg5KsdVrW9bY8URXDOGoqwmitPql+jEm1p"
"""A whole line unique to ``SSH_KEY`` (for checking it never leaks)."""

KNOWN_HOSTS = (
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
)
"""GitHub's published ed25519 host key line."""

"""Helpers for the reconciler tests: apply a FluxConfig the way the provider does, read, wait.

Imported by the tests under ``tests/reconciler`` (fixtures are in its ``conftest.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from lightkube import ApiError, Client, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ServiceAccountToken

from fluxgitops.errors import ClusterRejectedError
from fluxgitops.kube.apply import apply_manifests, read_object
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration
from fluxgitops.status import condition

T = TypeVar("T")

SOURCE = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE = "kustomize.toolkit.fluxcd.io/v1"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def apply_fluxconfig(
    client: Client, raw: Mapping[str, Any], *, multi_tenancy: bool = True
) -> FluxConfigurationSpec:
    """What the applier (provider) owns: the FluxConfig and its protected-settings Secret."""
    spec = parse_configuration(raw)
    manifests = render_configuration(spec, RenderOptions(multi_tenancy=multi_tenancy))
    applier_owned = [
        m
        for m in manifests
        if m.key.kind == FLUXCONFIG_KIND or (m.is_secret and m.key.name == f"{spec.name}-auth")
    ]
    apply_manifests(client, applier_owned, force=True)
    return spec


def fluxconfig(client: Client, namespace: str, name: str) -> dict[str, Any] | None:
    """The live FluxConfig (None when gone)."""
    return read_object(client, ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, namespace, name))


def status_of(client: Client, namespace: str, name: str) -> dict[str, Any]:
    """The FluxConfig's status ({} when none or gone)."""
    status: dict[str, Any] = (fluxconfig(client, namespace, name) or {}).get("status") or {}
    return status


def ready(client: Client, namespace: str, name: str) -> Mapping[str, Any] | None:
    """The FluxConfig's Ready condition."""
    return condition({"status": status_of(client, namespace, name)}, "Ready")


def kustomization(client: Client, namespace: str, name: str) -> dict[str, Any] | None:
    """A live Kustomization (None when missing)."""
    return read_object(client, ObjectKey(KUSTOMIZE, "Kustomization", namespace, name))


def git_repository(client: Client, namespace: str, name: str) -> dict[str, Any] | None:
    """A live GitRepository (None when missing)."""
    return read_object(client, ObjectKey(SOURCE, "GitRepository", namespace, name))


def https_config(name: str, namespace: str, **kustomizations: Any) -> dict[str, Any]:
    """A Git-over-HTTPS configuration with a token (so it has protected settings)."""
    return {
        "name": name,
        "namespace": namespace,
        "gitRepository": {
            "url": "https://git.example.com/fleet.git",
            "httpsUser": "bot",
            "httpsKey": "token-0123456789",
        },
        "kustomizations": kustomizations or {"infra": {"path": "infra"}},
    }


def token_kubeconfig(
    control_plane: ControlPlane, admin: Client, namespace: str, account: str, path: Path
) -> Path:
    """A kubeconfig at ``path`` authenticating as ServiceAccount ``namespace/account`` with a
    real token from the TokenRequest API (one hour)."""
    token = admin.create(
        ServiceAccountToken(
            metadata=ObjectMeta(namespace=namespace),
            spec=TokenRequestSpec(audiences=[], expirationSeconds=3600),
        ),
        account,
        namespace=namespace,
    )
    assert token.status is not None
    config = yaml.safe_load(control_plane.kubeconfig.read_text())
    config["users"] = [{"name": account, "user": {"token": token.status.token}}]
    config["contexts"][0]["context"]["user"] = account
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def refused(client: Client, manifests: list[Manifest], *, dry_run: bool = False) -> str:
    """Apply ``manifests`` as ``client``; the refusal's message (fails when it was admitted).

    ``dry_run`` asks the API server to run admission without storing anything."""
    try:
        if dry_run:
            for item in manifests:
                client.apply(codecs.from_dict(item.to_dict()), dry_run=True, force=True)
        else:
            apply_manifests(client, manifests, force=True)
    except ClusterRejectedError as exc:
        return str(exc)
    except ApiError as exc:  # dry runs: lightkube's error, untranslated
        return str(exc.status.message)
    pytest.fail(f"{[str(m.key) for m in manifests]} was admitted")


def wait_denied(what: str, attempt: Callable[[], str], expected: str) -> str:
    """Repeat ``attempt`` (a dry run) until the refusal contains ``expected``: a new policy is
    enforced once the API server's informer has it, about a second after it is created."""
    deadline = time.monotonic() + 20
    while True:
        try:
            message = attempt()
        except pytest.fail.Exception:
            message = ""
        if expected in message:
            return message
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still not denied with {expected!r}; last answer {message!r}")
        time.sleep(0.2)

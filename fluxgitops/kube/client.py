"""Connect to a cluster with lightkube and map rendered objects to lightkube resources.

``connect`` builds a sync client from a kubeconfig path or content (content is
never logged); ``resource_for`` finds the lightkube class of an
``apiVersion``/``kind``, registering the Flux kinds and our ``FluxConfig`` as
generic resources on first use. Called by ``fluxgitops.kube.apply``, the
provider and the CLI; the client is created inside each operation and never
stored in Pulumi state.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx2
import yaml
from lightkube import Client, KubeConfig
from lightkube.codecs import resource_registry
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ConfigError
from lightkube.generic_resource import create_namespaced_resource

from fluxgitops.errors import ClusterUnavailableError, PermanentError
from fluxgitops.kinds import CUSTOM_KINDS
from fluxgitops.meta import FIELD_MANAGER


@functools.cache
def register_kinds() -> None:
    """Register the Flux kinds and FluxConfig with lightkube (once per process)."""
    for kind in CUSTOM_KINDS:
        create_namespaced_resource(kind.group, kind.version, kind.kind, kind.plural)


def resource_for(api_version: str, kind: str) -> Any:
    """The lightkube resource class for ``apiVersion``/``kind``; ``PermanentError`` if unknown."""
    register_kinds()
    try:
        return resource_registry.load(api_version, kind)
    except Exception as exc:  # lightkube raises plain exceptions for unknown kinds
        raise PermanentError(f"no known resource for {api_version}/{kind}: {exc}") from exc


def load_config(
    kubeconfig: str | None = None, context: str | None = None, content: str | None = None
) -> SingleConfig:
    """The kubeconfig from ``content`` (YAML text), a file path, or the default locations."""
    try:
        if content:
            config = KubeConfig.from_dict(yaml.safe_load(content))
        elif kubeconfig:
            config = KubeConfig.from_file(kubeconfig)
        else:
            config = KubeConfig.from_env()
        single = config.get(context_name=context)
    except (ConfigError, OSError, yaml.YAMLError) as exc:
        where = (
            "the kubeconfig content" if content else repr(kubeconfig or "the default kubeconfig")
        )
        # the message names the source of the config, never its content
        raise ClusterUnavailableError(
            f"cannot load {where} (context {context!r}): {type(exc).__name__}; "
            f"check the path and context, then retry"
        ) from None
    if single is None:
        raise ClusterUnavailableError(f"no context {context!r} in the kubeconfig; check the name")
    return single


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    content: str | None = None,
    field_manager: str = FIELD_MANAGER,
    timeout: float = 30.0,
) -> Client:
    """A sync lightkube client for the given cluster."""
    register_kinds()
    return Client(
        load_config(kubeconfig, context, content),
        field_manager=field_manager,
        timeout=httpx2.Timeout(timeout),
    )

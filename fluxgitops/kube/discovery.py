"""What a live cluster says about kinds: which custom kinds are cluster-scoped.

The multi-tenancy lint (``fluxgitops.tenancy``) knows every built-in
cluster-scoped kind and reads ``scope: Cluster`` CRDs in the repository; a
cluster adds the CRDs installed there. ``cluster_scoped_kinds`` lists them
(one LIST of CustomResourceDefinitions). Called by the dynamic provider's
source check; a cluster that cannot be reached gives an empty set (the lint
then works from what it knows). I/O: lightkube.
"""

from __future__ import annotations

import logging

import httpx2
from lightkube import ApiError, Client
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

log = logging.getLogger(__name__)


def cluster_scoped_kinds(client: Client) -> frozenset[tuple[str, str]]:
    """(group, kind) of every cluster-scoped CRD the cluster serves; empty when unreachable."""
    try:
        crds = list(client.list(CustomResourceDefinition))
    except (ApiError, httpx2.HTTPError, OSError) as exc:
        log.info("cluster-scoped kinds not discovered (%s); using the built-in list", exc)
        return frozenset()
    return frozenset(
        (crd.spec.group, crd.spec.names.kind) for crd in crds if crd.spec.scope == "Cluster"
    )

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

from lightkube import Client
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from fluxgitops.errors import FluxGitOpsError
from fluxgitops.kube.boundary import api_errors

log = logging.getLogger(__name__)


def cluster_scoped_kinds(client: Client) -> frozenset[tuple[str, str]]:
    """(group, kind) of every cluster-scoped CRD the cluster serves; empty when unreachable."""
    try:
        with api_errors("CustomResourceDefinition list"):
            crds = list(client.list(CustomResourceDefinition))
    except FluxGitOpsError as exc:
        log.info("cluster-scoped kinds not discovered (%s); using the built-in list", exc)
        return frozenset()
    return frozenset(
        (crd.spec.group, crd.spec.names.kind) for crd in crds if crd.spec.scope == "Cluster"
    )

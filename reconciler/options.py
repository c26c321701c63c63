"""``ReconcilerOptions``: every setting of one reconciler process, with production defaults.

Built by ``reconciler.cli`` from command-line options, by the tests and the
benchmark directly; read by ``reconciler.operator``. Pure data.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from fluxgitops.fluxconfig.vocabulary import RECONCILER_FIELD_MANAGER as FIELD_MANAGER

LEASE_NAME = "fluxgitops-reconciler"


def default_identity() -> str:
    """The pod name (``POD_NAME``, else the host name, which is the pod name in a pod): stable
    across restarts, so a restarted replica reclaims its own Lease at once. Only without any
    name a random one (``reconciler-<random>``)."""
    name = os.environ.get("POD_NAME") or socket.gethostname()
    return name or f"reconciler-{uuid.uuid4().hex[:6]}"


def default_lease_namespace() -> str:
    """The pod's namespace (``POD_NAMESPACE``, set by the Deployment), else ``default``."""
    return os.environ.get("POD_NAMESPACE") or "default"


@dataclass(frozen=True)
class ReconcilerOptions:
    """How to reach the cluster, what to watch, how hard to work, and when to give up waiting.

    ``namespaces`` empty means cluster-wide; names are watched one by one (a Role per
    namespace is enough), patterns (``team-*``) through cluster-wide watches. Times are
    seconds.
    """

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    workers: int = 4
    resync_interval: float = 600.0
    """Full reconcile of every FluxConfig this often, on top of events (a safety net)."""
    orphan_sweep_interval: float = 300.0
    """Collect objects labelled for a FluxConfig that no longer exists this often (and on
    taking the lead): a finalizer removed by hand must not leave Flux deploying them."""
    orphan_grace: float = 60.0
    """An owner whose objects look orphaned is collected only when it still does this long
    after it was first seen so: an applier writes a configuration's auth Secret a moment
    before its FluxConfig, and a sweep in between must not take the Secret away."""
    deletion_timeout: float = 300.0
    """After this long since ``deletionTimestamp``, objects still held by finalizers lose them."""
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    stalled_retry: float = 300.0
    """A Stalled FluxConfig is tried again this often (RBAC or the API server may have changed)."""
    leader_election: bool = True
    lease_name: str = LEASE_NAME
    lease_namespace: str = field(default_factory=default_lease_namespace)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str = field(default_factory=default_identity)
    liveness_endpoint: str | None = None
    """``http://0.0.0.0:8080/healthz`` in the Deployment; None serves no probe."""
    watch_stale_after: float = 90.0
    """Liveness fails when the Lease changed on the server this long ago but no watch event came."""
    field_manager: str = FIELD_MANAGER
    request_timeout: float = 30.0

    @property
    def clusterwide(self) -> bool:
        """True when every namespace is watched."""
        return not self.namespaces

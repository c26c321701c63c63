"""Local fleets: extra independent local clusters next to the main one (``local up --clusters N``).

Cluster 1 is the main local control plane (``local_dir()``, ``kubeconfig:
local``). Clusters 2…N each get their own etcd and kube-apiserver on free
loopback ports, their own PKI and kubeconfig, in a sibling directory
``<local_dir>-<n>`` (``member_dir``); a stack refers to one as ``kubeconfig:
local-<n>`` (``fluxgitops.local.processes.resolve_kubeconfig``). To fit two
cores they run only etcd + kube-apiserver with the Flux and FluxConfig CRDs —
no controller-manager, scheduler, kwok or Flux controllers — so configurations
applied there stay Pending unless something reconciles them; what they share
with cluster 1 is the built programs in the tool cache. ``start_members`` /
``stop_members`` / ``member_dirs`` are called by the CLI (``fluxgitops local``).
I/O: local processes.
"""

from __future__ import annotations

from pathlib import Path

from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.processes import read_state, stop_detached
from fluxgitops.localrefs import member_dir

MAX_CLUSTERS = 10
"""At most this many local clusters (each kube-apiserver takes ~250 MB of memory)."""
CLUSTERS_HELP = (
    "How many independent local clusters; 2…N are etcd + kube-apiserver only, "
    "`kubeconfig: local-<n>` in a stack"
)


def member_dirs(base: Path | None = None) -> list[Path]:
    """The directories of every extra local cluster that has left a state file."""
    return [
        member_dir(i, base)
        for i in range(2, MAX_CLUSTERS + 1)
        if read_state(member_dir(i, base)) is not None
    ]


def start_members(count: int, base: Path | None = None) -> list[ControlPlane]:
    """Start local clusters 2…``count`` (detached; etcd, kube-apiserver and the CRDs)."""
    started: list[ControlPlane] = []
    for index in range(2, count + 1):
        plane = ControlPlane(workdir=member_dir(index, base), detach=True, install_crds=True)
        started.append(plane.start())
    return started


def stop_members(base: Path | None = None) -> list[str]:
    """Stop every extra local cluster; the processes stopped, named ``local-<n>/<process>``."""
    stopped: list[str] = []
    for directory in member_dirs(base):
        name = directory.name.rsplit("-", 1)[-1]
        stopped += [f"local-{name}/{p}" for p in stop_detached(directory)]
    return stopped

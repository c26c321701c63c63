"""Fleet compliance: one verdict per cluster and "N of M clusters Compliant" per fleet.

The CLI (``fluxgitops fleet status``, ``fluxgitops_cli.fleet``) reads each
cluster's configurations (for ``kubernetes`` clusters the live Flux objects and
FluxConfig status, ``fluxgitops.kube.deployed``) into ``Observation``s and
hands them here. ``cluster_verdict`` folds one cluster's observations into a
``ClusterVerdict``: ``Unreachable`` when the cluster could not be read,
``Non-Compliant`` when any configuration is (with that configuration's own
message), ``Stale`` when the cluster's agent has not reported for longer than
``stale_after`` (Azure marks a cluster disconnected after 48 h:
``DEFAULT_STALE_AFTER``), then ``Pending`` / ``Suspended`` / ``Unknown``, and
``Compliant`` only when every configuration is. ``fleet_rollup`` groups the
verdicts per fleet template and ``exit_code`` is what CI gates on
(``EXIT_*``). Pure: no I/O; times are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fluxgitops.status import COMPLIANT, NON_COMPLIANT, PENDING, SUSPENDED, UNKNOWN

UNREACHABLE = "Unreachable"
STALE = "Stale"
DEFAULT_STALE_AFTER = timedelta(hours=48)
"""Azure's limit: a cluster whose agent has not reported for 48 h is shown disconnected."""

STACK_CLUSTERS = "(stack clusters)"
"""The group of configurations a cluster declares itself (not from any fleet)."""

EXIT_ALL_COMPLIANT = 0
"""Every cluster of every fleet shown is Compliant."""
EXIT_ERROR = 1
"""The command failed (invalid stack, unknown fleet): nothing was judged."""
EXIT_NOT_COMPLIANT = 2
"""At least one cluster is Non-Compliant, Pending, Suspended, Unknown, Unreachable or Stale."""

_ORDER = (UNREACHABLE, NON_COMPLIANT, STALE, PENDING, SUSPENDED, UNKNOWN, COMPLIANT)
"""Worst first: what a cluster with several configurations is shown as."""


@dataclass(frozen=True)
class Observation:
    """One configuration of one cluster as read (or not) from where its status lives."""

    cluster: str
    configuration: str
    """``namespace/name``."""
    state: str
    message: str
    fleet: str | None = None
    reachable: bool = True
    reported_at: datetime | None = None
    """When the cluster's agent last reported (None: read live, so current)."""


@dataclass(frozen=True)
class ClusterVerdict:
    """One cluster's state within a fleet, the configuration that decided it, and why."""

    cluster: str
    state: str
    configuration: str = ""
    message: str = ""

    def to_json(self) -> dict[str, str]:
        """The ``-o json`` form."""
        return {
            "cluster": self.cluster,
            "state": self.state,
            "configuration": self.configuration,
            "message": self.message,
        }


@dataclass(frozen=True)
class FleetRollup:
    """A fleet's verdicts: how many of its clusters are Compliant, and the others."""

    fleet: str
    clusters: tuple[ClusterVerdict, ...] = field(default_factory=tuple)

    @property
    def compliant(self) -> int:
        """How many clusters are Compliant."""
        return sum(1 for c in self.clusters if c.state == COMPLIANT)

    @property
    def problems(self) -> list[ClusterVerdict]:
        """The clusters that are not Compliant, worst first."""
        bad = [c for c in self.clusters if c.state != COMPLIANT]
        return sorted(bad, key=lambda c: (_ORDER.index(c.state), c.cluster))

    def headline(self) -> str:
        """``fleet platform: 2 of 3 clusters Compliant``."""
        return f"fleet {self.fleet}: {self.compliant} of {len(self.clusters)} clusters Compliant"

    def to_json(self) -> dict[str, Any]:
        """The ``-o json`` form."""
        return {
            "fleet": self.fleet,
            "compliant": self.compliant,
            "total": len(self.clusters),
            "clusters": [c.to_json() for c in self.clusters],
        }


def _rank(state: str) -> int:
    return _ORDER.index(state) if state in _ORDER else _ORDER.index(UNKNOWN)


def cluster_verdict(
    cluster: str,
    observations: Sequence[Observation],
    *,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> ClusterVerdict:
    """Fold one cluster's observations (one fleet's configurations) into its verdict."""
    if not observations:
        return ClusterVerdict(cluster, UNKNOWN, "", "no configuration of this fleet was read")
    down = next((o for o in observations if not o.reachable), None)
    if down is not None:
        return ClusterVerdict(cluster, UNREACHABLE, down.configuration, down.message)
    failed = next((o for o in observations if o.state == NON_COMPLIANT), None)
    if failed is not None:
        return ClusterVerdict(cluster, NON_COMPLIANT, failed.configuration, failed.message)
    reported = [o.reported_at for o in observations if o.reported_at is not None]
    if reported and now - max(reported) > stale_after:
        age = now - max(reported)
        return ClusterVerdict(
            cluster,
            STALE,
            observations[0].configuration,
            f"no status report for {_age(age)} (more than {_age(stale_after)}); the agent on "
            f"the cluster is disconnected or stopped — the last state was "
            f"{observations[0].state}",
        )
    worst = min(observations, key=lambda o: _rank(o.state))
    if worst.state == COMPLIANT:
        return ClusterVerdict(cluster, COMPLIANT, "", "")
    state = worst.state if worst.state in _ORDER else UNKNOWN
    return ClusterVerdict(cluster, state, worst.configuration, worst.message)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"


def fleet_rollup(
    fleets: Mapping[str, Sequence[str]],
    observations: Iterable[Observation],
    *,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> list[FleetRollup]:
    """One ``FleetRollup`` per fleet (``fleets``: name → its clusters, in stack order);
    observations without a fleet are grouped under ``STACK_CLUSTERS`` when there are any."""
    by_key: dict[tuple[str, str], list[Observation]] = {}
    loose: dict[str, None] = {}
    for obs in observations:
        group = obs.fleet or STACK_CLUSTERS
        by_key.setdefault((group, obs.cluster), []).append(obs)
        if obs.fleet is None:
            loose[obs.cluster] = None
    groups = dict(fleets)
    if loose:
        groups[STACK_CLUSTERS] = list(loose)
    return [
        FleetRollup(
            name,
            tuple(
                cluster_verdict(c, by_key.get((name, c), []), now=now, stale_after=stale_after)
                for c in clusters
            ),
        )
        for name, clusters in groups.items()
    ]


def exit_code(rollups: Iterable[FleetRollup]) -> int:
    """``EXIT_ALL_COMPLIANT`` when every cluster shown is Compliant, else
    ``EXIT_NOT_COMPLIANT``."""
    every = [c for r in rollups for c in r.clusters]
    return EXIT_ALL_COMPLIANT if all(c.state == COMPLIANT for c in every) else EXIT_NOT_COMPLIANT

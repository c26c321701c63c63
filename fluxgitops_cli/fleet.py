"""``fluxgitops fleet show|status`` and ``fluxgitops migrate``: fleets and Flux v1 at the CLI.

``fleet show STACKFILE`` prints what each fleet template expanded to (which
clusters its selector matched and each cluster's substituted configurations,
secrets masked). ``fleet status -s STACK`` is the compliance roll-up per fleet
(``fluxgitops.rollup``): "N of M clusters Compliant", then every cluster that
is not, with the failing configuration's own message; ``-o json``; exit code
0 only when every cluster shown is Compliant (``EXIT_*`` there). For
``kubernetes`` clusters it reads the live Flux objects and FluxConfig
(``fluxgitops.kube.deployed.read_configuration``) and, when the reconciler
runs with leader election, its Lease ``renewTime`` as the agent's last report
(stale after ``--stale-after``); an unreachable API server makes the cluster
``Unreachable``. ``azure`` clusters are read from ARM
(``components.arm_read.read_arm``, replaceable as ``ARM_READER``; mapped by
``fluxgitops.armstatus.arm_observation``, ``statusUpdatedAt`` as the last
report); a configuration ARM could not give makes the cluster ``Unreachable``.
``migrate FILE`` converts a Flux v1 ``sourceControlConfiguration``
(``fluxgitops.migrate``). Registered on the CLI by ``fluxgitops_cli.app``; a
thin shell.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from lightkube import Client
from lightkube.resources.coordination_v1 import Lease
from rich.console import Console

from components.arm_read import ArmRead, ArmRequest, arm_requests, read_arm
from fluxgitops import yamltext
from fluxgitops.armstatus import arm_observation
from fluxgitops.errors import FluxGitOpsError, SpecError, StackNotFoundError, YamlError
from fluxgitops.kube.boundary import api_errors
from fluxgitops.kube.client import connect
from fluxgitops.kube.deployed import read_configuration
from fluxgitops.localrefs import local_dir, resolve_kubeconfig, stack_placeholders
from fluxgitops.migrate import migrate_source_control
from fluxgitops.rollup import (
    DEFAULT_STALE_AFTER,
    EXIT_ERROR,
    Observation,
    exit_code,
    fleet_rollup,
)
from fluxgitops.spec.durations import parse_duration
from fluxgitops.stack import Cluster, StackConfig, parse_stack
from fluxgitops.status import UNKNOWN
from fluxgitops_cli.stackref import resolve_stack

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

fleet_app = typer.Typer(no_args_is_help=True, help="Fleets: expansion and compliance roll-up.")

ARM_READER: Callable[[Sequence[ArmRequest]], list[ArmRead]] = read_arm
"""How ``azure`` clusters are read (tests put a function returning test bodies here)."""

RECONCILER_LEASE = "fluxgitops-reconciler"
"""The Lease the reconciler renews while it runs (``reconciler.options.LEASE_NAME``)."""


class RollupFormat(StrEnum):
    """``fleet status -o``."""

    table = "table"
    json = "json"


def _stack_file(ref: str) -> Path:
    """``-s NAME|PATH`` resolved as on every other command (``fluxgitops_cli.stackref``)."""
    try:
        return resolve_stack(ref).file
    except StackNotFoundError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_ERROR) from None


def _load_stack(path: Path) -> StackConfig:
    try:
        data = yamltext.load(path.read_text(), str(path))
        config = data.get("config", data) if isinstance(data, dict) else data
        return parse_stack(
            config,
            subject=f"stack config {str(path)!r}",
            placeholders=stack_placeholders(local_dir()),
        )
    except OSError as exc:
        err.print(f"cannot read {str(path)!r}: {exc.strerror}", style="red", markup=False)
        raise typer.Exit(EXIT_ERROR) from exc
    except (YamlError, SpecError) as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_ERROR) from None


@fleet_app.command("show")
def show(
    stack: Annotated[
        str | None, typer.Argument(help="A stack file, e.g. stacks/Pulumi.prod.yaml")
    ] = None,
    stack_option: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack NAME or PATH")
    ] = None,
) -> None:
    """Print each fleet's matched clusters and their expanded configurations (YAML)."""
    ref = stack_option or stack
    if ref is None:
        err.print("give the stack: -s NAME|PATH (or the stack file as an argument)")
        raise typer.Exit(EXIT_ERROR)
    config = _load_stack(_stack_file(ref))
    docs: list[dict[str, Any]] = []
    for fleet in config.fleets:
        if fleet.policy is not None:
            assignments = [
                {
                    "assignment": a.name,
                    "definition": a.display_name,
                    "definitionId": a.definition_id,
                    "scope": a.scope,
                    "roles": list(a.role_definition_ids),
                    "remediate": a.remediate,
                    "parameters": a.parameters,
                }
                for a in fleet.assignments
            ]
            docs.append({"fleet": fleet.name, "azurePolicy": assignments})
            continue
        expanded = {}
        for cluster in config.clusters:
            specs = [
                spec.model_dump(mode="json", exclude_none=True, by_alias=True)
                for spec, origin in zip(cluster.configurations, cluster.origins, strict=True)
                if origin == fleet.name
            ]
            if specs:
                expanded[cluster.name] = specs
        docs.append({"fleet": fleet.name, "clusters": list(fleet.clusters), "expanded": expanded})
    out.print(yaml.safe_dump(docs, sort_keys=False), markup=False, highlight=False, end="")


def _lease_time(client: Client) -> datetime | None:
    """When the reconciler last renewed its Lease (any namespace); None without one."""
    with api_errors("Leases (all namespaces)"):
        leases = list(client.list(Lease, namespace="*"))
    times = [
        lease.spec.renewTime
        for lease in leases
        if lease.metadata is not None
        and lease.metadata.name == RECONCILER_LEASE
        and lease.spec is not None
        and lease.spec.renewTime is not None
    ]
    return max(times) if times else None


ArmReads = dict[tuple[str, str, str], ArmRead]
"""ARM reads by (cluster, namespace, name)."""


def read_azure(config: StackConfig, only: str | None = None) -> ArmReads:
    """Every configuration of every ``azure`` cluster (of fleet ``only``) read from ARM at
    once (one preview)."""
    origins = {
        (c.name, spec.namespace, spec.name): origin
        for c in config.clusters
        for spec, origin in zip(c.configurations, c.origins, strict=True)
    }
    requests = [
        r
        for r in arm_requests(config)
        if only is None or origins[(r.cluster, r.namespace, r.name)] == only
    ]
    reads = ARM_READER(requests) if requests else []
    return {(r.request.cluster, r.request.namespace, r.request.name): r for r in reads}


def observe_cluster(cluster: Cluster, arm: ArmReads | None = None) -> list[Observation]:
    """Every configuration of one stack cluster as an ``Observation`` (I/O: the cluster, or
    ARM for an ``azure`` cluster unless ``arm`` holds its reads already)."""
    pairs = list(zip(cluster.configurations, cluster.origins, strict=True))
    if cluster.backend == "azure" and cluster.azure is not None:
        if arm is None:
            arm = read_azure(StackConfig(clusters=(cluster,)))
        keys = [((cluster.name, spec.namespace, spec.name), origin) for spec, origin in pairs]
        return [_arm_observation(arm[key], origin) for key, origin in keys if key in arm]
    try:
        client = connect(resolve_kubeconfig(cluster.kubeconfig), cluster.context, timeout=5.0)
        reported = _lease_time(client) if cluster.extension.reconciler.enabled else None
        found = []
        for spec, origin in pairs:
            live = read_configuration(
                client,
                spec,
                multi_tenancy=cluster.extension.multi_tenancy.enforce,
                reconciler=cluster.extension.reconciler.enabled,
            )
            verdict = live.compliance()
            name = f"{spec.namespace}/{spec.name}"
            found.append(
                Observation(
                    cluster.name, name, verdict.state, verdict.message, origin, True, reported
                )
            )
        return found
    except FluxGitOpsError as exc:
        return [
            Observation(
                cluster.name, f"{spec.namespace}/{spec.name}", UNKNOWN, str(exc), origin, False
            )
            for spec, origin in pairs
        ]


def _arm_observation(read: ArmRead, origin: str | None) -> Observation:
    r = read.request
    if read.body is None:
        label = f"{r.namespace}/{r.name}"
        return Observation(r.cluster, label, UNKNOWN, read.error, origin, False)
    return arm_observation(r.cluster, r.namespace, r.name, read.body, origin)


def rollup_stack(
    config: StackConfig,
    *,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    only: str | None = None,
    observe: Callable[[Cluster], list[Observation]] | None = None,
) -> list[Any]:
    """The roll-up of every fleet of ``config`` (or ``only`` that one); by default
    ``observe_cluster`` with every ``azure`` cluster read from ARM in one go."""
    if observe is None:
        arm = read_azure(config, only)

        def observe(cluster: Cluster) -> list[Observation]:
            return observe_cluster(cluster, arm)

    fleets = {f.name: list(f.clusters) for f in config.fleets if f.policy is None}
    if only is not None:
        fleets = {k: v for k, v in fleets.items() if k == only}
    observations = [
        obs
        for cluster in config.clusters
        for obs in observe(cluster)
        if (only is None or obs.fleet == only)
    ]
    return fleet_rollup(fleets, observations, now=now, stale_after=stale_after)


@fleet_app.command("status")
def status(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="Stack NAME (stackConfigDir) or PATH")
    ] = "local",
    fleet: Annotated[str | None, typer.Option(help="Only this fleet")] = None,
    stale_after: Annotated[
        str, typer.Option(help="A cluster not reported for longer is Stale (Go or ISO duration)")
    ] = "48h",
    output: Annotated[RollupFormat, typer.Option("--output", "-o")] = RollupFormat.table,
) -> None:
    """Compliance per fleet: N of M clusters Compliant, then each cluster that is not.

    Exit codes: 0 every cluster Compliant; 2 at least one Non-Compliant, Pending,
    Suspended, Unknown, Unreachable or Stale; 1 the stack is invalid or the fleet unknown."""
    path = _stack_file(stack)
    config = _load_stack(path)
    try:
        threshold = parse_duration(stale_after)
    except ValueError as exc:
        err.print(f"--stale-after: {exc} (got {stale_after!r})", markup=False)
        raise typer.Exit(EXIT_ERROR) from None
    if fleet is not None and fleet not in {f.name for f in config.fleets}:
        known = ", ".join(f.name for f in config.fleets) or "none"
        err.print(f"--fleet: no fleet {fleet!r} in {path}; fleets: {known}", markup=False)
        raise typer.Exit(EXIT_ERROR)
    rollups = rollup_stack(config, now=datetime.now(UTC), stale_after=threshold, only=fleet)
    if output is RollupFormat.json:
        out.print(
            json.dumps([r.to_json() for r in rollups], indent=2), markup=False, highlight=False
        )
    else:
        for rollup in rollups:
            out.print(rollup.headline(), markup=False, highlight=False)
            for verdict in rollup.problems:
                where = f" {verdict.configuration}" if verdict.configuration else ""
                out.print(
                    f"  {verdict.cluster}: {verdict.state}{where}: {verdict.message}",
                    markup=False,
                    highlight=False,
                )
    raise typer.Exit(exit_code(rollups))


def migrate_command(
    path: Annotated[
        Path, typer.Argument(help="`az k8s-configuration show -o json` output or ARM JSON")
    ],
    cluster: Annotated[int, typer.Option(help="Index of the cluster in fluxgitops:clusters")] = 0,
    index: Annotated[
        int, typer.Option(help="Index of the configuration in that cluster's configurations")
    ] = 0,
) -> None:
    """Convert a Flux v1 sourceControlConfiguration into a Flux v2 stack entry; explain what has
    no equivalent. Secrets become `pulumi config set --secret` lines, never their values."""
    try:
        body = yamltext.load(path.read_text(), str(path))
    except OSError as exc:
        err.print(f"cannot read {str(path)!r}: {exc.strerror}", style="red", markup=False)
        raise typer.Exit(EXIT_ERROR) from exc
    except YamlError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(EXIT_ERROR) from exc
    if not isinstance(body, dict):
        err.print(
            f"{path}: expected a JSON/YAML object (a sourceControlConfiguration)", style="red"
        )
        raise typer.Exit(EXIT_ERROR)
    migration = migrate_source_control(body)
    imported = migration.imported
    if imported.errors:
        err.print(
            str(SpecError(f"sourceControlConfiguration {migration.name!r}", imported.errors)),
            markup=False,
        )
        raise typer.Exit(EXIT_ERROR)
    out.print(
        f"# Flux v2 entry for sourceControlConfiguration {migration.name!r} ({path})",
        markup=False,
        highlight=False,
    )
    out.print(
        yaml.safe_dump([imported.entry], sort_keys=False), markup=False, highlight=False, end=""
    )
    prefix = f"fluxgitops:clusters[{cluster}].configurations[{index}]"
    for dotted in sorted(imported.secrets):
        out.print(
            f"# secret: pulumi config set --secret --path '{prefix}.{dotted}'   (prompts)",
            markup=False,
            highlight=False,
        )
    for note in migration.notes:
        out.print(f"# note: {note}", markup=False, highlight=False)

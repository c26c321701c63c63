"""``fluxgitops reconciler run`` / ``python -m reconciler run``: the reconciler in the foreground.

A typer sub-app, added to the ``fluxgitops`` CLI by ``fluxgitops_cli.app`` and
run on its own by ``reconciler.__main__`` (the container entrypoint, which
then never imports Pulumi). Options map one to one onto
``ReconcilerOptions``; kopf and the operator are imported only when ``run``
starts, so the CLI stays quick. SIGTERM / Ctrl+C stop it gracefully (the
Lease is released).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import gc
import logging
from pathlib import Path
from typing import Annotated

import typer

from reconciler.options import ReconcilerOptions, default_identity, default_lease_namespace

app = typer.Typer(no_args_is_help=True)


@app.callback()  # a group even with one command, so ``python -m reconciler run`` works too
def reconciler() -> None:
    """The in-cluster reconciler: keep every FluxConfig converged."""


@app.command("run")
def run(
    *,
    kubeconfig: Annotated[
        Path | None, typer.Option(help="kubeconfig file (default: in-cluster, then KUBECONFIG)")
    ] = None,
    context: Annotated[str | None, typer.Option(help="kubeconfig context")] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Serve only this namespace or pattern (repeatable)"),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Serve every namespace")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Parallel reconciles")] = 4,
    resync_interval: Annotated[
        float, typer.Option(help="Seconds between full resyncs of every FluxConfig")
    ] = 600.0,
    orphan_sweep_interval: Annotated[
        float,
        typer.Option(help="Seconds between sweeps for objects of FluxConfigs that are gone"),
    ] = 300.0,
    orphan_grace: Annotated[
        float,
        typer.Option(help="Seconds objects must stay without their FluxConfig to be collected"),
    ] = 60.0,
    deletion_timeout: Annotated[
        float, typer.Option(help="Seconds before finalizers of deleted objects are removed")
    ] = 300.0,
    leader_elect: Annotated[
        bool, typer.Option(help="Lease leader election (off: this process always works)")
    ] = True,
    lease_namespace: Annotated[
        str | None, typer.Option(help="Namespace of the Lease (default: POD_NAMESPACE or default)")
    ] = None,
    identity: Annotated[
        str | None, typer.Option(help="Name in the Lease (default: POD_NAME, else the host name)")
    ] = None,
    liveness: Annotated[
        str | None, typer.Option(help="Serve the liveness probe, e.g. http://0.0.0.0:8080/healthz")
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Watch FluxConfigs and keep their Flux objects applied, healed and reported."""
    if bool(namespace) == all_namespaces:
        typer.echo("give exactly one of --namespace (repeatable) and --all-namespaces", err=True)
        raise typer.Exit(2)
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        typer.echo(f"unknown --log-level {log_level!r}", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("kopf", "httpx2"):  # a line per event / per request otherwise
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    options = ReconcilerOptions(
        kubeconfig=str(kubeconfig) if kubeconfig else None,
        context=context,
        namespaces=tuple(namespace or ()),
        workers=workers,
        resync_interval=resync_interval,
        orphan_sweep_interval=orphan_sweep_interval,
        orphan_grace=orphan_grace,
        deletion_timeout=deletion_timeout,
        leader_election=leader_elect,
        lease_namespace=lease_namespace or default_lease_namespace(),
        identity=identity or default_identity(),
        liveness_endpoint=liveness,
    )
    from reconciler.operator import Reconciler  # noqa: PLC0415 - kopf only when running

    lean_process()
    asyncio.run(Reconciler(options).run())


SSL_READ_BUFFER = 32 * 1024
"""Bytes asyncio reads per TLS record batch (its default, 256 KiB, is allocated per connection:
one per watched kind, ≈ 3 MiB of RSS in all; watch events and list pages stream through
32 KiB reads as well)."""


def lean_process() -> None:
    """Process-wide settings of a reconciler process (not of a reconciler in a test thread):
    smaller TLS read buffers, and every object that exists once everything is imported
    moved out of the collector's sight (``gc.freeze``), so full collections stay cheap and
    frequent enough to free the cycles a burst of events leaves."""
    asyncio.sslproto.SSLProtocol.max_size = SSL_READ_BUFFER
    gc.freeze()

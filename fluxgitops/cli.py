"""The ``fluxgitops`` command line: render and validate stack configs and configurations.

A thin shell over the pure core: it reads files, calls ``parse_stack`` /
``parse_configuration`` and the renderer, and prints with rich. Exit codes:
0 success, 1 invalid input (every error printed with its field path). Later
issues add ``plan``, ``status`` and ``reconciler``; ``local up|down|status|env``
runs the local control plane.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from fluxgitops.errors import FluxGitOpsError, SpecError
from fluxgitops.local.controlplane import (
    ControlPlane,
    local_dir,
    process_status,
    read_state,
    stop_detached,
)
from fluxgitops.render import RenderOptions, render_configuration, render_fluxconfig_crd, to_yaml
from fluxgitops.spec import parse_configuration
from fluxgitops.stack import CONFIG_KEY, StackConfig, parse_stack

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        err.print(f"[red]cannot read {str(path)!r}: {exc}[/red]")
        raise typer.Exit(1) from exc


def _stack(path: Path) -> StackConfig:
    data = _load(path)
    config = data.get("config", data) if isinstance(data, dict) else data
    try:
        return parse_stack(config, subject=f"stack config {str(path)!r}")
    except SpecError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None


@app.command()
def render(
    stack: Annotated[Path, typer.Argument(help="A stack file, e.g. stacks/Pulumi.local.yaml")],
    cluster: Annotated[str | None, typer.Option(help="Only this cluster")] = None,
    summary: Annotated[bool, typer.Option(help="Print a table instead of YAML")] = False,
) -> None:
    """Render every configuration of a stack to Kubernetes YAML (Secret values masked)."""
    config = _stack(stack)
    table = Table("cluster", "configuration", "objects", "kinds", title=f"{stack}")
    docs = []
    for entry in config.clusters:
        if cluster is not None and entry.name != cluster:
            continue
        options = RenderOptions(multi_tenancy=entry.extension.multi_tenancy.enforce)
        for spec in entry.configurations:
            manifests = render_configuration(spec, options)
            docs.extend(manifests)
            kinds = sorted({m.key.kind for m in manifests})
            table.add_row(
                entry.name, f"{spec.namespace}/{spec.name}", str(len(manifests)), ", ".join(kinds)
            )
    if summary:
        out.print(table)
    else:
        out.print(to_yaml(docs), markup=False, highlight=False, end="")
        err.print(table)


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help=f"A stack file ({CONFIG_KEY}) or one configuration")],
) -> None:
    """Validate a stack file or a single FluxConfiguration file; print every error."""
    data = _load(path)
    if isinstance(data, dict) and ("config" in data or CONFIG_KEY in data):
        config = _stack(path)
        count = sum(len(c.configurations) for c in config.clusters)
        out.print(
            f"[green]valid[/green]: {len(config.clusters)} cluster(s), {count} configuration(s)"
        )
        return
    try:
        spec = parse_configuration(data)
    except SpecError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    out.print(f"[green]valid[/green]: FluxConfiguration {spec.namespace}/{spec.name}")


@app.command()
def crd() -> None:
    """Print the FluxConfig CRD."""
    out.print(to_yaml([render_fluxconfig_crd()]), markup=False, highlight=False, end="")


local_app = typer.Typer(no_args_is_help=True, help="The local control plane on loopback.")
app.add_typer(local_app, name="local")


@local_app.command("up")
def local_up(
    controllers: Annotated[
        bool, typer.Option(help="Also run source- and kustomize-controller as local processes")
    ] = False,
) -> None:
    """Start etcd + kube-apiserver (and optionally Flux controllers); they keep running."""
    workdir = local_dir()
    if any(process_status(workdir).values()):
        err.print(f"already running in {workdir}; `fluxgitops local down` first")
        raise typer.Exit(1)
    names = ("source-controller", "kustomize-controller") if controllers else ()
    try:
        plane = ControlPlane(workdir=workdir, controllers=names, detach=True).start()
    except FluxGitOpsError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    out.print(f"[green]up[/green]: {plane.server}  KUBECONFIG={plane.kubeconfig}")


@local_app.command("down")
def local_down() -> None:
    """Stop every process of the local control plane."""
    stopped = stop_detached(local_dir())
    out.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@local_app.command("status")
def local_status() -> None:
    """Show which local processes run; exit 1 when none does."""
    status = process_status(local_dir())
    state = read_state(local_dir()) or {}
    for name, alive in status.items():
        out.print(f"{name:<24} {'[green]running[/green]' if alive else '[red]stopped[/red]'}")
    if state:
        out.print(f"server {state['server']}  kubeconfig {state['kubeconfig']}")
    if not any(status.values()):
        raise typer.Exit(1)


@local_app.command("env")
def local_env() -> None:
    """Print ``export KUBECONFIG=...`` for the running local control plane."""
    state = read_state(local_dir())
    if state is None:
        err.print("the local control plane is not running; `fluxgitops local up`")
        raise typer.Exit(1)
    out.print(f"export KUBECONFIG={state['kubeconfig']}", markup=False, highlight=False)


if __name__ == "__main__":
    app()

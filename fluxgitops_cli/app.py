"""The ``fluxgitops`` command line: preview/up/destroy stacks, render and validate, local cluster.

A thin shell: it reads files, calls ``parse_stack`` / ``parse_configuration``
and the renderer, runs stacks through ``components.automation``, and prints
with rich. Exit codes: 0 success, 1 invalid input or failed run (every error
printed with its field path). Later
issues add ``plan``, ``status`` and ``reconciler``; ``local up|down|status|env``
runs the local control plane.
"""

from __future__ import annotations

import json
import shlex
from enum import StrEnum
from importlib.metadata import version as package_version
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from components.automation import recorded_configurations
from fluxgitops.errors import FluxGitOpsError
from fluxgitops.fluxconfig.render import render_fluxconfig_crd
from fluxgitops.kube.live import live_plan
from fluxgitops.local.controlplane import (
    FLUX_CONTROLLERS,
    ControlPlane,
    process_status,
    read_state,
    stop_detached,
)
from fluxgitops.local.fleet import CLUSTERS_HELP, MAX_CLUSTERS, start_members, stop_members
from fluxgitops.local.loop import start_loop
from fluxgitops.local.toolchain import program_dirs, python_env
from fluxgitops.localrefs import local_dir, local_git_url
from fluxgitops.manifest import to_yaml
from fluxgitops.plan import to_json, to_markdown, to_text
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops_cli import runs, statuscmd, validatecmd
from fluxgitops_cli.console import FileArgument, OptionalStack, err, out, ref_of
from fluxgitops_cli.fleet import fleet_app, migrate_command
from fluxgitops_cli.importer import import_command
from reconciler.cli import app as reconciler_app

app = typer.Typer(
    no_args_is_help=True,
    help=__doc__.splitlines()[0],
    context_settings={"help_option_names": ["-h", "--help"]},
)
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
app.command()(runs.preview)
app.command()(runs.up)
app.command()(runs.refresh)
app.command()(runs.destroy)
app.command("pulumi", context_settings=PASSTHROUGH)(runs.pulumi)


def _version(value: bool) -> None:
    if value:
        out.print(f"fluxgitops {package_version('fluxgitops')}", markup=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version"),
    ] = False,
) -> None:
    """Terraform-style plan/apply for GitOps with Flux v2 (Pulumi components and a CLI)."""


_ref = ref_of


_load = validatecmd.load_yaml
_stack = validatecmd.load_stack


@app.command()
def render(
    file: FileArgument = None,
    stack: OptionalStack = None,
    cluster: Annotated[str | None, typer.Option(help="Only this cluster")] = None,
    summary: Annotated[bool, typer.Option(help="Print a table instead of YAML")] = False,
) -> None:
    """Render every configuration of a stack to Kubernetes YAML (Secret values masked)."""
    ref = _ref(file, stack)
    config = _stack(ref.file)
    table = Table("cluster", "configuration", "objects", "kinds", title=f"stack {ref.name}")
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
def crd() -> None:
    """Print the FluxConfig CRD."""
    out.print(to_yaml([render_fluxconfig_crd()]), markup=False, highlight=False, end="")


class PlanFormat(StrEnum):
    """Output formats of ``plan``."""

    text = "text"
    markdown = "markdown"
    json = "json"


@app.command()
def plan(
    file: FileArgument = None,
    stack: OptionalStack = None,
    output: Annotated[PlanFormat, typer.Option("--format", help="text, markdown or json")] = (
        PlanFormat.text
    ),
) -> None:
    """Compare every configuration with the live clusters: exit 0 no change, 2 changes, 1 error."""
    ref = _ref(file, stack)
    config = _stack(ref.file)
    try:
        result = live_plan(config, ref.name, recorded_configurations(ref.name))
    except FluxGitOpsError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    if output is PlanFormat.json:
        out.print(json.dumps(to_json(result), indent=2), markup=False, highlight=False)
    elif output is PlanFormat.markdown:
        out.print(to_markdown(result), markup=False, highlight=False, end="")
    else:
        styles = {"+": "green", "-": "red", "~": "yellow"}
        for line in to_text(result, width=out.width).splitlines():
            style = styles.get(line.strip()[:1], "bold" if line.startswith("cluster") else "")
            out.print(Text(line, style=style))
    raise typer.Exit(result.exit_code)


app.command()(statuscmd.status)
app.command()(validatecmd.validate)
status_document = statuscmd.status_document


local_app = typer.Typer(no_args_is_help=True, help="The local control plane on loopback.")
app.add_typer(local_app, name="local")
app.add_typer(reconciler_app, name="reconciler")
app.command("import")(import_command)
app.add_typer(fleet_app, name="fleet")
app.command("migrate")(migrate_command)


@local_app.command("up")
def local_up(
    controllers: Annotated[
        bool,
        typer.Option(
            "--controllers/--no-controllers",
            help="Run the four Flux controllers (source, kustomize, helm, notification)",
        ),
    ] = True,
    cluster: Annotated[
        bool,
        typer.Option(
            "--cluster/--no-cluster",
            help="Run kube-controller-manager, kube-scheduler and kwok's simulated nodes",
        ),
    ] = True,
    nodes: Annotated[
        int, typer.Option(min=1, max=10, help="How many simulated (kwok) nodes to create")
    ] = 1,
    reconciler: Annotated[
        bool, typer.Option(help="Run the fluxgitops reconciler as a local process")
    ] = True,
    git: Annotated[
        bool, typer.Option(help="Serve examples/gitops-repo over HTTP (${local.git})")
    ] = True,
    *,
    clusters: Annotated[int, typer.Option(min=1, max=MAX_CLUSTERS, help=CLUSTERS_HELP)] = 1,
) -> None:
    """Start a local cluster on loopback; its processes keep running until `local down`.

    etcd + kube-apiserver always; by default also controller-manager, scheduler,
    kwok nodes and the Flux controllers.
    """
    workdir = local_dir()
    if any(process_status(workdir).values()):
        err.print(f"already running in {workdir}; `fluxgitops local down` first")
        raise typer.Exit(1)
    try:
        plane = ControlPlane(
            workdir=workdir,
            controllers=FLUX_CONTROLLERS if controllers else (),
            detach=True,
            kube_controllers=cluster,
            nodes=nodes if cluster else 0,
        ).start()
        start_loop(plane, git=git, reconciler=reconciler)
        members = start_members(clusters)
    except FluxGitOpsError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    seconds = plane.ready_seconds["total"]
    out.print(
        f"[green]up[/green] in {seconds:.1f}s: {plane.server}  KUBECONFIG={plane.kubeconfig}\n"
        f"running: {', '.join(p.name for p in plane.processes)}\n"
        '`eval "$(fluxgitops local env)"` puts kubectl and pulumi on PATH'
    )
    if git:
        out.print(f"git: {local_git_url(workdir)}/gitops.git (examples/gitops-repo)")
    for index, member in enumerate(members, start=2):
        out.print(f"local-{index}: {member.server}  KUBECONFIG={member.kubeconfig}")


@local_app.command("down")
def local_down() -> None:
    """Stop every process of the local control plane."""
    stopped = stop_members() + stop_detached(local_dir())
    out.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@local_app.command("status")
def local_status() -> None:
    """Show which local processes run; exit 1 when none does."""
    status = process_status(local_dir())
    state = read_state(local_dir()) or {}
    if not any(status.values()):
        out.print(
            f"stopped: no local process runs in {local_dir()}; `fluxgitops local up` starts it"
        )
        raise typer.Exit(1)
    for name, alive in status.items():
        out.print(f"{name:<24} {'[green]running[/green]' if alive else '[red]stopped[/red]'}")
    if state:
        out.print(f"server {state['server']}  kubeconfig {state['kubeconfig']}")


@local_app.command("env")
def local_env() -> None:
    """Print `export` lines: KUBECONFIG, and PATH with kubectl, pulumi and its plugins."""
    state = read_state(local_dir())
    if state is None:
        err.print("the local control plane is not running; `fluxgitops local up`")
        raise typer.Exit(1)
    dirs, missing = program_dirs()
    for problem in missing:
        err.print(f"warning: {problem}", markup=False)
    lines = [f"export KUBECONFIG={shlex.quote(state['kubeconfig'])}"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in python_env().items()]
    if dirs:
        path = ":".join(shlex.quote(str(d)) for d in dirs)
        lines.append(f'export PATH={path}:"$PATH"')
    out.print("\n".join(lines), markup=False, highlight=False)


if __name__ == "__main__":
    app()

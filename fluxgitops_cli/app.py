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
import shutil
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pulumi.automation.errors import CommandError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from components.automation import Action, StackRun, run_stack, stack_readers
from fluxgitops import yamltext
from fluxgitops.diff import diff_manifests
from fluxgitops.errors import FluxGitOpsError, SourceCheckError, SpecError, YamlError
from fluxgitops.kube.apply import list_owned, read_objects
from fluxgitops.kube.client import connect
from fluxgitops.kube.deployed import LiveConfiguration
from fluxgitops.local.controlplane import (
    FLUX_CONTROLLERS,
    ControlPlane,
    process_status,
    read_state,
    stop_detached,
)
from fluxgitops.local.fleet import CLUSTERS_HELP, MAX_CLUSTERS, start_members, stop_members
from fluxgitops.local.loop import start_loop
from fluxgitops.local.toolchain import REPO_ROOT, program_dirs, python_env
from fluxgitops.localrefs import local_dir, local_git_url, resolve_kubeconfig, stack_placeholders
from fluxgitops.plan import Plan, build_plan, to_json, to_markdown, to_text
from fluxgitops.render import RenderOptions, render_configuration, render_fluxconfig_crd, to_yaml
from fluxgitops.render.manifest import Manifest
from fluxgitops.sourcecheck import SourceChecker, check_source
from fluxgitops.spec import FluxConfigurationSpec, FluxExtensionSpec, parse_configuration
from fluxgitops.stack import CONFIG_KEY, StackConfig, parse_stack
from fluxgitops.status import COMPLIANT, condition
from fluxgitops_cli.fleet import fleet_app, migrate_command
from fluxgitops_cli.importer import import_command
from reconciler.cli import app as reconciler_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
out = Console(soft_wrap=True, width=shutil.get_terminal_size((160, 40)).columns)
err = Console(stderr=True, soft_wrap=True)


def _load(path: Path) -> Any:
    try:
        return yamltext.load(path.read_text(), str(path))
    except OSError as exc:
        err.print(f"[red]cannot read {str(path)!r}: {exc.strerror}[/red]")
        raise typer.Exit(1) from exc
    except YamlError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from exc


def _stack(path: Path) -> StackConfig:
    data = _load(path)
    config = data.get("config", data) if isinstance(data, dict) else data
    try:
        return parse_stack(
            config,
            subject=f"stack config {str(path)!r}",
            placeholders=stack_placeholders(local_dir()),
        )
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
    sources: Annotated[
        bool, typer.Option(help="Also check each Git source: ref, paths, multi-tenancy rules")
    ] = False,
    offline: Annotated[bool, typer.Option(help="Skip the network (air-gapped)")] = False,
    strict: Annotated[bool, typer.Option(help="An unreachable source is an error")] = False,
) -> None:
    """Validate a stack file or a single FluxConfiguration file; print every error."""
    data = _load(path)
    if isinstance(data, dict) and ("config" in data or CONFIG_KEY in data):
        config = _stack(path)
        pairs = [(c.extension, s) for c in config.clusters for s in c.configurations]
        out.print(
            f"[green]valid[/green]: {len(config.clusters)} cluster(s), "
            f"{len(pairs)} configuration(s)"
        )
    else:
        try:
            spec = parse_configuration(data)
        except SpecError as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(1) from None
        out.print(f"[green]valid[/green]: FluxConfiguration {spec.namespace}/{spec.name}")
        pairs = [(FluxExtensionSpec(), spec)]
    if sources and not _check_sources(pairs, offline=offline, strict=strict):
        raise typer.Exit(1)


def _check_sources(
    pairs: list[tuple[FluxExtensionSpec, FluxConfigurationSpec]], *, offline: bool, strict: bool
) -> bool:
    """Run the source checks; print each report; False when any has errors."""
    ok = True
    with SourceChecker(offline=offline, strict=strict) as checker:
        for extension, spec in pairs:
            if spec.git_repository is None:
                continue
            try:
                report = check_source(spec, extension, checker=checker)
            except (SourceCheckError, FluxGitOpsError) as exc:
                err.print(str(exc), markup=False)
                if isinstance(exc, SourceCheckError):  # warnings matter most when there are errors
                    for warning in exc.report.warnings:
                        err.print(f"  warning: {warning}", markup=False)
                ok = False
                continue
            out.print(report.summary(), markup=False)
            for warning in report.warnings:
                out.print(f"  warning: {warning}", markup=False)
            for finding in report.findings:
                out.print(f"  {finding}", markup=False)
                ok = ok and finding.severity != "error"
    return ok


@app.command()
def crd() -> None:
    """Print the FluxConfig CRD."""
    out.print(to_yaml([render_fluxconfig_crd()]), markup=False, highlight=False, end="")


def _run(action: Action, stack: str) -> StackRun:
    try:
        return run_stack(
            action,
            stack,
            on_output=lambda line: out.print(line.rstrip("\n"), markup=False, highlight=False),
        )
    except FluxGitOpsError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    except CommandError as exc:
        err.print(f"pulumi {action} failed on stack {stack!r}: see the output above")
        raise typer.Exit(1) from exc


StackOption = Annotated[str, typer.Option("--stack", "-s", help="stacks/Pulumi.<stack>.yaml")]


@app.command()
def preview(stack: StackOption = "local") -> None:
    """``pulumi preview --diff`` of a stack (local file backend, built CLI)."""
    run = _run("preview", stack)
    out.print(f"[bold]changes[/bold]: {run.changes}")


@app.command()
def up(stack: StackOption = "local") -> None:
    """``pulumi up`` of a stack; waits until every configuration with ``waitForReconciliation``
    is Compliant (Non-Compliant or a timeout fails with the Flux object's own message)."""
    run = _run("up", stack)
    table = Table("output", "value", title=f"stack {stack}")
    for name, value in sorted(run.outputs.items()):
        table.add_row(name, "\n".join(value) if isinstance(value, list) else str(value))
    out.print(table)


@app.command()
def refresh(stack: StackOption = "local") -> None:
    """``pulumi refresh``: read the live objects back (drift shows in the next preview)."""
    out.print(f"[bold]changes[/bold]: {_run('refresh', stack).changes}")


@app.command()
def destroy(stack: StackOption = "local") -> None:
    """``pulumi destroy``: remove every object the stack created."""
    out.print(f"[bold]changes[/bold]: {_run('destroy', stack).changes}")


class PlanFormat(StrEnum):
    """Output formats of ``plan``."""

    text = "text"
    markdown = "markdown"
    json = "json"


def live_plan(config: StackConfig) -> Plan:
    """Desired (rendered) vs live objects for every kubernetes-backend configuration."""
    items = []
    for cluster in config.clusters:
        if cluster.backend != "kubernetes":
            err.print(
                f"cluster {cluster.name!r}: azure backend — use `fluxgitops preview` (ARM diff)"
            )
            continue
        client = connect(resolve_kubeconfig(cluster.kubeconfig), cluster.context)
        options = RenderOptions(multi_tenancy=cluster.extension.multi_tenancy.enforce)
        for spec in cluster.configurations:
            desired = render_configuration(spec, options)
            live = {k: v for k, v in read_objects(client, [m.key for m in desired]).items() if v}
            owned = list_owned(client, spec.namespace, spec.name)
            bodies = list(live.values()) + [o for o in owned if Manifest(o).key not in live]
            items.append(
                (
                    cluster.name,
                    f"{spec.namespace}/{spec.name}",
                    diff_manifests(bodies, desired, live=True),
                )
            )
    return build_plan(items)


@app.command()
def plan(
    stack: Annotated[Path, typer.Argument(help="A stack file, e.g. stacks/Pulumi.local.yaml")],
    output: Annotated[PlanFormat, typer.Option("--format", help="text, markdown or json")] = (
        PlanFormat.text
    ),
) -> None:
    """Compare every configuration with the live clusters: exit 0 no change, 2 changes, 1 error."""
    config = _stack(stack)
    try:
        result = live_plan(config)
    except FluxGitOpsError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    if output is PlanFormat.json:
        out.print(json.dumps(to_json(result), indent=2), markup=False, highlight=False)
    elif output is PlanFormat.markdown:
        out.print(to_markdown(result), markup=False, highlight=False, end="")
    else:
        styles = {"+": "green", "-": "red", "~": "yellow"}
        for line in to_text(result).splitlines():
            style = styles.get(line.strip()[:1], "bold" if line.startswith("cluster") else "")
            out.print(Text(line, style=style))
    raise typer.Exit(result.exit_code)


def status_document(cluster: str, live: LiveConfiguration, now: str) -> dict[str, Any]:
    """One configuration as ``status -o json`` prints it (Azure's deployed-object list)."""
    state = live.compliance()
    source = live.source or {}
    ready = condition(source, "Ready") or {}
    return {
        "cluster": cluster,
        "namespace": live.spec.namespace,
        "name": live.spec.name,
        "complianceState": state.state,
        "message": state.message,
        "source": {
            "kind": live.spec.source_kind,
            "name": live.spec.name,
            "url": str((source.get("spec") or {}).get("url", "")),
            "ready": str(ready.get("status", "")),
            "reason": str(ready.get("reason", "")),
            "message": str(ready.get("message", "")),
        },
        "sourceSyncedCommitId": live.commit,
        "statuses": live.statuses(now),
        "appliedObjects": {k: [str(a) for a in v] for k, v in sorted(live.applied.items())},
    }


class StatusFormat(StrEnum):
    """Output formats of ``status``."""

    table = "table"
    json = "json"


STYLES = {"Compliant": "green", "Non-Compliant": "red", "Pending": "yellow"}


def _print_status(doc: dict[str, Any]) -> None:
    state = doc["complianceState"]
    commit = doc["sourceSyncedCommitId"][:12] or "-"
    out.print(
        Text.assemble(
            (f"{doc['cluster']}: {doc['namespace']}/{doc['name']} ", "bold"),
            (state, STYLES.get(state, "")),
            f"  commit {commit}",
            f"  {doc['message']}" if state != COMPLIANT else "",
        )
    )
    table = Table("object", "ready", "reason", "message", "applied by", box=None, pad_edge=False)
    for entry in doc["statuses"]:
        ready: dict[str, Any] = next(
            (c for c in entry["statusConditions"] if c["type"] == "Ready"), {}
        )
        by = entry.get("appliedBy")
        helm = entry.get("helmReleaseProperties")
        message = ready.get("message", "")
        if helm:
            message += f" (revision {helm['lastRevisionApplied']})"
        table.add_row(
            f"{entry['kind']}/{entry['name']}",
            Text(ready.get("status", "-"), STYLES.get(entry["complianceState"], "")),
            ready.get("reason", ""),
            message,
            f"Kustomization/{by['name']}" if by else "",
        )
    out.print(table)
    for kustomization, objects in doc["appliedObjects"].items():
        out.print(f"  {kustomization} applied: {', '.join(objects) or '-'}", highlight=False)


@app.command()
def status(
    stack: StackOption = "local",
    output: Annotated[StatusFormat, typer.Option("--output", "-o", help="table or json")] = (
        StatusFormat.table
    ),
) -> None:
    """Every configuration of a stack (kubernetes backend) as it runs: compliance, the source and
    its synced commit, each Kustomization and HelmRelease with Ready / reason / message, and the
    objects they applied (Flux's inventory) — ``az k8s-configuration flux deployed-object list``."""
    config = _stack(REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    docs = []
    try:
        for cluster, _, read in stack_readers(config):
            docs.append(status_document(cluster.name, read(), now))
    except FluxGitOpsError as exc:
        err.print(f"{exc}; is the cluster up (`fluxgitops local up`)?", markup=False)
        raise typer.Exit(1) from None
    if output is StatusFormat.json:
        out.print(json.dumps(docs, indent=2), markup=False, highlight=False)
        return
    for doc in docs:
        _print_status(doc)


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
    for name, alive in status.items():
        out.print(f"{name:<24} {'[green]running[/green]' if alive else '[red]stopped[/red]'}")
    if state:
        out.print(f"server {state['server']}  kubeconfig {state['kubeconfig']}")
    if not any(status.values()):
        raise typer.Exit(1)


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

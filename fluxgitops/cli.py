"""The ``fluxgitops`` command line: render and validate stack configs and configurations.

A thin shell over the pure core: it reads files, calls ``parse_stack`` /
``parse_configuration`` and the renderer, and prints with rich. Exit codes:
0 success, 1 invalid input (every error printed with its field path). Later
issues add ``plan``, ``status``, ``local`` and ``reconciler`` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from fluxgitops.errors import SpecError
from fluxgitops.render import RenderOptions, render_configuration, render_fluxconfig_crd, to_yaml
from fluxgitops.spec import parse_configuration
from fluxgitops.stack import CONFIG_KEY, StackConfig, parse_stack

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
out = Console()
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


if __name__ == "__main__":
    app()

"""``fluxgitops import``: an ARM / Bicep body or ``az … show`` output → a stack entry.

Reads a JSON or YAML file holding a ``Microsoft.KubernetesConfiguration/
fluxConfigurations`` resource (whole, or only its ``properties``), folds its
``configurationProtectedSettings`` into the source block
(``fluxgitops.spec.arm.from_arm``), validates the result with the same parser
every other door uses, and prints the configuration entry as stack YAML. Secret
values are never printed: each becomes a ``pulumi config set --secret --path``
line that prompts for the value. Registered on the CLI by
``fluxgitops_cli.app``; a thin shell over the pure ``fluxgitops.spec.arm``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from fluxgitops import yamltext
from fluxgitops.errors import SpecError, YamlError
from fluxgitops.spec import parse_configuration
from fluxgitops.spec.arm import from_arm
from fluxgitops.spec.parse import SECRET_FIELDS

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def import_command(
    path: Annotated[Path, typer.Argument(help="ARM/Bicep resource JSON or `az … show` output")],
    cluster: Annotated[int, typer.Option(help="Index of the cluster in fluxgitops:clusters")] = 0,
    index: Annotated[
        int, typer.Option(help="Index of the configuration in that cluster's configurations")
    ] = 0,
) -> None:
    """Turn an ARM fluxConfiguration into a stack entry (secrets as `pulumi config set` lines)."""
    try:
        body = yamltext.load(path.read_text(), str(path))  # JSON is YAML
    except OSError as exc:
        err.print(f"cannot read {str(path)!r}: {exc.strerror}", style="red", markup=False)
        raise typer.Exit(1) from exc
    except YamlError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from exc
    if not isinstance(body, dict):
        err.print(f"{path}: expected a JSON/YAML object (an ARM resource)", style="red")
        raise typer.Exit(1)
    imported = from_arm(body, SECRET_FIELDS)
    try:
        spec_input = copy.deepcopy(imported.entry)  # the printed entry never holds a secret
        for dotted in imported.secrets:
            node = spec_input
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = imported.secrets[dotted]
        parse_configuration(spec_input)
        if imported.errors:
            raise SpecError(f"FluxConfiguration {imported.entry.get('name')!r}", imported.errors)
    except SpecError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    out.print(
        yaml.safe_dump([imported.entry], sort_keys=False, default_flow_style=False),
        markup=False,
        highlight=False,
        end="",
    )
    prefix = f"fluxgitops:clusters[{cluster}].configurations[{index}]"
    for dotted in sorted(imported.secrets):
        out.print(
            f"# secret: pulumi config set --secret --path '{prefix}.{dotted}'   (prompts)",
            markup=False,
            highlight=False,
        )
    if imported.dropped:
        err.print(
            "left out (read-only fields ARM reports, not input): " + ", ".join(imported.dropped),
            markup=False,
        )

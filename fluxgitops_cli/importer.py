"""``fluxgitops import``: an ARM / Bicep body, ``az … show`` output or a live FluxConfig → stack.

Reads a JSON or YAML file holding a ``Microsoft.KubernetesConfiguration/
fluxConfigurations`` resource (whole, or only its ``properties``), folds its
``configurationProtectedSettings`` into the source block
(``fluxgitops.spec.arm.from_arm``), validates the result with the same parser
every other door uses, and prints the configuration entry as stack YAML; with
``--live NAMESPACE/NAME`` it reads the FluxConfig and its protected-settings
Secret from a cluster instead (``fluxgitops.fluxconfig.readback.entry_from_fluxconfig``). Secret
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
from fluxgitops.errors import FluxGitOpsError, SpecError, YamlError
from fluxgitops.fluxconfig.readback import decode_secret_data, entry_from_fluxconfig, secret_to_read
from fluxgitops.kube.apply import read_object
from fluxgitops.kube.client import connect
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from fluxgitops.spec import parse_configuration
from fluxgitops.spec.importing import Imported, from_arm

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _from_file(path: Path) -> Imported:
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
    return from_arm(body)


def _from_cluster(live: str, kubeconfig: str | None, context: str | None) -> Imported:
    namespace, _, name = live.rpartition("/")
    if not namespace or not name:
        err.print(f"--live wants NAMESPACE/NAME (got {live!r})", style="red", markup=False)
        raise typer.Exit(2)
    try:
        client = connect(kubeconfig, context)
        key = ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, namespace, name)
        body = read_object(client, key)
        if body is None:
            err.print(f"FluxConfig {live} does not exist", style="red", markup=False)
            raise typer.Exit(1)
        ref = secret_to_read(name, body.get("spec") or {})
        secret = read_object(client, ObjectKey("v1", "Secret", namespace, ref)) if ref else None
    except FluxGitOpsError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from None
    return entry_from_fluxconfig(body, decode_secret_data((secret or {}).get("data")))


def import_command(
    path: Annotated[
        Path | None, typer.Argument(help="ARM/Bicep resource JSON or `az … show` output")
    ] = None,
    *,
    live: Annotated[
        str | None, typer.Option(help="Import the live FluxConfig NAMESPACE/NAME instead")
    ] = None,
    kubeconfig: Annotated[str | None, typer.Option(help="Kubeconfig for --live")] = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context for --live")] = None,
    cluster: Annotated[int, typer.Option(help="Index of the cluster in fluxgitops:clusters")] = 0,
    index: Annotated[
        int, typer.Option(help="Index of the configuration in that cluster's configurations")
    ] = 0,
) -> None:
    """Turn an ARM fluxConfiguration or a live FluxConfig into a stack entry (secrets as
    `pulumi config set --secret` lines, never their values)."""
    if (path is None) == (live is None):
        err.print("give either a FILE or --live NAMESPACE/NAME", style="red")
        raise typer.Exit(2)
    imported = (
        _from_file(path) if path is not None else _from_cluster(str(live), kubeconfig, context)
    )
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
            "left out (read-only or cluster-only fields, not input): "
            + ", ".join(imported.dropped),
            markup=False,
        )

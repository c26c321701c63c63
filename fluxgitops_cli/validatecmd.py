"""``fluxgitops validate`` and the stack-file reading every command shares, with ``file:line``.

``load_yaml`` reads a file (an empty file or a YAML syntax error is one plain
line with ``file:line``); ``load_stack`` parses it as a stack and prints every
``SpecError`` field error as ``file:line: path: message`` (positions from
``fluxgitops.yamltext.positions``; list items by name). ``validate`` checks a
stack file or one FluxConfiguration file, warns about what Flux will refuse or
what leaks (an SSH source without known_hosts; a secret written in plain text
in a stack file) and prints "valid" only once every requested check passed
(``--sources``, ``--strict``). Registered by ``fluxgitops_cli.app``.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from fluxgitops import yamltext
from fluxgitops.errors import FluxGitOpsError, SourceCheckError, SpecError, YamlError
from fluxgitops.localrefs import local_dir, stack_placeholders
from fluxgitops.sourcecheck import SourceChecker, check_source
from fluxgitops.spec import FluxConfigurationSpec, FluxExtensionSpec, parse_configuration
from fluxgitops.spec.redact import split_secrets
from fluxgitops.stack import CONFIG_KEY, StackConfig, item_label, parse_stack
from fluxgitops_cli.console import FileArgument, OptionalStack, err, fail, out, ref_of

STACK_ROOT = ("config", CONFIG_KEY)
EMPTY = (
    "is empty: a stack file has `config:` → `fluxgitops:clusters:` (a list of clusters); "
    "a configuration file has at least `name:` and a source"
)


def load_yaml(path: Path) -> Any:
    """The file's one YAML document; one line with ``file:line`` and exit 1 otherwise."""
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"cannot read {str(path)!r}: {exc.strerror}")
    try:
        data = yamltext.load(text, str(path))
    except YamlError as exc:
        fail(exc)
    if data is None:
        fail(f"{shown_path(path)}:1: {EMPTY}")
    return data


def error_lines(exc: SpecError, path: Path, data: Any, root: Sequence[str]) -> list[str]:
    """One ``file:line: path: message`` line per field error (the line of the deepest part of
    the path that exists; the file alone when none does)."""
    lines = yamltext.positions(path.read_text())
    found = []
    for error in exc.errors:
        field = error.path.removeprefix("clusters") if root == STACK_ROOT else error.path
        line = yamltext.line_of(data, lines, field, root)
        where = f"{shown_path(path)}:{line}" if line is not None else shown_path(path)
        found.append(f"{where}: {error}")
    return found


def shown_path(path: Path) -> str:
    """``path`` relative to the current directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _width() -> int:
    """The terminal's width (``COLUMNS`` first); unlimited when piped, so grep sees whole
    lines."""
    if os.environ.get("COLUMNS", "").isdigit() or err.is_terminal:
        return shutil.get_terminal_size((100, 24)).columns
    return 1_000_000


def print_spec_error(exc: SpecError, path: Path, data: Any, root: Sequence[str]) -> None:
    """The error's heading, then each field error with ``file:line``, wrapped to the terminal
    (``COLUMNS``) with a hanging indent; nothing is cut."""
    count = len(exc.errors)
    width = _width()
    heading = (
        f"{shown_path(path)}: {'stack config' if root else 'FluxConfiguration'} is invalid "
        f"({count} error{'s' if count != 1 else ''}); nothing was applied, fix it and retry:"
    )
    lines = textwrap.wrap(heading, width, break_on_hyphens=False)
    for line in error_lines(exc, path, data, root):
        lines += textwrap.wrap(
            line,
            width,
            initial_indent="  ",
            subsequent_indent="      ",
            break_on_hyphens=False,
            break_long_words=False,
        )
    err.print("\n".join(lines), markup=False, soft_wrap=True)


def _stack_data(data: Any) -> Any:
    return data.get("config", data) if isinstance(data, Mapping) else data


def _root(data: Any) -> tuple[str, ...]:
    return STACK_ROOT if isinstance(data, Mapping) and "config" in data else (CONFIG_KEY,)


def load_stack(path: Path) -> StackConfig:
    """The stack in ``path``; every error with ``file:line`` and exit 1 otherwise."""
    data = load_yaml(path)
    try:
        return parse_stack(
            _stack_data(data),
            subject=f"stack config {str(path)!r}",
            placeholders=stack_placeholders(local_dir()),
        )
    except SpecError as exc:
        print_spec_error(exc, path, data, _root(data))
        raise typer.Exit(1) from None


def stack_warnings(data: Any, config: StackConfig) -> list[str]:
    """What validation accepts but will hurt: an SSH source without known_hosts (Flux refuses
    to connect), a secret written in plain text in the stack file (it belongs in Pulumi's
    encrypted config: ``pulumi config set --secret --path``)."""
    found: list[str] = []
    clusters = (_stack_data(data) or {}).get(CONFIG_KEY) if isinstance(data, Mapping) else None
    raw_clusters = clusters if isinstance(clusters, list) else []
    for i, cluster in enumerate(config.clusters):
        raw = raw_clusters[i] if i < len(raw_clusters) else {}
        bodies = raw.get("configurations") or [] if isinstance(raw, Mapping) else []
        for j, spec in enumerate(cluster.configurations):
            # configurations past the cluster's own come from fleet templates (by name)
            label = item_label(bodies, j) if j < len(bodies) else f"[{spec.name}]"
            where = f"clusters[{cluster.name}].configurations{label}"
            found += _ssh_warning(where, spec)
            body = bodies[j] if j < len(bodies) and isinstance(bodies[j], Mapping) else {}
            for field, value in sorted(split_secrets(body)[1].items()):
                if isinstance(value, str):
                    found.append(
                        f"{where}.{field}: a secret written in plain text in the stack file; "
                        f"remove it and run `fluxgitops pulumi -- config set --secret --path "
                        f"'{CONFIG_KEY}[{i}].configurations[{j}].{field}'`"
                    )
    return found


def _ssh_warning(where: str, spec: FluxConfigurationSpec) -> list[str]:
    git = spec.git_repository
    if git is None or not git.is_ssh or git.ssh_known_hosts is not None:
        return []
    if git.local_auth_ref is not None:
        return []
    return [
        f"{where}.gitRepository.sshKnownHosts: not set for {git.url!r}; Flux refuses an SSH "
        "host it does not know — set sshKnownHosts (`ssh-keyscan HOST`)"
    ]


def validate(
    file: FileArgument = None,
    stack: OptionalStack = None,
    sources: Annotated[
        bool, typer.Option(help="Also check each Git source: ref, paths, multi-tenancy rules")
    ] = False,
    offline: Annotated[bool, typer.Option(help="Skip the network (air-gapped)")] = False,
    strict: Annotated[bool, typer.Option(help="An unreachable source is an error")] = False,
) -> None:
    """Validate a stack file or a single FluxConfiguration file; print every error with its
    file:line, then warnings; "valid" only when every requested check passed."""
    path = ref_of(file, stack).file
    data = load_yaml(path)
    warnings: list[str]
    if isinstance(data, Mapping) and ("config" in data or CONFIG_KEY in data):
        config = load_stack(path)
        pairs = [(c.extension, s) for c in config.clusters for s in c.configurations]
        verdict = f"{len(config.clusters)} cluster(s), {len(pairs)} configuration(s)"
        warnings = stack_warnings(data, config)
    else:
        try:
            spec = parse_configuration(data)
        except SpecError as exc:
            print_spec_error(exc, path, data, ())
            raise typer.Exit(1) from None
        verdict = f"FluxConfiguration {spec.namespace}/{spec.name}"
        pairs = [(FluxExtensionSpec(), spec)]
        warnings = _ssh_warning("", spec)
    if sources and not check_sources(pairs, offline=offline, strict=strict):
        raise typer.Exit(1)
    out.print(f"[green]valid[/green]: {verdict}")
    for warning in warnings:
        err.print(f"  warning: {warning.lstrip('.')}", markup=False)


def check_sources(
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


__all__ = ["check_sources", "load_stack", "load_yaml", "validate"]

"""What every command of the ``fluxgitops`` CLI shares: the consoles, ``-s/--stack`` and errors.

``out`` and ``err`` are rich consoles: colour on a terminal, plain text when piped
(``NO_COLOR`` / ``FORCE_COLOR`` are honoured by rich). ``StackOption`` is the one
``-s/--stack NAME|PATH`` option; ``stack_ref`` resolves it
(``fluxgitops_cli.stackref``) and ``fail`` prints a ``FluxGitOpsError`` as its
message alone (no traceback) and exits 1. Imported by ``fluxgitops_cli.app`` and
its command modules.
"""

from __future__ import annotations

import shutil
import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from fluxgitops.errors import FluxGitOpsError
from fluxgitops_cli.stackref import StackRef, resolve_stack

out = Console(soft_wrap=True, width=shutil.get_terminal_size((160, 40)).columns, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

StackOption = Annotated[
    str,
    typer.Option(
        "--stack",
        "-s",
        help="A stack NAME (Pulumi.yaml's stackConfigDir/Pulumi.<NAME>.yaml) or a PATH",
    ),
]


def fail(exc: FluxGitOpsError | str, code: int = 1) -> NoReturn:
    """Print the error's message (one line, no traceback) and exit with ``code``."""
    err.print(str(exc), style="red", markup=False)
    raise typer.Exit(code)


def stack_ref(ref: str) -> StackRef:
    """The stack a ``-s/--stack`` value names; exit 1 with one line when there is none."""
    try:
        return resolve_stack(ref)
    except FluxGitOpsError as exc:
        fail(exc)


def interactive() -> bool:
    """True when a person can answer a question (stdin and stdout are terminals)."""
    return sys.stdin.isatty() and out.is_terminal


OptionalStack = Annotated[
    str | None,
    typer.Option(
        "--stack",
        "-s",
        help="A stack NAME (Pulumi.yaml's stackConfigDir/Pulumi.<NAME>.yaml) or a PATH",
    ),
]
FileArgument = Annotated[
    str | None,
    typer.Argument(help="The same as --stack (a stack file or name)", show_default=False),
]


def ref_of(file: str | None, stack: str | None) -> StackRef:
    """``-s`` or the positional file (an alias kept for scripts), default ``local``."""
    if file is not None and stack is not None and file != stack:
        fail(f"two stacks given: {file!r} and --stack {stack!r}; give one")
    return stack_ref(file or stack or "local")

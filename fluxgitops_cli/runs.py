"""``preview``, ``up``, ``refresh``, ``destroy`` and ``pulumi``: Pulumi runs of a stack.

A thin shell over ``components.automation.run_stack``: it resolves ``-s/--stack``
first (a missing file fails before any passphrase or cluster is touched), streams
Pulumi's output (coloured on a terminal, plain when piped), and ends with a
one-line summary of the changes. ``up`` and ``destroy`` preview first and ask,
as ``pulumi up`` does, unless ``--yes``; without a terminal to ask on, they
refuse and say to pass ``--yes``. ``preview --expect-no-changes`` exits 2 when
anything would change. ``pulumi -- ARGS`` runs the plain Pulumi CLI against the
same backend, passphrase and stack. Registered on the app by
``fluxgitops_cli.app``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from components.automation import Action, StackRun, run_stack
from components.workspace import pulumi_environment
from fluxgitops.errors import FluxGitOpsError
from fluxgitops.local.toolchain import program_dirs, python_env, tool_path
from fluxgitops_cli import console
from fluxgitops_cli.console import StackOption, err, fail, out, stack_ref

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not preview and ask first")]
PAST = {"create": "created", "update": "updated", "delete": "deleted", "replace": "replaced"}
FUTURE = {"create": "to create", "update": "to update", "delete": "to delete"}
WITH_STACK = frozenset(
    {"preview", "up", "update", "refresh", "destroy", "config", "cancel", "import", "state"}
)
STACK_SUBCOMMANDS = frozenset({"export", "import", "output", "history", "tag", "rm", "select"})


def summary(changes: dict[str, int], done: bool) -> str:
    """``Resources: 2 to create, 5 unchanged.`` (``created`` … once done)."""
    words = PAST if done else FUTURE
    parts = [
        f"{count} {words.get(op, op)}"
        for op, count in sorted(changes.items())
        if op != "same" and count
    ]
    if changes.get("same"):
        parts.append(f"{changes['same']} unchanged")
    return f"Resources: {', '.join(parts) or 'none'}."


def changed(changes: dict[str, int]) -> bool:
    """True when a run changed (or a preview would change) anything."""
    return any(count for op, count in changes.items() if op != "same")


def _print_line(line: str) -> None:
    out.print(Text.from_ansi(line.rstrip("\n")), soft_wrap=True)


def run(action: Action, stack: str, *, quiet: bool = False) -> StackRun:
    """Run ``action`` on the stack ``-s`` names; one line and exit 1 on failure."""
    ref = stack_ref(stack)
    try:
        return run_stack(
            action,
            ref.name,
            stack_file=ref.file,
            project_file=ref.project,
            on_output=None if quiet else _print_line,
            color="always" if out.is_terminal else "never",
        )
    except FluxGitOpsError as exc:
        fail(exc)


def _confirm(action: Action, stack: str, name: str) -> None:
    """Preview (``up``), then ask about stack ``name``; refuse without a terminal (pass
    ``--yes``)."""
    if not console.interactive():
        fail(
            f"`fluxgitops {action}` changes the clusters of stack {name!r} and asks first; "
            "no terminal to ask on — pass --yes to run it without asking"
        )
    if action == "up":
        out.print(summary(run("preview", stack).changes, done=False), style="bold")
    question = (
        f"Destroy every object of stack {name!r}?"
        if action == "destroy"
        else f"Perform this update on stack {name!r}?"
    )
    if not typer.confirm(question, default=False):
        fail("not run: the answer was no", code=1)


def preview(
    stack: StackOption = "local",
    expect_no_changes: Annotated[
        bool, typer.Option(help="Exit 2 when anything would change (CI drift check)")
    ] = False,
) -> None:
    """``pulumi preview --diff`` of a stack; ends with a one-line summary of the changes."""
    result = run("preview", stack)
    out.print(summary(result.changes, done=False), style="bold")
    if expect_no_changes and changed(result.changes):
        fail("changes found and --expect-no-changes was given", code=2)


def up(stack: StackOption = "local", yes: YesOption = False) -> None:
    """``pulumi up`` of a stack (preview and confirm unless --yes); waits until every
    configuration with ``waitForReconciliation`` is Compliant (Non-Compliant or a timeout
    fails with the Flux object's own message). Pulumi prints the stack outputs."""
    ref = stack_ref(stack)  # a missing stack file fails before the question
    if not yes:
        _confirm("up", stack, ref.name)
    result = run("up", stack)
    out.print(summary(result.changes, done=True), style="bold green")


def refresh(stack: StackOption = "local") -> None:
    """``pulumi refresh``: read the live objects back (drift shows in the next preview)."""
    out.print(summary(run("refresh", stack).changes, done=True), style="bold")


def destroy(stack: StackOption = "local", yes: YesOption = False) -> None:
    """``pulumi destroy``: remove every object the stack created (asks unless --yes)."""
    ref = stack_ref(stack)
    if not yes:
        _confirm("destroy", stack, ref.name)
    result = run("destroy", stack)
    out.print(summary(result.changes, done=True), style="bold")
    out.print(
        f"the stack's history is kept; `fluxgitops pulumi -s {stack} -- stack rm {ref.name}` "
        "removes it"
    )


def pulumi(ctx: typer.Context, stack: StackOption = "local") -> None:
    """Run the plain Pulumi CLI with this project's backend, passphrase and stack:
    ``fluxgitops pulumi -s local -- stack export``."""
    ref = stack_ref(stack)
    try:
        env = {**os.environ, **pulumi_environment(ref.name), **python_env()}
        binary = tool_path("pulumi")
    except FluxGitOpsError as exc:
        fail(exc)
    dirs, missing = program_dirs(("pulumi-language-python", "pulumi"))
    for problem in missing:
        err.print(f"warning: {problem}", markup=False)
    env["PATH"] = os.pathsep.join([*map(str, dirs), env["PATH"]])
    args = list(ctx.args)
    takes_stack = bool(args) and (
        args[0] in WITH_STACK
        or (args[0] == "stack" and len(args) > 1 and args[1] in STACK_SUBCOMMANDS)
    )
    if takes_stack and "--stack" not in args and "-s" not in args:
        args += ["--stack", ref.name]
    cwd = ref.project.parent if ref.project is not None else Path.cwd()
    completed = subprocess.run([str(binary), *args], cwd=cwd, env=env, check=False)
    raise typer.Exit(completed.returncode)

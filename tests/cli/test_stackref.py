"""``-s/--stack NAME|PATH``: one way to name a stack on every command, checked first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fluxgitops.errors import StackNotFoundError
from fluxgitops_cli.app import app
from fluxgitops_cli.runs import summary
from fluxgitops_cli.stackref import resolve_stack

runner = CliRunner()
REPO = Path(__file__).parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A Pulumi project outside the checkout with ``stackConfigDir: envs`` and a ``dev`` stack."""
    (tmp_path / "envs").mkdir()
    (tmp_path / "Pulumi.yaml").write_text(
        "name: fluxgitops\nruntime: python\nstackConfigDir: envs\n"
    )
    shutil.copyfile(REPO / "stacks" / "Pulumi.local.yaml", tmp_path / "envs" / "Pulumi.dev.yaml")
    (tmp_path / "sub" / "dir").mkdir(parents=True)
    return tmp_path


def test_name_resolves_through_stack_config_dir_from_a_subdirectory(project: Path) -> None:
    ref = resolve_stack("dev", cwd=project / "sub" / "dir")
    assert ref.name == "dev"
    assert ref.file == project / "envs" / "Pulumi.dev.yaml"
    assert ref.project == project / "Pulumi.yaml"


def test_path_anywhere_is_taken_as_it_is(project: Path, tmp_path: Path) -> None:
    ref = resolve_stack(str(project / "envs" / "Pulumi.dev.yaml"), cwd=Path("/"))
    assert (ref.name, ref.file) == ("dev", project / "envs" / "Pulumi.dev.yaml")


def test_unknown_name_lists_the_stacks_there(project: Path) -> None:
    with pytest.raises(StackNotFoundError) as info:
        resolve_stack("nope", cwd=project)
    assert str(info.value).startswith(f"stack 'nope': no file '{project}/envs/Pulumi.nope.yaml'")
    assert "stacks there: dev" in str(info.value)


def test_name_outside_any_project_says_to_pass_a_path(tmp_path: Path) -> None:
    with pytest.raises(StackNotFoundError) as info:
        resolve_stack("dev", cwd=tmp_path)
    assert "no Pulumi.yaml in" in str(info.value)
    assert "-s path/to/Pulumi.dev.yaml" in str(info.value)


def test_validate_by_name_from_another_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "sub")
    result = runner.invoke(app, ["validate", "-s", "dev"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: 1 cluster(s), 2 configuration(s)")


@pytest.mark.parametrize("command", ["up", "preview", "destroy", "refresh", "status", "plan"])
def test_missing_stack_fails_before_anything_else(
    command: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    result = runner.invoke(app, [command, "-s", "nope"])
    assert result.exit_code == 1
    assert result.output.startswith("stack 'nope': no file"), result.output
    assert "passphrase" not in result.output.lower()
    assert len(result.output.strip().splitlines()) == 1


def test_up_without_a_terminal_needs_yes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["up", "-s", "dev"])
    assert result.exit_code == 1
    assert "pass --yes to run it without asking" in result.output


def test_version_and_short_help() -> None:
    assert runner.invoke(app, ["--version"]).output.startswith("fluxgitops ")
    assert "Usage: " in runner.invoke(app, ["plan", "-h"]).output


def test_summary_is_readable() -> None:
    assert summary({"create": 2, "same": 5}, done=False) == "Resources: 2 to create, 5 unchanged."
    assert summary({"update": 1}, done=True) == "Resources: 1 updated."
    assert summary({"same": 3}, done=False) == "Resources: 3 unchanged."

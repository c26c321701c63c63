"""``fluxgitops validate``: file:line, paths by name, every error at once, plain messages,
warnings, and "valid" only when every requested check passed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fluxgitops_cli.app import app

runner = CliRunner()

BROKEN = """\
config:
  fluxgitops:clusters:
    - name: local
      backend: kubernets
      kubeconfg: x
      configurations:
        - name: team-a
          gitRepositry: {url: https://h/r.git}
          kustomizations: {a: {path: x, prun: true}}
        - name: web
          gitRepository: {url: ftp://x}
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A stack file with a mistyped backend and errors in two configurations."""
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(BROKEN)
    return path


def test_every_error_with_file_line_and_names(broken: Path) -> None:
    result = runner.invoke(app, ["validate", "-s", str(broken)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    text = " ".join(line.strip() for line in lines)
    assert text.startswith(
        f"{broken}: stack config is invalid (6 errors); nothing was applied, fix it and retry:"
    )
    assert f"{broken}:4: clusters[local].backend: must be 'kubernetes' or 'azure'" in text
    assert f"{broken}:11: clusters[local].configurations[web].gitRepository.url:" in text
    assert (
        f"{broken}:9: clusters[local].configurations[team-a].kustomizations.a.prun: is not a "
        "known field; did you mean 'prune'?"
    ) in text


def test_errors_snapshot_at_80_columns(
    broken: Path,
    testdata: Path,
    golden: Callable[[Path, str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(broken.parent)
    result = runner.invoke(app, ["validate", broken.name])
    assert all(len(line) <= 80 for line in result.output.splitlines())
    golden(testdata / "cli" / "validate-80.txt", result.output)


def test_empty_file_is_one_plain_line(tmp_path: Path) -> None:
    empty = tmp_path / "Pulumi.empty.yaml"
    empty.write_text("")
    result = runner.invoke(app, ["validate", str(empty)])
    assert result.exit_code == 1
    assert f"{empty}:1: is empty: a stack file has `config:`" in result.output.replace("\n", " ")
    assert "NoneType" not in result.output


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  fluxgitops:clusters:\n    - name: [unclosed\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{bad}:")
    assert "<unicode string>" not in result.output


def test_strict_source_failure_never_prints_valid(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("name: app\ngitRepository:\n  url: http://127.0.0.1:9/none.git\n")
    result = runner.invoke(app, ["validate", str(config), "--sources", "--strict"])
    assert result.exit_code == 1
    assert "valid" not in result.output.split(":")[0]
    assert not result.output.startswith("valid")


def test_warns_about_ssh_without_known_hosts_and_plain_secrets(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.warn.yaml"
    stack.write_text(
        "config:\n  fluxgitops:clusters:\n    - name: c1\n      configurations:\n"
        "        - name: ssh\n          gitRepository: {url: 'ssh://git@h/r.git'}\n"
        "        - name: https\n"
        "          gitRepository: {url: 'https://h/r.git', httpsUser: bot, "
        "httpsKey: hunter2-plain}\n"
    )
    result = runner.invoke(app, ["validate", str(stack)])
    assert result.exit_code == 0, result.output
    assert "warning: clusters[c1].configurations[ssh].gitRepository.sshKnownHosts: not set" in (
        result.output
    )
    assert (
        "warning: clusters[c1].configurations[https].gitRepository.httpsKey: a secret written "
        "in plain text in the stack file"
    ) in result.output
    assert "hunter2-plain" not in result.output


def test_a_stack_with_fleets_is_valid_with_every_expanded_configuration() -> None:
    prod = Path(__file__).parents[2] / "stacks" / "Pulumi.prod.yaml"
    result = runner.invoke(app, ["validate", str(prod)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid")

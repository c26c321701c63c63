"""``up`` / ``preview`` / ``status`` / ``local status`` when the cluster is not there: one line
that names the cluster and what to do, before Pulumi or a passphrase is involved."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fluxgitops_cli.app import app

runner = CliRunner()


@pytest.fixture
def stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack on ``kubeconfig: local`` while no local control plane runs (an empty local
    directory), and a private state directory."""
    monkeypatch.setenv("FLUXGITOPS_LOCAL_DIR", str(tmp_path / "local"))
    monkeypatch.setenv("FLUXGITOPS_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "local").mkdir()
    stack = tmp_path / "Pulumi.local.yaml"
    cluster = {"name": "local", "kubeconfig": "local", "configurations": []}
    stack.write_text(yaml.safe_dump({"config": {"fluxgitops:clusters": [cluster]}}))
    return stack


@pytest.mark.parametrize("command", [["up", "--yes"], ["preview"], ["refresh"], ["status"]])
def test_stopped_local_cluster_is_one_line_with_what_to_do(
    command: list[str], stopped: Path
) -> None:
    result = runner.invoke(app, [*command, "-s", str(stopped)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("stack 'local': cluster 'local' (")
    assert "start it with `fluxgitops local up`" in lines[0]
    assert "Traceback" not in result.output
    assert not (stopped.parent / "state" / ".pulumi").exists()  # nothing was run


def test_local_status_says_stopped(stopped: Path) -> None:
    result = runner.invoke(app, ["local", "status"])
    assert result.exit_code == 1
    assert result.output.startswith("stopped: no local process runs in")
    assert "`fluxgitops local up` starts it" in result.output

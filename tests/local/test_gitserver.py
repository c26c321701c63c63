"""The local Git server: real git clients fetch and push over HTTP on loopback, with basic auth."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from pathlib import Path

import pytest

from fluxgitops.local.gitserver import GitServer, port_or_free, record_url
from fluxgitops.localrefs import stack_placeholders
from tests.git_fixtures import GIT_TOKEN as TOKEN
from tests.git_fixtures import GIT_USER as USER


def git(
    *args: str, cwd: Path | None = None, header: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the git CLI, prompts off; ``header`` goes out as an extra HTTP header (via the env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    if header:
        env.update(
            GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader", GIT_CONFIG_VALUE_0=header
        )
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def basic(user: str, token: str) -> str:
    """An ``Authorization: Basic`` header for ``user``/``token``."""
    return "Authorization: Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


def child_pids() -> set[int]:
    """The live child processes of this test process."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(pid) for pid in text)
    return found


@pytest.fixture
def pushed(server: GitServer) -> str:
    """Repository ``demo`` on ``server`` with one commit on main, tag v1.0.0 and branch dev."""
    with server.work_tree("demo") as work:
        work.write({"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"})
        sha = work.commit("first")
        work.tag("v1.0.0", message="release")
        work.branch("dev").write({"dev.txt": "dev\n"}).commit("dev work")
        work.push()
    return sha


def test_server_listens_on_a_loopback_port(server: GitServer) -> None:
    assert server.port > 0
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    assert server.url("demo") == f"http://127.0.0.1:{server.port}/demo.git"


def test_clone_over_http_gets_the_pushed_commit(
    server: GitServer, pushed: str, tmp_path: Path
) -> None:
    done = git("clone", "--quiet", "--branch", "main", server.url("demo"), str(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    head = git("rev-parse", "HEAD", cwd=tmp_path / "c").stdout.strip()
    assert head == pushed
    assert (tmp_path / "c" / "deploy" / "cm.yaml").exists()


def test_ls_remote_lists_branches_and_annotated_tags(server: GitServer, pushed: str) -> None:
    refs = git("ls-remote", server.url("demo")).stdout
    assert f"{pushed}\trefs/heads/main" in refs
    assert "\trefs/heads/dev" in refs
    assert f"{pushed}\trefs/tags/v1.0.0^{{}}" in refs


def test_file_url_serves_the_same_repository(server: GitServer, pushed: str) -> None:
    refs = git("ls-remote", server.file_url("demo"), "refs/heads/main").stdout
    assert refs.split()[0] == pushed


def test_push_over_http_with_a_chunked_body_is_stored(
    server: GitServer, pushed: str, tmp_path: Path
) -> None:
    work = tmp_path / "c"
    assert git("clone", "--quiet", server.url("demo"), str(work)).returncode == 0
    (work / "big.bin").write_bytes(os.urandom(200_000))
    git("add", ".", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "big", cwd=work)
    done = git("-c", "http.postBuffer=1024", "push", "--quiet", "origin", "main", cwd=work)
    assert done.returncode == 0, done.stderr
    local = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert git("ls-remote", server.url("demo"), "refs/heads/main").stdout.split()[0] == local


def test_missing_repository_is_not_found(server: GitServer) -> None:
    done = git("ls-remote", server.url("nothing"))
    assert done.returncode != 0
    assert "not found" in done.stderr
    assert server.requests[-1].status == 404


def test_private_repository_refuses_clients_without_credentials(private_server: GitServer) -> None:
    private_server.create_repository("secret")
    done = git("ls-remote", private_server.url("secret"))
    assert done.returncode != 0
    assert [r.status for r in private_server.requests] == [401]


def test_private_repository_refuses_a_wrong_token(private_server: GitServer) -> None:
    private_server.create_repository("secret")
    done = git("ls-remote", private_server.url("secret"), header=basic(USER, "wrong"))
    assert done.returncode != 0
    assert private_server.requests[-1].status == 401


def test_private_repository_serves_the_right_token(private_server: GitServer) -> None:
    with private_server.work_tree("secret") as work:
        sha = work.write({"a.yaml": "a: 1\n"}).commit("one")
        work.push()
    done = git("ls-remote", private_server.url("secret"), header=basic(USER, TOKEN))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == sha
    assert {r.user for r in private_server.requests} == {USER}


def test_repr_and_request_log_hide_the_token(private_server: GitServer) -> None:
    private_server.create_repository("secret")
    git("ls-remote", private_server.url("secret"), header=basic(USER, TOKEN))
    assert TOKEN not in repr(private_server)
    assert TOKEN not in repr(private_server.requests)
    assert "[secret]" in repr(private_server)


def test_auth_needs_user_and_token_together() -> None:
    with pytest.raises(ValueError, match="both user and token"):
        GitServer(user=USER)


def test_work_tree_commits_tags_and_branches(server: GitServer) -> None:
    with server.work_tree("flow") as work:
        first = work.write({"a": "1"}).commit("a")
        work.tag("v0.1.0")
        second = work.write({"a": "2"}).commit("b")
        work.branch("feature").remove("a").commit("c")
        work.checkout("main").push()
    refs = git("ls-remote", server.url("flow")).stdout
    assert f"{first}\trefs/tags/v0.1.0" in refs
    assert f"{second}\trefs/heads/main" in refs
    assert "\trefs/heads/feature" in refs


def test_stop_leaves_no_thread_process_or_temp_root(tmp_path: Path) -> None:
    threads_before = set(threading.enumerate())
    children_before = child_pids()
    server = GitServer().start()
    root = server.root
    server.create_repository("r")
    git("ls-remote", server.url("r"))
    server.stop()
    assert set(threading.enumerate()) <= threads_before
    assert child_pids() <= children_before
    assert not root.exists()
    assert server.port == 0


def test_given_root_is_kept_after_stop(tmp_path: Path) -> None:
    with GitServer(tmp_path / "repos") as server:
        server.create_repository("kept")
    assert (tmp_path / "repos" / "kept.git" / "HEAD").exists()


def test_publish_seeds_a_repository_from_a_directory(server: GitServer, tmp_path: Path) -> None:
    source = tmp_path / "repo"
    (source / "apps").mkdir(parents=True)
    (source / "apps" / "cm.yaml").write_text("kind: ConfigMap\n")
    sha = server.publish("seeded", source)
    clone = tmp_path / "clone"
    assert git("clone", "-q", server.url("seeded"), str(clone)).returncode == 0
    assert (clone / "apps" / "cm.yaml").read_text() == "kind: ConfigMap\n"
    assert git("rev-parse", "HEAD", cwd=clone).stdout.strip() == sha


def test_publish_again_without_changes_keeps_the_commit(server: GitServer, tmp_path: Path) -> None:
    source = tmp_path / "repo"
    source.mkdir()
    (source / "a.yaml").write_text("a: 1\n")
    assert server.publish("same", source) == server.publish("same", source)


def test_publish_commits_changes_and_removals(server: GitServer, tmp_path: Path) -> None:
    source = tmp_path / "repo"
    source.mkdir()
    (source / "a.yaml").write_text("a: 1\n")
    (source / "b.yaml").write_text("b: 1\n")
    first = server.publish("moving", source)
    (source / "b.yaml").unlink()
    second = server.publish("moving", source)
    assert second != first
    listed = git("ls-tree", "--name-only", "main", cwd=server.path("moving")).stdout.split()
    assert listed == ["a.yaml"]


def test_publish_of_a_missing_directory_names_it(server: GitServer, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        server.publish("nothing", tmp_path / "missing")


def test_server_binds_the_requested_port(tmp_path: Path) -> None:
    port = port_or_free(0)
    with GitServer(tmp_path / "root", port=port) as fixed:
        assert fixed.port == port
        assert port_or_free(port) != port  # taken now: another one is offered


def test_stack_placeholders_follow_the_recorded_url(tmp_path: Path) -> None:
    assert stack_placeholders(tmp_path) == {"local.git": "http://127.0.0.1:8479"}
    record_url(tmp_path, "http://127.0.0.1:9999")
    assert stack_placeholders(tmp_path) == {"local.git": "http://127.0.0.1:9999"}

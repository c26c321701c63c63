"""Source checks against real Git repositories the tests create, over file:// and loopback HTTP.

SSH is covered only up to the command git would run (key file, known_hosts,
cleanup): this machine has no ``sshd`` to serve a repository over SSH.
"""

from __future__ import annotations

import logging
import socket
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from fluxgitops.errors import SourceCheckError, SourceUnavailableError
from fluxgitops.local.gitserver import GitServer
from fluxgitops.sourcecheck import (
    SourceChecker,
    _Git,
    check_source,
    split_url,
)
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration, parse_extension
from tests.git_fixtures import GIT_TOKEN as TOKEN
from tests.git_fixtures import GIT_USER as USER
from tests.keys import KNOWN_HOSTS, SSH_KEY, SSH_KEY_BODY
from tests.test_tenancy import SEED_CORRECTED, SEED_RELEASE, SEED_REPOSITORY, current

NAMESPACE = "cluster-config"
Url = Callable[[str], str]
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\n"


def configuration(
    url: str,
    ref: Mapping[str, str] | None = None,
    kustomizations: Mapping[str, Any] | None = None,
    **git: Any,
) -> FluxConfigurationSpec:
    """A valid spec for ``url`` (set after validation, which accepts no file:// URL)."""
    raw: dict[str, Any] = {
        "name": "fleet",
        "namespace": NAMESPACE,
        "gitRepository": {
            "url": "https://placeholder.invalid/fleet.git",
            "repositoryRef": dict(ref or {"branch": "main"}),
            **git,
        },
        "kustomizations": dict(kustomizations or {"apps": {"path": "apps"}}),
    }
    spec = parse_configuration(raw)
    assert spec.git_repository is not None
    source = spec.git_repository.model_copy(update={"url": url})
    return spec.model_copy(update={"git_repository": source})


def child_pids() -> set[int]:
    """The live child processes of this test process."""
    tasks = Path("/proc/self/task").iterdir()
    return {int(pid) for task in tasks for pid in (task / "children").read_text().split()}


def publish(server: GitServer, name: str, files: Mapping[str, str], *tags: str) -> str:
    """Commit ``files`` to main of repository ``name``, tag the commit, push; return its SHA."""
    with server.work_tree(name) as work:
        sha = work.write(files).commit(f"publish {sorted(files)}")
        for tag in tags:
            work.tag(tag)
        work.push()
    return sha


@pytest.fixture(params=["file", "http"])
def url_of(request: pytest.FixtureRequest, server: GitServer) -> Url:
    """Repository name → its file:// or http:// URL on ``server`` (each test runs with both)."""
    return server.file_url if request.param == "file" else server.url


# ------------------------------------------------------------------ refs


def test_branch_resolves_to_the_pushed_commit(server: GitServer, url_of: Url) -> None:
    sha = publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    report = check_source(configuration(url_of("fleet")))
    assert (report.commit, report.ref, report.checked) == (sha, "branch 'main'", True)
    assert (report.paths, report.manifests, report.errors) == (("apps",), 1, ())


def test_missing_branch_is_an_error_naming_branch_and_url(server: GitServer, url_of: Url) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    url = url_of("fleet")
    with pytest.raises(SourceCheckError) as info:
        check_source(configuration(url, {"branch": "release-9"}))
    assert info.value.paths == ["gitRepository.repositoryRef.branch"]
    assert f"branch 'release-9' does not exist in {url}" in str(info.value)
    assert info.value.report.commit is None


def test_missing_branch_suggests_the_closest_one(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    with pytest.raises(SourceCheckError, match="did you mean 'main'"):
        check_source(configuration(server.url("fleet"), {"branch": "mian"}))


def test_semver_range_picks_the_highest_matching_tag(server: GitServer, url_of: Url) -> None:
    with server.work_tree("fleet") as work:
        shas = {}
        for tag in ("v1.0.0", "v1.2.0", "v1.10.0", "v1.11.0-rc.1", "v2.0.0"):
            shas[tag] = work.write({"apps/cm.yaml": CONFIGMAP + f"# {tag}\n"}).commit(tag)
            work.tag(tag, message=f"release {tag}" if tag == "v1.10.0" else None)
        work.push()
    report = check_source(configuration(url_of("fleet"), {"semver": ">=1.0.0 <2.0.0"}))
    assert report.ref == "semver '>=1.0.0 <2.0.0' → tag 'v1.10.0'"
    assert report.commit == shas["v1.10.0"]


def test_semver_range_without_a_match_lists_the_tags(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP}, "v1.0.0", "v1.1.0")
    with pytest.raises(SourceCheckError) as info:
        check_source(configuration(server.url("fleet"), {"semver": "^3.0.0"}))
    assert info.value.paths == ["gitRepository.repositoryRef.semver"]
    assert "tags there: v1.0.0, v1.1.0" in str(info.value)


def test_tag_resolves_to_its_commit(server: GitServer) -> None:
    sha = publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP}, "stable")
    publish(server, "fleet", {"apps/other.yaml": CONFIGMAP})
    assert check_source(configuration(server.url("fleet"), {"tag": "stable"})).commit == sha


def test_missing_tag_is_an_error(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP}, "v1.0.0")
    with pytest.raises(SourceCheckError, match=r"tag 'v9\.9\.9' does not exist in http://"):
        check_source(configuration(server.url("fleet"), {"tag": "v9.9.9"}))


def test_pinned_commit_is_fetched_shallowly_and_reported(server: GitServer, url_of: Url) -> None:
    old = publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    publish(server, "fleet", {"apps/removed-later.yaml": CONFIGMAP})
    report = check_source(configuration(url_of("fleet"), {"commit": old}))
    assert (report.commit, report.manifests) == (old, 1)


def test_missing_commit_is_an_error(server: GitServer, url_of: Url) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    with pytest.raises(SourceCheckError) as info:
        check_source(configuration(url_of("fleet"), {"commit": "0" * 40}))
    assert info.value.paths == ["gitRepository.repositoryRef.commit"]
    assert "commit does not exist in" in str(info.value)


def test_missing_repository_is_an_error_on_the_url(server: GitServer) -> None:
    with pytest.raises(SourceCheckError) as info:
        check_source(configuration(server.url("nothing")))
    assert info.value.paths == ["gitRepository.url"]


# ------------------------------------------------------------------ paths


def test_missing_path_is_an_error_naming_path_and_commit(server: GitServer, url_of: Url) -> None:
    sha = publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    spec = configuration(url_of("fleet"), kustomizations={"infra": {"path": "./infrastructure"}})
    with pytest.raises(SourceCheckError) as info:
        check_source(spec)
    assert info.value.paths == ["kustomizations.infra.path"]
    assert f"directory 'infrastructure' does not exist at commit {sha}" in str(info.value)


def test_every_missing_path_is_reported_at_once(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP, "file.yaml": CONFIGMAP})
    kustomizations = {"a": {"path": "apps"}, "b": {"path": "nope"}, "c": {"path": "file.yaml"}}
    with pytest.raises(SourceCheckError) as info:
        check_source(configuration(server.url("fleet"), kustomizations=kustomizations))
    assert info.value.paths == ["kustomizations.b.path", "kustomizations.c.path"]
    assert "'file.yaml' is a file, not a directory" in str(info.value)


def test_repository_root_is_a_valid_path(server: GitServer) -> None:
    publish(server, "fleet", {"cm.yaml": CONFIGMAP})
    report = check_source(configuration(server.url("fleet"), kustomizations={"root": {}}))
    assert (report.paths, report.manifests) == ((".",), 1)


# ------------------------------------------------------------------ tenancy


def test_cross_namespace_helmrelease_is_flagged_with_the_fix(
    server: GitServer, url_of: Url
) -> None:
    publish(
        server,
        "fleet",
        {
            "apps/nginx/release.yaml": current(SEED_RELEASE),
            "infrastructure/sources/bitnami.yaml": current(SEED_REPOSITORY),
        },
    )
    kustomizations = {
        "infra": {"path": "infrastructure"},
        "apps": {"path": "apps", "dependsOn": ["infra"]},
    }
    with pytest.raises(SourceCheckError) as info:
        check_source(configuration(url_of("fleet"), kustomizations=kustomizations))
    report = info.value.report
    assert [(f.file, f.line, f.rule, f.severity) for f in report.findings] == [
        ("apps/nginx/release.yaml", 5, "namespace-mismatch", "error"),
        ("apps/nginx/release.yaml", 14, "cross-namespace-source-ref", "error"),
        ("infrastructure/sources/bitnami.yaml", 5, "namespace-mismatch", "warning"),
    ]
    assert info.value.paths == ["kustomizations.apps.path", "kustomizations.apps.path"]
    message = str(info.value)
    assert (
        "move the object to namespace 'cluster-config' and set spec.targetNamespace: nginx"
        in message
    )
    assert "move HelmRepository 'bitnami' to namespace 'cluster-config'" in message
    assert any("HelmRepository/flux-system/bitnami" in w for w in report.warnings)


def test_corrected_helmrelease_passes(server: GitServer, url_of: Url) -> None:
    sha = publish(
        server,
        "fleet",
        {
            "apps/nginx/release.yaml": current(SEED_CORRECTED),
            "apps/nginx/bitnami.yaml": current(SEED_REPOSITORY).replace("flux-system", NAMESPACE),
        },
    )
    report = check_source(configuration(url_of("fleet")))
    assert (report.commit, report.manifests, report.findings, report.errors) == (sha, 2, (), ())


def test_tenancy_rules_are_off_when_the_extension_does_not_enforce_them(server: GitServer) -> None:
    publish(server, "fleet", {"apps/release.yaml": current(SEED_RELEASE)})
    extension = parse_extension({"multiTenancy": {"enforce": False}})
    report = check_source(configuration(server.url("fleet")), extension)
    assert (report.findings, report.errors) == ((), ())


def test_removed_api_versions_fail_even_without_multi_tenancy(server: GitServer) -> None:
    publish(server, "fleet", {"apps/release.yaml": SEED_RELEASE})
    extension = parse_extension({"multiTenancy": {"enforce": False}})
    with pytest.raises(SourceCheckError, match=r"helm\.toolkit\.fluxcd\.io/v2beta1 HelmRelease"):
        check_source(configuration(server.url("fleet")), extension)


def test_kustomization_yaml_resources_are_followed(server: GitServer) -> None:
    publish(
        server,
        "fleet",
        {
            "apps/prod/kustomization.yaml": "resources:\n  - ../base\n",
            "apps/base/kustomization.yaml": "resources: [release.yaml]\n",
            "apps/base/release.yaml": current(SEED_RELEASE),
            "apps/base/not-listed.yaml": "apiVersion: [broken\n",
        },
    )
    spec = configuration(server.url("fleet"), kustomizations={"prod": {"path": "apps/prod"}})
    with pytest.raises(SourceCheckError) as info:
        check_source(spec)
    assert {(f.file, f.rule) for f in info.value.report.findings} == {
        ("apps/base/release.yaml", "namespace-mismatch"),
        ("apps/base/release.yaml", "cross-namespace-source-ref"),
    }


# ------------------------------------------------------------------ private HTTPS


def test_private_repository_with_the_token_works(private_server: GitServer) -> None:
    sha = publish(private_server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    spec = configuration(private_server.url("fleet"), httpsUser=USER, httpsKey=TOKEN)
    assert check_source(spec).commit == sha
    assert {r.user for r in private_server.requests if r.status == 200} == {USER}


def test_private_repository_without_a_token_fails(private_server: GitServer) -> None:
    publish(private_server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    with pytest.raises(SourceCheckError) as info:
        check_source(configuration(private_server.url("fleet")))
    assert info.value.paths == ["gitRepository.httpsKey"]
    assert "credentials are required by" in str(info.value)


def test_private_repository_with_a_wrong_token_fails(private_server: GitServer) -> None:
    publish(private_server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    spec = configuration(private_server.url("fleet"), httpsUser=USER, httpsKey="not-it")
    with pytest.raises(SourceCheckError, match="credentials were rejected by"):
        check_source(spec)


def test_token_appears_in_no_output_log_or_exception(
    private_server: GitServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    publish(private_server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    url = private_server.url("fleet")
    good = configuration(url, httpsUser=USER, httpsKey=TOKEN)
    in_url = configuration(url.replace("http://", f"http://{USER}:{TOKEN}@"))
    missing = configuration(url, {"branch": "nope"}, httpsUser=USER, httpsKey=TOKEN)
    seen = [repr(check_source(good)), repr(check_source(in_url)), repr(good)]
    with pytest.raises(SourceCheckError) as info:
        check_source(missing)
    seen += [str(info.value), repr(info.value), repr(info.value.report)]
    out, err = capsys.readouterr()
    assert TOKEN not in "\n".join([*seen, caplog.text, out, err])
    assert "fleet.git" in caplog.text  # the log did record the checks


def test_credentials_in_the_url_are_used_and_never_shown(private_server: GitServer) -> None:
    sha = publish(private_server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    url = private_server.url("fleet").replace("http://", f"http://{USER}:{TOKEN}@")
    report = check_source(configuration(url))
    assert (report.commit, report.url) == (sha, private_server.url("fleet"))


def test_local_auth_ref_makes_an_auth_failure_a_warning(private_server: GitServer) -> None:
    private_server.create_repository("fleet")
    spec = configuration(private_server.url("fleet"), localAuthRef="fleet-credentials")
    report = check_source(spec)
    assert (report.checked, report.errors) == (False, ())
    assert "credentials held in the cluster" in report.warnings[0]


# ------------------------------------------------------------------ reachability, cache, cleanup


def test_unreachable_source_is_a_warning_by_default() -> None:
    report = check_source(configuration("http://127.0.0.1:9/fleet.git"), timeout=10)
    assert (report.checked, report.errors) == (False, ())
    assert "http://127.0.0.1:9/fleet.git is unreachable" in report.warnings[0]


def test_unreachable_source_is_an_error_when_strict() -> None:
    with pytest.raises(SourceUnavailableError, match="unreachable"):
        check_source(configuration("http://127.0.0.1:9/fleet.git"), strict=True, timeout=10)


def test_silent_server_hits_the_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/fleet.git"
        report = check_source(configuration(url), timeout=1)
    assert "no answer within 1s" in report.warnings[0]


def test_offline_skips_the_network() -> None:
    report = check_source(configuration("http://127.0.0.1:9/fleet.git"), offline=True, strict=True)
    assert (report.checked, report.warnings) == (False, ("offline: source not checked",))


def test_non_git_sources_are_not_checked() -> None:
    spec = parse_configuration(
        {
            "name": "blobs",
            "sourceKind": "Bucket",
            "bucket": {"url": "https://s3.example.com", "bucketName": "manifests"},
        }
    )
    report = check_source(spec)
    assert report.warnings == ("source checks cover gitRepository only; Bucket not checked",)


def test_results_are_cached_per_url_and_ref_within_a_run(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP, "infra/cm.yaml": CONFIGMAP})
    with SourceChecker() as checker:
        first = checker.check(configuration(server.url("fleet")))
        requests = len(server.requests)
        other_paths = configuration(server.url("fleet"), kustomizations={"i": {"path": "infra"}})
        second = checker.check(other_paths)
    assert len(server.requests) == requests
    assert first.commit == second.commit


def test_cached_results_are_not_shared_across_credentials(private_server: GitServer) -> None:
    publish(private_server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    url = private_server.url("fleet")
    with SourceChecker() as checker:
        checker.check(configuration(url, httpsUser=USER, httpsKey=TOKEN))
        with pytest.raises(SourceCheckError, match="credentials were rejected"):
            checker.check(configuration(url, httpsUser=USER, httpsKey="stale"))


def test_a_new_run_sees_new_commits(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    check_source(configuration(server.url("fleet")))
    newer = publish(server, "fleet", {"apps/more.yaml": CONFIGMAP})
    assert check_source(configuration(server.url("fleet"))).commit == newer


def test_a_check_leaves_no_process_behind(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    before = child_pids()
    check_source(configuration(server.url("fleet")))
    assert child_pids() <= before


def test_closing_the_run_removes_its_files(server: GitServer) -> None:
    publish(server, "fleet", {"apps/cm.yaml": CONFIGMAP})
    checker = SourceChecker()
    checker.check(configuration(server.url("fleet")))
    workdir = checker._workdir
    assert any(workdir.iterdir())
    checker.close()
    assert not workdir.exists()


# ------------------------------------------------------------------ SSH (no sshd here)


def test_ssh_key_goes_to_a_private_file_that_is_removed(tmp_path: Path) -> None:
    key = SSH_KEY
    spec = parse_configuration(
        {
            "name": "fleet",
            "gitRepository": {
                "url": "ssh://git@127.0.0.1:9/fleet.git",
                "sshPrivateKey": key,
                "sshKnownHosts": KNOWN_HOSTS.replace("github.com", "127.0.0.1"),
            },
        }
    )
    assert spec.git_repository is not None
    runner = _Git(spec.git_repository, tmp_path, timeout=5)
    command = runner.env["GIT_SSH_COMMAND"]
    identity = Path(command.split("-i ")[1].split()[0])
    assert stat.S_IMODE(identity.stat().st_mode) == 0o600
    assert identity.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert "StrictHostKeyChecking=yes" in command
    assert "UserKnownHostsFile=" in command
    assert SSH_KEY_BODY not in command + repr(runner)
    assert runner.scrub(f"echo {SSH_KEY_BODY}") == "echo [secret]"
    runner.cleanup()
    assert not identity.exists()


def test_unreachable_ssh_source_leaves_no_key_behind(tmp_path: Path) -> None:
    spec = parse_configuration(
        {
            "name": "fleet",
            "gitRepository": {"url": "ssh://git@127.0.0.1:9/fleet.git", "sshPrivateKey": SSH_KEY},
        }
    )
    with SourceChecker(timeout=10) as checker:
        report = checker.check(spec)
        assert not list(checker._workdir.rglob("identity"))
    assert "unreachable" in report.warnings[0]
    assert "k" * 40 not in repr(report)


def test_split_url_drops_https_credentials_and_keeps_the_ssh_user() -> None:
    assert split_url("https://u:p@host/r.git") == ("https://host/r.git", "u", "p")
    assert split_url("ssh://git@host/r.git") == ("ssh://git@host/r.git", "git", None)
    assert split_url("file:///srv/r.git") == ("file:///srv/r.git", None, None)

"""A local Git server on loopback for tests: ``git http-backend`` behind a stdlib HTTP server.

Serves the bare repositories under one root directory over smart HTTP (protocol v0
and v2, fetch and push) on a free ``127.0.0.1`` port, from a background thread.
The CGI program is the system git's own ``git http-backend``, so clients talk to
real Git, not to a fake. Optional HTTP basic auth (one user and token) makes a
private repository, so credential handling can be tested; the token never
appears in a repr, a log line or the request log. ``create_repository`` makes a
bare repository and ``work_tree`` gives a ``WorkTree`` that commits, tags,
branches and pushes to it (through the file system, so tests need no
credentials to seed a private repository).

``publish`` seeds (or updates) a repository from a plain directory — the
example GitOps repository under ``examples/gitops-repo`` — with one commit per
change. ``python -m fluxgitops.local.gitserver --port P --publish
gitops=examples/gitops-repo`` serves in the foreground until SIGTERM: ``fluxgitops
local up`` starts it that way (fixed default port ``DEFAULT_PORT``, a free one when
taken) and records its URL in ``<local dir>/git.json``; ``fluxgitops.localrefs``
reads it back (``${local.git}`` in stack files).

Called by the source-check tests (``tests/test_sourcecheck.py``), the server's
own tests, the local control-plane tests and the end-to-end tests where a Flux
GitRepository must reach a repository on this machine, and by ``local up``.
Shutdown joins every request thread and the serving thread; no ``git
http-backend`` outlives its request.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import ClassVar
from urllib.parse import unquote, urlsplit

import git

from fluxgitops.localrefs import GIT_STATE_FILE
from fluxgitops.stack import LOCAL_GIT_PORT

log = logging.getLogger(__name__)

DEFAULT_BRANCH = "main"
REALM = "fluxgitops-test"
DEFAULT_PORT = LOCAL_GIT_PORT
"""The port ``fluxgitops local up`` serves Git on when it is free (stable URLs across runs)."""
"""Where ``local up`` records the running server's URL, in the local control plane's directory."""
EXAMPLE_REPOSITORY = "gitops"
"""The name the example GitOps repository is published under."""


@dataclass(frozen=True)
class Request:
    """One request the server answered: method, path, status, authenticated user."""

    method: str
    path: str
    status: int
    user: str | None


class _Server(ThreadingHTTPServer):
    """Threading HTTP server whose request threads are joined on close."""

    daemon_threads = False
    block_on_close = True
    git_server: GitServer


class _Handler(BaseHTTPRequestHandler):
    """Runs ``git http-backend`` as CGI for each request; checks basic auth first."""

    server: _Server
    timeout = 30
    server_version = "fluxgitops-gitserver/1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("git server: " + format, *args)

    def _serve(self) -> None:
        owner = self.server.git_server
        allowed, user = owner._authenticate(self.headers.get("Authorization"))
        if not allowed:
            self._reply_unauthorized()
            return
        body = self._read_body()
        status, headers, payload = owner._run_backend(
            method=self.command,
            target=self.path,
            body=body,
            user=user,
            request_headers={k.lower(): v for k, v in self.headers.items()},
            client=self.client_address[0],
        )
        # recorded before the reply: a client that has its answer finds its request listed
        owner._record(Request(self.command, urlsplit(self.path).path, status, user))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reply_unauthorized(self) -> None:
        payload = b"authentication required\n"
        self.server.git_server._record(Request(self.command, urlsplit(self.path).path, 401, None))
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Basic realm="{REALM}"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class GitServer:
    """Smart-HTTP Git server for the bare repositories under ``root`` (a temp dir if None).

    Use as a context manager, or call ``start`` and ``stop``. With ``user`` and
    ``token`` every request needs HTTP basic auth with exactly that pair.
    """

    _BACKEND_TIMEOUT: ClassVar[float] = 60.0

    def __init__(
        self,
        root: Path | None = None,
        *,
        user: str | None = None,
        token: str | None = None,
        port: int = 0,
    ) -> None:
        if (user is None) != (token is None):
            raise ValueError("GitServer needs both user and token for basic auth, or neither")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fluxgitops-git-")
            root = Path(self._tmp.name)
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.__token = token
        self.requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: list[Request] = []

    def __repr__(self) -> str:
        auth = f"user={self.user!r}, token=[secret]" if self.user else "no auth"
        return f"GitServer(root={str(self.root)!r}, port={self.port}, {auth})"

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (0 until started)."""
        return self._server.server_address[1] if self._server else 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GitServer:
        """Bind the requested loopback port (a free one when 0) and serve from a thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self.requested_port), _Handler)
        server.git_server = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fluxgitops-git"
        )
        self._thread.start()
        log.debug("git server serving %s on %s", self.root, self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, join every thread, close the socket, remove a temp root."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> GitServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ repositories

    def path(self, name: str) -> Path:
        """The bare repository ``<root>/<name>.git``."""
        return self.root / f"{name}.git"

    def url(self, name: str) -> str:
        """The HTTP URL of repository ``name`` (no credentials in it)."""
        return f"{self.base_url}/{name}.git"

    def file_url(self, name: str) -> str:
        """The ``file://`` URL of repository ``name``."""
        return self.path(name).as_uri()

    def create_repository(self, name: str) -> Path:
        """Create an empty bare repository that accepts pushes over HTTP; return its path."""
        path = self.path(name)
        repo = git.Repo.init(path, bare=True, mkdir=True, initial_branch=DEFAULT_BRANCH)
        try:
            with repo.config_writer() as config:
                config.set_value("http", "receivepack", "true")
        finally:
            repo.close()
        return path

    def work_tree(self, name: str, path: Path | None = None) -> WorkTree:
        """A work tree whose ``origin`` is repository ``name`` (created if missing)."""
        if not self.path(name).exists():
            self.create_repository(name)
        if path is None:
            path = self.root / "_work" / name
        return WorkTree(path, str(self.path(name)))

    def publish(self, name: str, directory: Path) -> str:
        """Make repository ``name`` hold exactly the files of ``directory`` on ``main``.

        The first call creates the repository; later calls commit only when
        something changed (so re-publishing keeps the commit). Returns the commit SHA.
        """
        if not directory.is_dir():
            raise FileNotFoundError(f"cannot publish {str(directory)!r}: not a directory")
        with self.work_tree(name, self.root / "_publish" / name) as tree:
            tree.repo.git.fetch("origin")
            if f"origin/{DEFAULT_BRANCH}" in [ref.name for ref in tree.repo.remotes.origin.refs]:
                tree.repo.git.reset("--soft", f"origin/{DEFAULT_BRANCH}")  # others may have pushed
            for entry in tree.path.iterdir():
                if entry.name == ".git":
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            shutil.copytree(directory, tree.path, dirs_exist_ok=True)
            tree.repo.git.add(all=True)
            if (
                tree.repo.is_dirty(index=True, untracked_files=True)
                or not tree.repo.head.is_valid()
            ):
                tree.repo.git.commit(message=f"publish {directory.name}", allow_empty=True)
            tree.push(DEFAULT_BRANCH)
            return tree.repo.head.commit.hexsha

    @property
    def requests(self) -> list[Request]:
        """Every request answered so far (method, path, status, user), oldest first."""
        with self._lock:
            return list(self._requests)

    # ------------------------------------------------------------ request handling

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _authenticate(self, header: str | None) -> tuple[bool, str | None]:
        """(allowed, authenticated user); always allowed when no auth is configured."""
        if self.user is None or self.__token is None:
            return True, None
        if not header or not header.startswith("Basic "):
            return False, None
        try:
            user, _, token = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False, None
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_token = hmac.compare_digest(token.encode(), self.__token.encode())
        return (True, user) if ok_user and ok_token else (False, None)

    def _run_backend(
        self,
        *,
        method: str,
        target: str,
        body: bytes,
        user: str | None,
        request_headers: Mapping[str, str],
        client: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(target)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": method,
            "PATH_INFO": unquote(parts.path),
            "QUERY_STRING": parts.query,
            "REMOTE_ADDR": client,
            "CONTENT_LENGTH": str(len(body)),
        }
        if "content-type" in request_headers:
            env["CONTENT_TYPE"] = request_headers["content-type"]
        if "content-encoding" in request_headers:
            env["HTTP_CONTENT_ENCODING"] = request_headers["content-encoding"]
        if "git-protocol" in request_headers:
            env["GIT_PROTOCOL"] = request_headers["git-protocol"]
        if user:
            env["REMOTE_USER"] = user
        try:
            done = subprocess.run(
                ["git", "http-backend"],
                input=body,
                env=env,
                capture_output=True,
                timeout=self._BACKEND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return 504, [("Content-Type", "text/plain")], b"git http-backend timed out\n"
        if done.stderr:
            log.debug("git http-backend: %s", done.stderr.decode(errors="replace").strip())
        return _parse_cgi(done.stdout)


def _parse_cgi(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Split a CGI response into status, headers and body."""
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = output.partition(b"\n\n")
    if not sep:
        return 502, [("Content-Type", "text/plain")], b"git http-backend gave no headers\n"
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name.lower() != "content-length":
            headers.append((name.strip(), value.strip()))
    return status, headers, body


def port_or_free(port: int = DEFAULT_PORT) -> int:
    """``port`` when nothing listens on it on 127.0.0.1, else a free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


def record_url(workdir: Path, url: str) -> None:
    """Write the running server's base URL to ``<workdir>/git.json`` (read by ``localrefs``)."""
    (workdir / GIT_STATE_FILE).write_text(json.dumps({"url": url}))


class WorkTree:
    """A non-bare repository used to make commits and push them to a bare ``remote``."""

    def __init__(self, path: Path, remote: str, branch: str = DEFAULT_BRANCH) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.repo = git.Repo.init(path, initial_branch=branch)
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "fluxgitops tests")
            config.set_value("user", "email", "tests@fluxgitops.invalid")
            config.set_value("commit", "gpgsign", "false")
            config.set_value("tag", "gpgsign", "false")
        if "origin" not in [r.name for r in self.repo.remotes]:
            self.repo.create_remote("origin", remote)

    def write(self, files: Mapping[str, str | bytes]) -> WorkTree:
        """Write ``{relative path: content}`` into the work tree (parents created)."""
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        return self

    def remove(self, *names: str) -> WorkTree:
        """Delete files from the work tree (recorded by the next ``commit``)."""
        for name in names:
            (self.path / name).unlink()
        return self

    def commit(self, message: str = "change") -> str:
        """Stage everything and commit; return the commit SHA."""
        self.repo.git.add(all=True)
        self.repo.git.commit(message=message, allow_empty=True)
        return self.repo.head.commit.hexsha

    def tag(self, name: str, message: str | None = None) -> str:
        """Tag HEAD (annotated when ``message`` is given); return the tagged commit SHA."""
        if message is None:
            self.repo.git.tag(name)
        else:
            self.repo.git.tag(name, annotate=True, message=message)
        return self.repo.head.commit.hexsha

    def branch(self, name: str) -> WorkTree:
        """Create branch ``name`` at HEAD and switch to it."""
        self.repo.git.checkout(b=name)
        return self

    def checkout(self, name: str) -> WorkTree:
        """Switch to an existing branch."""
        self.repo.git.checkout(name)
        return self

    def push(self, *refspecs: str) -> WorkTree:
        """Push ``refspecs``, or every branch and tag when none is given."""
        if refspecs:
            self.repo.git.push("origin", *refspecs)
        else:
            self.repo.git.push("origin", all=True)
            self.repo.git.push("origin", tags=True)
        return self

    def close(self) -> None:
        """Stop GitPython's helper processes."""
        self.repo.close()

    def __enter__(self) -> WorkTree:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    """Serve ``--root`` on ``--port`` in the foreground, publishing ``NAME=DIR`` pairs first."""
    parser = argparse.ArgumentParser(prog="python -m fluxgitops.local.gitserver")
    parser.add_argument("--root", type=Path, required=True, help="where the bare repositories live")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--publish", action="append", default=[], metavar="NAME=DIR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = GitServer(args.root, port=args.port)
    for pair in args.publish:
        name, _, directory = pair.partition("=")
        commit = server.publish(name, Path(directory))
        log.info("published %s as %s at %s", directory, name, commit)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with server:
        log.info("serving %s on %s", args.root, server.base_url)
        stop.wait()


if __name__ == "__main__":
    main()

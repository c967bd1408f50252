"""A stand-in for the Hugging Face Hub, served on 127.0.0.1, for download tests with the real client.

``hf_hub_download`` (huggingface_hub 0.24 - 2.x, ``file_download.py``) makes two requests for a file not
yet cached: ``HEAD {endpoint}/{repo_id}/resolve/{revision}/{filename}``, whose ``X-Repo-Commit`` (commit
hash, required), ``ETag`` (the blob's name in the cache, required) and ``Content-Length`` headers it
reads, then ``GET`` on the same URL for the bytes. A missing file is a 404 with ``X-Error-Code:
EntryNotFound``; an unknown repository a 404 with ``RepositoryNotFound``. That is all this server speaks.
It listens on a random free loopback port, and shuts itself down after ``lifetime`` seconds at the latest.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$")


class FakeHub:
    def __init__(self, lifetime: float = 60.0):
        self.files: dict[tuple[str, str, str], bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self._lifetime = lifetime
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    def add(self, repo_id: str, filename: str, data: bytes, revision: str = "main") -> None:
        self.files[(repo_id, unquote(revision), filename)] = data

    @staticmethod
    def commit_of(repo_id: str, revision: str) -> str:
        return hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a stalled client cannot hold a handler thread for longer

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                hub.requests.append((self.command, self.path))
                match = _RESOLVE.match(self.path.split("?")[0])
                if match is None:
                    return self._error(404, "RepositoryNotFound")
                repo, revision = unquote(match["repo"]), unquote(match["revision"])
                filename = unquote(match["filename"])
                if not any(key[0] == repo for key in hub.files):
                    return self._error(404, "RepositoryNotFound")
                data = hub.files.get((repo, revision, filename))
                if data is None:
                    return self._error(404, "EntryNotFound", commit=hub.commit_of(repo, revision))
                self.send_response(200)
                self.send_header("X-Repo-Commit", hub.commit_of(repo, revision))
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _error(self, status: int, code: str, commit: str | None = None) -> None:
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                if commit:
                    self.send_header("X-Repo-Commit", commit)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        watchdog = threading.Timer(self._lifetime, self._server.shutdown)
        watchdog.daemon = True
        self._threads = [serve, watchdog]
        serve.start()
        watchdog.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._threads[1].cancel()
        self._server.shutdown()
        self._server.server_close()
        self._threads[0].join(timeout=5)

"""The loopback server: the same fake API over real HTTP, for ``bidagent sandbox serve``.

Owns only the adaptation of ``http.server`` (stdlib, threaded) to :meth:`FakeAdsApi.dispatch`.
The token endpoint and report downloads live on the same host and port, so the client is pointed
at one base URL. A "timeout after apply" holds the reply back longer than the client waits, then
drops the connection. It must not contain API logic.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import httpx

from bidagent.sandbox.api import FakeAdsApi
from bidagent.sandbox.faults import FaultConfig

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["SandboxServer"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = f"http://{self.headers.get('host') or self.server.authority}{self.path}"
        request = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
        reply = self.server.api.dispatch(request)
        if reply.delay_s and self.server.stopping.wait(reply.delay_s):
            return
        if reply.timeout:
            # The change is committed; the client must give up before this wait ends.
            self.server.stopping.wait(self.server.api.faults.config.timeout_sleep_s)
            self.close_connection = True
            return
        response = reply.response
        content = response.content
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: request lines would print presigned URLs."""


class SandboxServer(ThreadingHTTPServer):
    """A threaded HTTP server answering as the fake Ads API (loopback only by intent)."""

    daemon_threads = True

    def __init__(
        self,
        sandbox: Sandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.stopping = threading.Event()
        bound_host, bound_port = self.server_address[:2]
        host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self.authority = f"{host_text}:{bound_port}"
        self.base_url = f"http://{self.authority}"
        self.api = FakeAdsApi(sandbox, faults, download_base=self.base_url)

    @property
    def token_url(self) -> str:
        """The LwA token endpoint on this server."""
        return f"{self.base_url}/auth/o2/token"

    def start(self) -> threading.Thread:
        """Serve in a background thread (tests); stop with :meth:`stop`."""
        thread = threading.Thread(target=self.serve_forever, name="sandbox-server", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop serving, wake held replies and release the socket."""
        self.stopping.set()
        self.shutdown()
        self.server_close()

"""The scaffold of the tests' loopback servers (IAM, SageMaker, CloudTrail, the providers):
a threaded HTTP server on 127.0.0.1 with a free port, its URL, and JSON answers.

A fake API subclasses :class:`Served` and calls ``self.serve(ItsHandler)``, where its handler
subclasses :class:`Handler` (``do_POST`` etc.) and reaches the API as ``self.owner``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Handler(BaseHTTPRequestHandler):
    """A quiet request handler with helpers to read a body and answer with JSON or bytes."""

    owner: Any = None

    def log_message(self, *args: object) -> None:
        pass

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reply(
        self, status: int, body: object, content_type: str = "application/x-amz-json-1.1"
    ) -> None:
        """Answer ``body`` as JSON (AWS's JSON protocol content type unless told)."""
        self.send(status, json.dumps(body).encode(), {"Content-Type": content_type})


class Loopback:
    """A :class:`ThreadingHTTPServer` on 127.0.0.1 (a free port), serving from a thread.

    Parameters
    ----------
    handler : type[Handler]
        The request handler; a subclass with ``owner`` set to ``owner`` is served.
    owner : object
        What the handler works for (the fake API's state).
    """

    def __init__(self, handler: type[Handler], owner: object) -> None:
        bound = type(handler.__name__, (handler,), {"owner": owner})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Served:
    """A fake API on loopback: :meth:`serve` starts it; ``url``; :meth:`close` (or ``stop``)."""

    url = ""
    _loopback: Loopback | None = None

    def serve(self, handler: type[Handler]) -> None:
        self._loopback = Loopback(handler, self)
        self.url = self._loopback.url

    def close(self) -> None:
        if self._loopback is not None:
            self._loopback.close()

    stop = close

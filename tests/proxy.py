"""A small HTTP proxy on loopback, in front of the moto server, for counting and faults.

It forwards every request unchanged and records the Secrets Manager action of each
(``X-Amz-Target``). Faults are real: it can delay answers, or answer a number of requests
itself with an error status and body (e.g. ThrottlingException) before passing through.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Fault:
    status: int
    code: str
    remaining: int
    only: str | None = None  # action name, e.g. "BatchGetSecretValue"; None for all


@dataclass
class Proxy:
    upstream: str
    requests: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def actions(self, service_prefix: str = "secretsmanager.") -> list[str]:
        return [a.removeprefix(service_prefix) for a in self.requests
                if a.startswith(service_prefix)]

    def fail(self, status: int, code: str, times: int, only: str | None = None) -> None:
        self.faults.append(Fault(status, code, times, only))

    def start(self) -> Proxy:
        proxy = self
        up = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self._forward()

            def do_GET(self):
                self._forward()

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                service, _, action = target.partition(".")
                label = f"{service.lower()}.{action}" if target else self.path
                if service.lower() == "secretsmanager":
                    label = f"secretsmanager.{action}"
                elif not target and body.startswith(b"Action="):  # query protocol (IAM, STS)
                    action = body.split(b"&", 1)[0].split(b"=", 1)[1].decode()
                    label = f"query.{action}"
                proxy.requests.append(label)
                proxy.user_agents.append(self.headers.get("User-Agent", ""))
                if proxy.delay_s:
                    time.sleep(proxy.delay_s)
                for fault in proxy.faults:
                    if fault.remaining > 0 and (fault.only in (None, action)):
                        fault.remaining -= 1
                        payload = json.dumps(
                            {"__type": fault.code, "message": "injected by test proxy"}).encode()
                        self.send_response(fault.status)
                        self.send_header("Content-Type", "application/x-amz-json-1.1")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

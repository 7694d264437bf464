"""A small HTTP proxy on loopback, in front of the moto server, for counting and faults.

It forwards every request unchanged and records the Secrets Manager action of each
(``X-Amz-Target``). Faults are real: it can delay answers, or answer a number of requests
itself with an error status and body (e.g. ThrottlingException) before passing through.

With ``routes`` it stands in for per-region endpoints: boto3 sends every region to the one
AWS_ENDPOINT_URL, and the proxy forwards each request to the upstream of the region named in
its SigV4 credential scope (``Credential=AKID/DATE/REGION/SERVICE/aws4_request``). When that
upstream refuses the connection (its server is stopped), the proxy closes the client's
connection without an answer, as a dead endpoint would look through a load balancer.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    status: int
    code: str
    remaining: int
    only: str | None = None  # action name, e.g. "BatchGetSecretValue"; None for all
    region: str | None = None  # only requests signed for this region; None for all
    message: str = "injected by test proxy"


_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")


def signed_region(authorization: str) -> str:
    """The region in a SigV4 Authorization header's credential scope ("" if none)."""
    match = _SCOPE.search(authorization or "")
    return match.group(1) if match else ""


@dataclass
class Proxy:
    upstream: str
    requests: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # signed region of each request
    routes: dict[str, str] = field(default_factory=dict)  # region -> upstream URL
    user_agents: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # request body of each request
    delay_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def actions(self, service_prefix: str = "secretsmanager.") -> list[str]:
        return [
            a.removeprefix(service_prefix) for a in self.requests if a.startswith(service_prefix)
        ]

    def fail(
        self,
        status: int,
        code: str,
        times: int,
        only: str | None = None,
        region: str | None = None,
        message: str = "injected by test proxy",
    ) -> None:
        self.faults.append(Fault(status, code, times, only, region, message))

    def actions_in(self, region: str, service_prefix: str = "secretsmanager.") -> list[str]:
        """The actions of the requests signed for ``region``."""
        return [
            a.removeprefix(service_prefix)
            for a, r in zip(self.requests, self.regions, strict=True)
            if r == region and a.startswith(service_prefix)
        ]

    def start(self) -> Proxy:
        proxy = self

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
                if not target:  # query protocol (STS, IAM): Action=... in the form body
                    form = parse_qs(body.decode("utf-8", "replace"))
                    action = form.get("Action", [""])[0]
                    label = f"query.{action}" if action else self.path
                region = signed_region(self.headers.get("Authorization", ""))
                proxy.requests.append(label)
                proxy.regions.append(region)
                proxy.user_agents.append(self.headers.get("User-Agent", ""))
                proxy.bodies.append(body)
                if proxy.delay_s:
                    time.sleep(proxy.delay_s)
                for fault in proxy.faults:
                    if (
                        fault.remaining > 0
                        and fault.only in (None, action)
                        and fault.region in (None, region)
                    ):
                        fault.remaining -= 1
                        if target:  # JSON protocol (Secrets Manager)
                            ctype = "application/x-amz-json-1.1"
                            payload = json.dumps(
                                {"__type": fault.code, "message": fault.message}
                            ).encode()
                        else:  # query protocol (STS, IAM): XML
                            ctype = "text/xml"
                            payload = (
                                f"<ErrorResponse><Error><Type>Sender</Type><Code>"
                                f"{fault.code}</Code><Message>{fault.message}"
                                "</Message></Error></ErrorResponse>"
                            ).encode()
                        self.send_response(fault.status)
                        self.send_header("Content-Type", ctype)
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                up = urlsplit(proxy.routes.get(region, proxy.upstream))
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                except ConnectionRefusedError:
                    self.close_connection = True  # no answer at all: the route is dead
                    return
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
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

"""A loopback HTTP server speaking IAM's query protocol (POST, form-encoded ``Action=...``,
XML answers in the ``https://iam.amazonaws.com/doc/2010-05-08/`` namespace) for what moto
cannot show: SimulatePrincipalPolicy (moto answers HTTP 500) and AccessDenied on chosen
actions. Every other request is forwarded unchanged to ``upstream`` (the moto server), so a
client pointed here with ``AWS_ENDPOINT_URL_IAM`` still reads roles and policies from moto.
It records every request as ``(action, form parameters)``.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.loopback import Handler, Served

NS = "https://iam.amazonaws.com/doc/2010-05-08/"


class IamApi(Served):
    """``decisions[(action, resource)]`` answers SimulatePrincipalPolicy (pairs not in it are
    ``implicitDeny``, as IAM answers with no matching statement); actions in ``denied`` get
    AccessDenied; the rest goes to ``upstream``. ``decide(action, resource, context)``, when
    set, answers first (None: fall back to ``decisions``); ``context`` is the request's
    ContextEntries as ``{name: [values]}``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.decisions: dict[tuple[str, str], str] = {}
        self.denied: set[str] = set()
        self.decide: Callable[[str, str, dict[str, list[str]]], str | None] | None = None
        self.serve(_Handler)

    def actions(self) -> list[str]:
        return [action for action, _ in self.requests]

    def params(self, action: str) -> list[dict[str, str]]:
        """The form parameters of each request for ``action``."""
        return [p for a, p in self.requests if a == action]

    def handle(self, params: dict[str, str]) -> tuple[int, str] | None:
        """``(status, XML)`` answered here, or None to forward the request upstream."""
        action = params.get("Action", "")
        self.requests.append((action, params))
        if action in self.denied:
            return 403, _error(
                "AccessDenied",
                f"User is not authorized to perform: iam:{action} (denied by the test server)",
            )
        if action == "SimulatePrincipalPolicy":
            return 200, self.simulate(params)
        return None

    def simulate(self, params: dict[str, str]) -> str:
        actions, resources = _members(params, "ActionNames"), _members(params, "ResourceArns")
        context, n = {}, 1
        while f"ContextEntries.member.{n}.ContextKeyName" in params:
            entry = f"ContextEntries.member.{n}"
            context[params[f"{entry}.ContextKeyName"]] = _members(
                params, f"{entry}.ContextKeyValues"
            )
            n += 1

        def decision(a: str, r: str) -> str:
            got = self.decide(a, r, context) if self.decide is not None else None
            return got or self.decisions.get((a, r), "implicitDeny")

        results = "".join(
            f"<member><EvalActionName>{escape(a)}</EvalActionName>"
            f"<EvalResourceName>{escape(r)}</EvalResourceName>"
            f"<EvalDecision>{decision(a, r)}</EvalDecision>"
            "<MatchedStatements/><MissingContextValues/></member>"
            for a in actions
            for r in resources or ["*"]
        )
        return (
            f'<SimulatePrincipalPolicyResponse xmlns="{NS}"><SimulatePrincipalPolicyResult>'
            f"<IsTruncated>false</IsTruncated><EvaluationResults>{results}"
            "</EvaluationResults></SimulatePrincipalPolicyResult>"
            "<ResponseMetadata><RequestId>iam-api-1</RequestId></ResponseMetadata>"
            "</SimulatePrincipalPolicyResponse>"
        )


def _members(params: dict[str, str], name: str) -> list[str]:
    """A query-protocol list (``Name.member.1``, ``Name.member.2``, ...) in order."""
    out, n = [], 1
    while f"{name}.member.{n}" in params:
        out.append(params[f"{name}.member.{n}"])
        n += 1
    return out


def _error(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
        "<RequestId>iam-api-1</RequestId></ErrorResponse>"
    )


class _Handler(Handler):
    owner: IamApi

    def do_POST(self) -> None:
        body = self.body()
        params = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        answer = self.owner.handle(params)
        if answer is None:
            self.send(*self._forward(body))
        else:
            self.send(answer[0], answer[1].encode(), {"Content-Type": "text/xml"})

    def _forward(self, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Send the request to moto with the same path and headers; return its answer."""
        up = urlsplit(self.owner.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        try:
            conn.request("POST", self.path, body=body, headers=dict(self.headers.items()))
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        keep = {
            k: v for k, v in resp.getheaders() if k.lower() in ("content-type", "x-amzn-requestid")
        }
        return resp.status, data, keep

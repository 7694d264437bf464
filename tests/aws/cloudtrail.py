"""A loopback CloudTrail speaking LookupEvents over the JSON 1.1 protocol (moto lacks it).

``X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents``; filters
by the one LookupAttribute (EventName) and by StartTime/EndTime; pages with NextToken and
MaxResults; answers ThrottlingException to the first ``throttle`` requests. Event records
follow CloudTrail's documented shape: ``CloudTrailEvent`` is a JSON string.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from tests.loopback import Handler, Served

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
ACCOUNT = "123456789012"


def read_event(
    secret_id: str,
    when: datetime,
    *,
    role: str = "AmazonSageMaker-ExecutionRole",
    session: str = "SageMaker",
    ip: str = "10.0.3.7",
    stage: str | None = None,
    version: str | None = None,
    error: str | None = None,
    name: str = "GetSecretValue",
    user: str | None = None,
    region: str = "us-east-1",
    arn: str | None = None,
) -> dict:
    """One LookupEvents record of a GetSecretValue call by a notebook's role (or a user), in
    ``region`` (CloudTrail keeps each region's events there); ``secret_id`` as the caller gave
    it (a name, a full ARN or a partial one), ``arn`` the secret's full ARN."""
    if user:
        identity = {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "accountId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
            "userName": user,
        }
    else:
        identity = {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLE:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLE",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                    "accountId": ACCOUNT,
                    "userName": role,
                },
                "attributes": {
                    "creationDate": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "mfaAuthenticated": "false",
                },
            },
        }
    params = {"secretId": secret_id}
    if stage:
        params["versionStage"] = stage
    if version:
        params["versionId"] = version
    event_id = str(uuid.uuid4())
    detail = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux nbsecrets/0.1.0",
        "requestParameters": params,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": True,
        "resources": [
            {
                "accountId": ACCOUNT,
                "type": "AWS::SecretsManager::Secret",
                "ARN": arn
                or (
                    secret_id
                    if secret_id.startswith("arn:")
                    else f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret_id}-AbCdEf"
                ),
            }
        ],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        detail["errorCode"] = error
        detail["errorMessage"] = "User is not authorized to perform: GetSecretValue"
    return {
        "EventId": event_id,
        "EventName": name,
        "ReadOnly": "true",
        "AccessKeyId": "ASIAEXAMPLE",
        "EventTime": when.timestamp(),
        "EventSource": "secretsmanager.amazonaws.com",
        "Username": session if not user else user,
        "Resources": [{"ResourceType": "AWS::SecretsManager::Secret", "ResourceName": secret_id}],
        "CloudTrailEvent": json.dumps(detail),
    }


class CloudTrail(Served):
    """The server; ``events`` newest first, ``requests`` every body received."""

    def __init__(self, events: list[dict] | None = None, throttle: int = 0):
        self.events = sorted(events or [], key=lambda e: e["EventTime"], reverse=True)
        self.throttle = throttle
        self.requests: list[dict] = []
        self.serve(_Handler)

    def _answer(self, body: dict) -> tuple[int, dict]:
        if len(self.requests) <= self.throttle:
            return 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        attrs = body.get("LookupAttributes") or []
        if len(attrs) > 1:
            return 400, {
                "__type": "InvalidLookupAttributesException",
                "message": "only one lookup attribute",
            }
        # Each region's CloudTrail answers with that region's events only (the region is the
        # one the request was signed for).
        region = body.pop("_region", "")
        found = [e for e in self.events if json.loads(e["CloudTrailEvent"])["awsRegion"] == region]
        for attr in attrs:
            key = {"EventName": "EventName", "ResourceName": None}.get(attr["AttributeKey"])
            if key:
                found = [e for e in found if e[key] == attr["AttributeValue"]]
        start = body.get("StartTime", 0)
        end = body.get("EndTime", datetime.now(timezone.utc).timestamp() + 1)
        found = [e for e in found if start <= e["EventTime"] <= end]
        first = int(body.get("NextToken") or 0)
        size = min(int(body.get("MaxResults") or 50), 50)
        page = found[first : first + size]
        out: dict = {"Events": page}
        if first + size < len(found):
            out["NextToken"] = str(first + size)
        return 200, out


class _Handler(Handler):
    owner: CloudTrail

    def do_POST(self) -> None:
        body = json.loads(self.body() or b"{}")
        target = self.headers.get("X-Amz-Target")
        scope = self.headers.get("Authorization", "").split("Credential=", 1)[-1].split("/")
        region = scope[2] if len(scope) > 2 else ""
        self.owner.requests.append({"target": target, "body": dict(body), "region": region})
        body["_region"] = region
        if target != TARGET:
            self.reply(400, {"__type": "UnknownOperationException"})
        else:
            self.reply(*self.owner._answer(body))

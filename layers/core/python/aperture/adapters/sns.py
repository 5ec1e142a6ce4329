"""SNS mobile push: platform endpoints for devices, and messages to them."""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

EXISTING_ENDPOINT = re.compile(r"Endpoint (arn:aws[\w-]*:sns:\S+) already exists")


class PushGateway:
    def __init__(self, client: Any, applications: dict[str, str]) -> None:
        self._sns = client
        self._applications = applications  # platform ("apns" | "fcm") -> platform application ARN

    def supports(self, platform: str) -> bool:
        return platform in self._applications

    def register(self, platform: str, token: str, user_id: int) -> str:
        """The endpoint ARN for a device token, now pointing at this user.

        SNS keeps one endpoint per token. A phone that signs in as someone else re-registers the same token
        with different data, which SNS refuses while naming the existing endpoint: that one is taken over.
        """
        try:
            response = self._sns.create_platform_endpoint(
                PlatformApplicationArn=self._applications[platform], Token=token, CustomUserData=str(user_id)
            )
            endpoint = str(response["EndpointArn"])
        except ClientError as error:
            existing = EXISTING_ENDPOINT.search(error.response["Error"].get("Message", ""))
            if error.response["Error"]["Code"] != "InvalidParameter" or existing is None:
                raise
            endpoint = existing.group(1)
        # Re-enable a token SNS disabled after a failed delivery, and record who it belongs to now.
        self._sns.set_endpoint_attributes(
            EndpointArn=endpoint, Attributes={"Enabled": "true", "Token": token, "CustomUserData": str(user_id)}
        )
        return endpoint

    def owner(self, endpoint_arn: str) -> int | None:
        """The user an endpoint was last registered for, or None if it is gone."""
        try:
            attributes = self._sns.get_endpoint_attributes(EndpointArn=endpoint_arn)["Attributes"]
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NotFound", "InvalidParameter"}:
                return None
            raise
        data = attributes.get("CustomUserData", "")
        return int(data) if data.isdigit() else None

    def unregister(self, endpoint_arn: str) -> None:
        self._sns.delete_endpoint(EndpointArn=endpoint_arn)

    def send(self, endpoint_arn: str, title: str, body: str, data: dict[str, str]) -> bool:
        """Push one message; False if the endpoint is gone or disabled (the caller forgets the device)."""
        apns = {"aps": {"alert": {"title": title, "body": body}, "sound": "default"}, **data}
        fcm = {"notification": {"title": title, "body": body}, "data": data}
        # Development builds register with the APNs sandbox; the same payload serves both.
        message = {"default": body, "APNS": json.dumps(apns), "APNS_SANDBOX": json.dumps(apns), "GCM": json.dumps(fcm)}
        try:
            self._sns.publish(TargetArn=endpoint_arn, Message=json.dumps(message), MessageStructure="json")
        except ClientError as error:
            if error.response["Error"]["Code"] in {"EndpointDisabled", "NotFound", "InvalidParameter"}:
                return False
            raise
        return True

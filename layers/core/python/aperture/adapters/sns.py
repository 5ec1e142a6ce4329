"""SNS mobile push: platform endpoints for devices, and messages to them."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


class PushGateway:
    def __init__(self, client: Any, applications: dict[str, str]) -> None:
        self._sns = client
        self._applications = applications  # platform ("apns" | "fcm") -> platform application ARN

    def supports(self, platform: str) -> bool:
        return platform in self._applications

    def register(self, platform: str, token: str, user_id: int) -> str:
        """The endpoint ARN for a device token (SNS returns the same endpoint for the same token)."""
        response = self._sns.create_platform_endpoint(
            PlatformApplicationArn=self._applications[platform], Token=token, CustomUserData=str(user_id)
        )
        endpoint = str(response["EndpointArn"])
        # A token re-registered after being disabled must be switched back on.
        self._sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "true", "Token": token})
        return endpoint

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

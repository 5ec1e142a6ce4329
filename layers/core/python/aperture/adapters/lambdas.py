"""Invoking deployed functions by ARN (an operator's redrive), and telling which declared function an ARN is."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aperture.resources import FUNCTION_TAG


class FunctionError(RuntimeError):
    """The function raised (Lambda answered with X-Amz-Function-Error)."""


class DeployedFunctions:
    def __init__(self, client: Any) -> None:
        self._lambda = client
        self.declared_name = cache(self._declared_name)

    def invoke(self, function_arn: str, event: dict[str, Any]) -> Any:
        """Invoke synchronously, as the event source mapping does, and return the function's answer."""
        response = self._lambda.invoke(
            FunctionName=function_arn, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        body = response["Payload"].read()
        if response.get("FunctionError"):
            raise FunctionError(f"{function_arn} failed ({response['FunctionError']}): {body[:500]!r}")
        return json.loads(body) if body else None

    def _declared_name(self, function_arn: str) -> str | None:
        """The name the function is declared under in aperture.resources (its tag), or None if it has none."""
        unqualified = ":".join(function_arn.split(":")[:7])  # arn:aws:lambda:<region>:<account>:function:<name>
        tags = self._lambda.list_tags(Resource=unqualified).get("Tags", {})
        name = tags.get(FUNCTION_TAG)
        return str(name) if name else None

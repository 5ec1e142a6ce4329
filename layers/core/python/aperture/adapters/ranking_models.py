"""The ranking loop's models in the media bucket: each version with its report, and each surface's pointer to the
one serving (models/<surface>/...). The activity log they learn from is read by aperture.adapters.activity_archive."""

from __future__ import annotations

import json
from typing import Any, Protocol

from aperture.resources import MODEL_PREFIX


class ObjectStore(Protocol):
    """What of the media bucket the models need (aperture.adapters.s3.MediaStore)."""

    def fetch(self, key: str) -> tuple[bytes, str] | None: ...

    def write(self, key: str, body: bytes, content_type: str) -> None: ...


def model_key(surface: str, version: str) -> str:
    return f"{MODEL_PREFIX}{surface}/{version}.json"


def report_key(surface: str, version: str) -> str:
    return f"{MODEL_PREFIX}{surface}/{version}.report.json"


def current_key(surface: str) -> str:
    return f"{MODEL_PREFIX}{surface}/current.json"


class ModelStore:
    """Versioned models and reports under models/<surface>/, and the pointer (current.json) serving reads."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def _get(self, key: str) -> bytes | None:
        found = self._store.fetch(key)
        return None if found is None else found[0]

    def _put(self, key: str, body: str) -> None:
        self._store.write(key, body.encode(), "application/json")

    def current_version(self, surface: str) -> str | None:
        pointer = self._get(current_key(surface))
        return None if pointer is None else str(json.loads(pointer)["version"])

    def current(self, surface: str) -> bytes | None:
        """The promoted model's JSON, or None when none is; raises when the pointer names a model not there."""
        version = self.current_version(surface)
        if version is None:
            return None
        body = self._get(model_key(surface, version))
        if body is None:
            raise LookupError(f"models/{surface}/current.json names {version}, which is not there")
        return body

    def report(self, surface: str, version: str) -> dict[str, Any] | None:
        body = self._get(report_key(surface, version))
        return None if body is None else dict(json.loads(body))

    def write_model(self, surface: str, version: str, model: str) -> None:
        self._put(model_key(surface, version), model)

    def write_report(self, surface: str, version: str, report: dict[str, Any]) -> None:
        self._put(report_key(surface, version), json.dumps(report, indent=2, sort_keys=True) + "\n")

    def promote(self, surface: str, version: str) -> None:
        self._put(current_key(surface), json.dumps({"version": version, "model": model_key(surface, version)}) + "\n")

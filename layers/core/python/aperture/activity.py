"""What ranking learns from: impressions (what was shown to whom, with the features the model saw) and engagements
(what the viewer then did), as the records of the activity log.

Both are written to the activity log (`ActivityLog`: a bounded Redis stream, drained in batches to S3 as gzipped
JSON lines under `logs/<kind>/dt=<YYYY-MM-DD>/`), and read back by the training job. One record is one JSON line;
`to_line` and `from_line` are the only way in and out of that form, so writer and reader cannot drift.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import orjson

Surface = Literal["feed", "explore"]
Action = Literal["like", "comment", "save", "share", "profile_open"]
IMPRESSION = "impression"
ENGAGEMENT = "engagement"


@dataclass(frozen=True)
class Impression:
    """A post shown on a page: to whom, where, when, and the feature values exactly as the serving model saw them."""

    surface: Surface
    viewer_id: int
    post_id: int
    author_id: int
    position: int  # 0-based, on the list the viewer was shown (explore: in the ranked list; feed: on the page)
    served_at: int  # unix ms
    model: str  # the serving model's version
    features: Mapping[str, float] = field(default_factory=dict)
    request_id: str | None = None


@dataclass(frozen=True)
class Engagement:
    """Something a viewer did that counts as a positive label for an impression of the post (or of its author's
    posts, for a profile open) shown to them shortly before."""

    action: Action
    viewer_id: int
    author_id: int
    at: int  # unix ms
    post_id: int | None = None  # None for a profile open


Record = Impression | Engagement


def kind(record: Record) -> str:
    return IMPRESSION if isinstance(record, Impression) else ENGAGEMENT


def day(at_ms: int) -> str:
    """The record's partition, `YYYY-MM-DD` in UTC."""
    return _utc_day(at_ms // 86_400_000)  # (UTC days are 86,400,000 ms long: unix time has no leap seconds)


@functools.lru_cache(maxsize=64)
def _utc_day(days_since_epoch: int) -> str:
    # cached: the flush asks for every record's day, and a minute's records fall on one or two
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=days_since_epoch)).isoformat()


def at(record: Record) -> int:
    return record.served_at if isinstance(record, Impression) else record.at


def names(record: Record, user_id: int) -> bool:
    """Whether the record is about the user, as viewer or author (what an account's erasure removes)."""
    return user_id in (record.viewer_id, record.author_id)


def to_line(record: Record) -> str:
    if isinstance(record, Impression):
        data: dict[str, object] = {
            "kind": IMPRESSION,
            "surface": record.surface,
            "viewer_id": record.viewer_id,
            "post_id": record.post_id,
            "author_id": record.author_id,
            "position": record.position,
            "served_at": record.served_at,
            "model": record.model,
            "features": dict(record.features),
        }
        if record.request_id:
            data["request_id"] = record.request_id
    else:
        data = {
            "kind": ENGAGEMENT,
            "action": record.action,
            "viewer_id": record.viewer_id,
            "author_id": record.author_id,
            "post_id": record.post_id,
            "at": record.at,
        }
    return json.dumps(data, separators=(",", ":"))


def from_line(line: str | bytes) -> Record:
    try:
        data = orjson.loads(line)  # several times json's speed: the training job parses millions of lines
    except orjson.JSONDecodeError:  # what orjson refuses and json reads (NaN, integers past 64 bits)
        data = json.loads(line)
    if data["kind"] == IMPRESSION:
        return Impression(
            surface=data["surface"],
            viewer_id=int(data["viewer_id"]),
            post_id=int(data["post_id"]),
            author_id=int(data["author_id"]),
            position=int(data["position"]),
            served_at=int(data["served_at"]),
            model=str(data["model"]),
            features={str(k): float(v) for k, v in data["features"].items()},
            request_id=data.get("request_id"),
        )
    if data["kind"] == ENGAGEMENT:
        return Engagement(
            action=data["action"],
            viewer_id=int(data["viewer_id"]),
            author_id=int(data["author_id"]),
            at=int(data["at"]),
            post_id=None if data.get("post_id") is None else int(data["post_id"]),
        )
    raise ValueError(f"not an activity record: {data.get('kind')!r}")


class ActivityLog(Protocol):
    """Where serving and the domain events' consumers append records; never slows or fails the caller's request."""

    def record(self, records: Sequence[Record]) -> None: ...

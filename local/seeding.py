"""Posts and stories written straight into the platform, as the media pipeline leaves them after rendering: for
filling the local platform in tests and benchmarks without rendering a photo each time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aperture import wiring
from aperture.clock import now_ms
from aperture.ids import new_id
from aperture.media.pipeline import image_key
from aperture.media.render import FORMATS
from aperture.models.events import PostReady
from aperture.models.records import Upload


@dataclass
class Account:
    """A signed-up person as a client holds them: their id, name and IdToken."""

    user_id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def ready_event(author: Account, kind: Literal["post", "story"], sizes: tuple[str, ...], **fields: Any) -> PostReady:
    """The 'ready' event the pipeline publishes once an upload is rendered, for a new upload in 'processing'."""
    target_id, upload_id = new_id(), new_id()
    wiring.upload_repository().create(
        Upload(
            upload_id=upload_id,
            user_id=int(author.user_id),
            kind=kind,
            target_id=target_id,
            content_type="image/jpeg",
            content_length=1000,
            status="processing",
        )
    )
    images = {s: {f: image_key(int(author.user_id), target_id, s, f) for f in FORMATS} for s in sizes}
    return PostReady(
        event_id=f"test-{target_id}",
        occurred_at=now_ms(),
        upload_id=upload_id,
        post_id=target_id,
        author_id=int(author.user_id),
        kind=kind,
        images=images,
        **fields,
    )


def publish_post(author: Account, caption: str = "", hashtags: tuple[str, ...] = ()) -> str:
    """A post as the pipeline writes it after rendering (rendering has tests of its own); returns its id."""
    sizes = ("150", "640", "1080")
    event = ready_event(author, "post", sizes, caption=caption, hashtags=hashtags, width=1080, height=1080)
    wiring.posts().ingest(event)
    return str(event.post_id)


def ingest_story(event: PostReady) -> bool:
    """post_ingest's handling of a story's 'ready' event, with the real ports."""
    return wiring.stories().ingest(event)


def publish_story(author: Account) -> str:
    """A story as the pipeline writes it after rendering; returns its id."""
    event = ready_event(author, "story", ("1080",), width=1080, height=1920)
    ingest_story(event)
    return str(event.post_id)

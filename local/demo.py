"""`python -m local --seed-demo`: fill the local platform with the synthetic world of local/world.py.

Accounts are demo000, demo001, ... with one password; follows, posts (with real renditions), likes, comments,
stories and story views come from the world, shifted so its last moment is now. It goes through the same
repositories and logic the functions use, so timelines, celebrity merges, like counts, affinities, stories trays
and notifications are all real. Stories older than a story's life only count toward affinity, as they would have.
"""

from __future__ import annotations

import io
import sys
from collections import defaultdict
from dataclasses import dataclass

from aperture import accounts, wiring
from aperture.clock import now_ms
from aperture.ids import new_id
from aperture.media.decode import decode
from aperture.media.pipeline import image_key
from aperture.media.render import FORMATS, SIZES, render, resized
from aperture.models.api import SignupRequest
from aperture.models.events import PostPublished
from aperture.models.records import Photo, PostRecord, StoryRecord, Upload
from aperture.ranking import AFFINITY_WEIGHTS
from aperture.settings import get_settings
from local.world import World, generate, progress

CAROUSEL_EVERY = 5  # every fifth demo post is a carousel

DEMO_PASSWORD = "Demo-pass-1!"  # noqa: S105 - the published password of local demo accounts
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")


@dataclass(frozen=True)
class Seeded:
    users: int
    follows: int
    posts: int
    likes: int
    comments: int
    celebrities: int
    stories: int = 0
    story_views: int = 0


def _photo_renditions() -> list[dict[tuple[str, str], bytes]]:
    """A few real photos, rendered once, to stand behind every demo post."""
    from PIL import Image
    from skimage import data

    sets = []
    for name in PHOTOS:
        out = io.BytesIO()
        Image.fromarray(getattr(data, name)()).convert("RGB").save(out, "JPEG", quality=90)
        sizes = resized(decode(out.getvalue(), 50_000_000, 1080))
        sets.append({(r.size, r.format): r.body for r in render(sizes, FORMATS)})
    return sets


def _story_renditions() -> tuple[dict[str, bytes], tuple[int, int]]:
    """One real photo as a story (one full-screen size), to stand behind every demo story."""
    from PIL import Image
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(data.astronaut()).convert("RGB").save(out, "JPEG", quality=90)
    sizes = resized(decode(out.getvalue(), 50_000_000, 1080), "story")
    return {r.format: r.body for r in render({"1080": sizes["1080"]}, FORMATS)}, sizes["1080"].size


def _seed_stories(world: World, ids: dict[int, int], shift: int) -> tuple[int, int]:
    """The world's live stories, written as the pipeline would; their views recorded through the API's logic.

    Views of stories that have since expired add to affinity the way their live views did."""
    ttl_ms = get_settings().story_ttl_seconds * 1000
    (photo, (width, height)), store, repo = _story_renditions(), wiring.media_store(), wiring.story_repository()
    live: dict[int, int] = {}
    author_of = {story: author for story, author, _ in world.stories}
    current = [s for s in world.stories if s[2] + shift > now_ms() - ttl_ms]
    for done, (story, author, world_created) in enumerate(current, 1):
        progress("stories", done, len(current))
        story_id, upload_id = new_id(), new_id()
        wiring.upload_repository().create(
            Upload(
                upload_id=upload_id,
                user_id=ids[author],
                kind="story",
                target_id=story_id,
                content_type="image/jpeg",
                content_length=1,
                status="processing",
            )
        )
        images = {"1080": {f: image_key(ids[author], story_id, "1080", f) for f in FORMATS}}
        for fmt, body in photo.items():
            store.write_immutable(images["1080"][fmt], body, {"jpeg": "image/jpeg"}.get(fmt, f"image/{fmt}"))
        created = world_created + shift
        record = StoryRecord(
            story_id=story_id,
            author_id=ids[author],
            upload_id=upload_id,
            width=width,
            height=height,
            images=images,
            created_at=created,
            expires_at=created + ttl_ms,
        )
        repo.publish(record, wiring.upload_repository().table)
        wiring.story_cache().add_live(ids[author], story_id, record.created_at, now_ms())
        live[story] = story_id
    past: defaultdict[tuple[int, int], float] = defaultdict(float)
    for done, (viewer, story, _) in enumerate(world.story_views, 1):
        progress("views", done, len(world.story_views))
        if story in live:
            wiring.stories().view(ids[viewer], live[story])
        else:
            past[(ids[viewer], ids[author_of[story]])] += AFFINITY_WEIGHTS["story_view"]
    for (viewer, author), weight in past.items():
        wiring.affinity().record(viewer, author, (), weight)
    return len(current), len(world.story_views)


def seed(users: int = 120, random_seed: int = 7, celebrity_threshold: int = 25) -> Seeded:
    world = generate(users, random_seed, celebrity_threshold=celebrity_threshold)
    shift = now_ms() - world.now_ms
    ids: dict[int, int] = {}
    for user in range(world.users):
        progress("accounts", user + 1, world.users)
        request = SignupRequest(username=f"demo{user:03}", password=DEMO_PASSWORD, email=f"demo{user:03}@example.com")
        ids[user] = int(accounts.sign_up(request, wiring.identity(), wiring.users(), new_id, now_ms).user_id)
    edges = [(f, a) for f, followees in world.follows.items() for a in followees]
    progress("follows", 0, len(edges))
    wiring.follows().import_new([(ids[f], ids[a]) for f, a in edges], now_ms())
    progress("follows", len(edges), len(edges))
    timeline = wiring.timeline()
    for author, fans in world.followers_of().items():
        if author in world.celebrities:
            timeline.set_celebrity(ids[author], True)
            timeline.follow_celebrity([ids[f] for f in fans], ids[author], True)
    photos = _photo_renditions()
    store, posts = wiring.media_store(), {}
    for done, post in enumerate(world.posts, 1):
        progress("posts", done, len(world.posts))
        author, post_id, upload_id = ids[post.author_id], new_id(), new_id()
        created = post.created_at + shift
        wiring.upload_repository().create(
            Upload(
                upload_id=upload_id,
                user_id=author,
                kind="post",
                target_id=post_id,
                content_type="image/jpeg",
                content_length=1,
                status="processing",
            )
        )
        # Every fifth post is a three-photo carousel, each photo with alt text
        media = []
        for item in range(3 if post.post_id % CAROUSEL_EVERY == 0 else 1):
            photo = photos[(post.post_id + item) % len(photos)]
            keys = {s: {f: image_key(author, post_id, s, f, item) for f in FORMATS} for s in SIZES}
            for (size, fmt), body in photo.items():
                store.write_immutable(keys[size][fmt], body, {"jpeg": "image/jpeg"}.get(fmt, f"image/{fmt}"))
            alt = f"Demo photo {(post.post_id + item) % len(photos) + 1}"
            media.append(Photo(images=keys, width=1080, height=1080, alt_text=alt))
        images = media[0].images
        record = PostRecord(
            post_id=post_id,
            author_id=author,
            upload_id=upload_id,
            caption=" ".join(f"#{t}" for t in post.hashtags),
            hashtags=post.hashtags,
            width=1080,
            height=1080,
            images=images,
            created_at=created,
            media=tuple(media),
        )
        published = PostPublished(
            event_id=f"{post_id}:published", occurred_at=created, post_id=post_id, author_id=author
        )
        wiring.post_repository().publish(record, wiring.upload_repository().table, published)
        wiring.like_cache().start(post_id)
        wiring.fanout().publish(author, post_id, created)
        posts[post.post_id] = record
    for done, (user, post_id, _) in enumerate(world.likes, 1):
        progress("likes", done, len(world.likes))
        wiring.likes().set_liked(posts[post_id], ids[user], True)
    for done, (user, post_id, _) in enumerate(world.comments, 1):
        progress("comments", done, len(world.comments))
        commenter = wiring.users().get(ids[user])
        if commenter is not None:
            wiring.comments().add(posts[post_id], commenter, "lovely")
    stories, views = _seed_stories(world, ids, shift)
    sys.stderr.flush()
    return Seeded(
        world.users,
        len(edges),
        len(world.posts),
        len(world.likes),
        len(world.comments),
        len(world.celebrities),
        stories,
        views,
    )

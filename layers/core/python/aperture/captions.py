"""What a caption or a comment says beyond its text: the #tags it files the post under and the @people it names."""

from __future__ import annotations

import re
from collections.abc import Iterable

MENTION = re.compile(r"(?<![\w@.])@([a-z0-9._]{3,30})")
MAX_MENTIONS = 20
# ...of which one comment or caption notifies this many (the rest stay in the text, linked, but notify nobody):
# the default of the max_mentions_notified setting
MAX_MENTIONS_NOTIFIED = 10
# A tag: letters, digits and _ after a # that does not continue a word, an entity (&#39;) or another tag
HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
MAX_CAPTION_TAGS = 30
MAX_TAG_CHARS = 100  # as a sent hashtag may be


def mentioned_usernames(text: str) -> list[str]:
    """@usernames in a text, in order of first appearance, at most 20."""
    return list(dict.fromkeys(m.rstrip(".") for m in MENTION.findall(text.lower())))[:MAX_MENTIONS]


def caption_hashtags(caption: str) -> list[str]:
    """#tags in a caption, lowercase without the #, in order of first appearance; past the 30th, ignored."""
    tags = (t.lower() for t in HASHTAG.findall(caption) if len(t) <= MAX_TAG_CHARS)
    return list(dict.fromkeys(tags))[:MAX_CAPTION_TAGS]


def post_hashtags(sent: Iterable[str], caption: str) -> tuple[str, ...]:
    """The hashtags a post is filed under: those the client sent, then the caption's not among them (whatever
    their case), without repeats."""
    tags = list(dict.fromkeys(sent))
    known = {t.lower() for t in tags}
    return (*tags, *(t for t in caption_hashtags(caption) if t not in known))

"""Hybrid fanout: authors below the celebrity threshold push to followers' timelines in jobs of about a thousand;
above it, nothing is pushed and followers merge the author's recent posts when they read.

Followers idle for longer than the inactivity window get no pushes; their timeline is rebuilt from their
followees' recent posts on their first request. Every job is idempotent: a retried job changes nothing.

The threshold has hysteresis: an author becomes a celebrity on reaching `threshold` followers and stops being one only
below `threshold * exit_ratio` (0.9 by default); in between they stay what they were (the recorded set of
celebrities in Redis says). Each change of state is announced to every follower (a job per thousand), so an author
whose count wobbles around the threshold (a follow toggled back and forth) must not announce at every crossing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from aperture.adapters.dynamo.graph import FollowRepository
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.timeline import Position, Timeline
from aperture.models.events import CelebrityJob, FanoutJob
from aperture.observability import measure, timed
from aperture.ports import JobSink

REBUILD_PER_AUTHOR = 50  # recent posts taken from each followee when a timeline is rebuilt


def _slices(ids: Iterable[int], size: int) -> Iterator[tuple[int, ...]]:
    iterator = iter(ids)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


class Fanout:
    def __init__(
        self,
        *,
        timeline: Timeline,
        follows: FollowRepository,
        users: UserRepository,
        jobs: JobSink,
        threshold: int,
        job_size: int,
        posts: PostRepository,
        exit_ratio: float = 1.0,
    ) -> None:
        self._exit_below = threshold * exit_ratio
        self._posts = posts
        self._timeline = timeline
        self._follows = follows
        self._users = users
        self._jobs = jobs
        self._threshold = threshold
        self._job_size = job_size

    def is_celebrity(self, author_id: int) -> bool:
        user = self._users.get(author_id)
        return user is not None and self._celebrity(author_id, user.follower_count)

    def _celebrity(self, author_id: int, followers: int) -> bool:
        """At the threshold or past it, yes; below its exit, no; in the band between, what the author was."""
        if followers >= self._threshold:
            return True
        if followers < self._exit_below:
            return False
        return self._timeline.is_celebrity(author_id)

    def publish(self, author_id: int, post_id: int, published_ms: int) -> int:
        """Record a new post and queue its fanout; returns how many jobs were queued (0 for a celebrity)."""
        self._timeline.record_post(author_id, post_id, published_ms)
        self._timeline.push([author_id], post_id, published_ms)  # authors see their own posts
        if self.is_celebrity(author_id):
            return 0
        followers = (f for page in self._follows.followers(author_id, self._job_size) for f in page)
        return self._jobs.enqueue(
            FanoutJob(post_id=post_id, author_id=author_id, published_ms=published_ms, follower_ids=chunk)
            for chunk in _slices(followers, self._job_size)
        )

    def run(self, job: FanoutJob | CelebrityJob) -> int:
        """Do one job; returns how many timelines it touched."""
        if isinstance(job, FanoutJob):
            with timed("FanoutDuration"):
                active = self._timeline.active(list(job.follower_ids))
                pushed = self._timeline.push(active, job.post_id, job.published_ms)
            measure("FanoutSize", pushed)  # timelines this job pushed the post to
            return pushed
        self._timeline.follow_celebrity(job.follower_ids, job.author_id, job.celebrity)
        if not job.celebrity:
            # Back under the threshold: what they posted as a celebrity was never pushed, so merge it in.
            recent = self.recent([job.author_id], None, REBUILD_PER_AUTHOR)
            for follower in self._timeline.active(list(job.follower_ids)):
                self._timeline.merge_into(follower, recent)
        return len(job.follower_ids)

    def followed(self, follower_id: int, author_id: int, following: bool) -> None:
        """After a follow or unfollow: merge the author's recent posts in, or take them out."""
        celebrity = self.is_celebrity(author_id)
        self._timeline.follow_celebrity([follower_id], author_id, following and celebrity)
        if following:
            recent = self.recent([author_id], None, REBUILD_PER_AUTHOR)
            if not celebrity:
                self._timeline.merge_into(follower_id, recent)
        else:
            # Read, never restored: an unfollow applied late (the relay's, after an account's erasure) must not
            # bring back the author's recent-posts set
            found, unknown = self._timeline.recent([author_id], None, REBUILD_PER_AUTHOR)
            if unknown:
                found += [
                    Position(p.created_at, p.post_id) for p in self._posts.latest_by(author_id, REBUILD_PER_AUTHOR)
                ]
            self._timeline.remove(follower_id, [p.post_id for p in found])
        if self._timeline.set_celebrity(author_id, celebrity):
            self._announce(author_id, celebrity)

    def _announce(self, author_id: int, celebrity: bool) -> None:
        followers = (f for page in self._follows.followers(author_id, self._job_size) for f in page)
        self._jobs.enqueue(
            CelebrityJob(author_id=author_id, celebrity=celebrity, follower_ids=chunk)
            for chunk in _slices(followers, self._job_size)
        )

    def recent(self, author_ids: list[int], before: Position | None, limit: int) -> list[Position]:
        """Up to `limit` posts of each author older than `before`, newest first. Redis answers for the authors
        whose latest posts it holds whole; the others' (after Redis lost or evicted them) are loaded from DynamoDB
        and put back, so a lost cache costs a query per author once, never a post."""
        found, unknown = self._timeline.recent(author_ids, before, limit)
        for author_id in unknown:
            latest = [
                Position(p.created_at, p.post_id) for p in self._posts.latest_by(author_id, self._timeline.recent_cap)
            ]
            self._timeline.restore_recent(author_id, latest)
            found += [p for p in latest if before is None or p < before][:limit]
        return sorted(found, reverse=True)

    def rebuild(self, user_id: int) -> int:
        """Refill a returning user's timeline from their followees' recent posts; returns how many posts.

        Which followees are celebrities (merged at read time, never pushed) is taken from DynamoDB's follower
        counts and written back, so a Redis that lost it still merges their new posts."""
        followees = self._follows.following_ids(user_id)
        found = self._users.get_many(followees)
        celebrities = {f for f in followees if f in found and self._celebrity(f, found[f].follower_count)}
        self._timeline.set_celebrities_followed(user_id, celebrities)
        recent = self.recent([f for f in followees if f not in celebrities] + [user_id], None, REBUILD_PER_AUTHOR)
        self._timeline.merge_into(user_id, recent)
        return len(recent)

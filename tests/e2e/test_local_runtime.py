"""`python -m local` end to end over HTTP: sign-up, follow, a real JPEG upload, the follower's feed, the CDN."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import requests

from tests.support import PASSWORD, LocalRuntime, jpeg_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local_platform() -> Iterator[str]:
    runtime = LocalRuntime()
    base = runtime.base
    assert f"API     {base}/" in runtime.output
    assert f"CDN     {base}/cdn" in runtime.output
    assert f"Web     {base}/app/" in runtime.output
    yield base
    redis_url = next(line.split()[1] for line in runtime.lines if line.startswith("Redis "))
    assert runtime.stop() == 0, runtime.output
    # Ctrl-C stops everything it started: the embedded Redis server too
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()


def _sign_up(base: str, username: str) -> tuple[str, dict[str, str]]:
    created = requests.post(
        f"{base}/auth/signup",
        json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    token = requests.post(f"{base}/auth/token", json={"username": username, "password": PASSWORD}, timeout=10)
    assert token.status_code == 200, token.text
    return created.json()["user_id"], {"Authorization": f"Bearer {token.json()['id_token']}"}


def test_a_photo_goes_from_upload_to_a_followers_feed_over_http(local_platform: str) -> None:
    base = local_platform
    assert requests.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
    # Two users sign up; bob follows alice
    alice_id, alice = _sign_up(base, "alice")
    _, bob = _sign_up(base, "bob")
    followed = requests.put(f"{base}/users/{alice_id}/follow", headers=bob, timeout=10).json()
    assert followed == {"following": True, "requested": False}
    # Alice uploads a real JPEG through the presigned POST
    photo = jpeg_bytes(2000, 1500)
    grant = requests.post(
        f"{base}/uploads",
        headers=alice,
        timeout=10,
        json={"content_type": "image/jpeg", "content_length": len(photo), "caption": "e2e"},
    ).json()
    sent = requests.post(grant["url"], data=grant["fields"], files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=30)
    assert sent.status_code in {200, 204}, sent.text
    # She polls her upload until it is ready (the drain route waits for the pipeline instead of sleeping)
    status = None
    for _ in range(20):
        status = requests.get(f"{base}/uploads/{grant['upload_id']}", headers=alice, timeout=10).json()
        if status["status"] in {"ready", "rejected", "failed"}:
            break
        requests.post(f"{base}/_local/drain", timeout=120)
    assert status is not None and status["status"] == "ready", status
    # Bob finds the post in his feed, with nine image URLs that each serve the right type
    feed = requests.get(f"{base}/feed", headers=bob, timeout=10).json()
    assert [p["post_id"] for p in feed["items"]] == [grant["target_id"]]
    images = feed["items"][0]["images"]
    expected = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
    urls = [(fmt, url) for formats in images.values() for fmt, url in formats.items()]
    assert len(urls) == 9
    for fmt, url in urls:
        assert url.startswith(f"{base}/cdn/images/")
        served = requests.get(url, timeout=10)
        assert served.status_code == 200
        assert served.headers["Content-Type"] == expected[fmt]
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert len(served.content) > 100
    assert requests.get(f"{base}/cdn/images/1/2/640.jpg", timeout=5).status_code == 404
    # A browser naming AVIF gets AVIF from any of the post's URLs, the CDN negotiating by Accept
    jpeg_url = images["640"]["jpeg"]
    negotiated = requests.get(jpeg_url, headers={"Accept": "image/avif,image/webp,*/*"}, timeout=10)
    assert negotiated.headers["Content-Type"] == "image/avif" and negotiated.headers["Vary"] == "Accept"

    # Bob likes and comments, mentioning carol; alice and carol are notified
    post_id = grant["target_id"]
    _, carol = _sign_up(base, "carol_e2e")
    assert requests.put(f"{base}/posts/{post_id}/like", headers=bob, timeout=10).json() == {
        "liked": True,
        "like_count": 1,
    }
    comment = requests.post(
        f"{base}/posts/{post_id}/comments", headers=bob, timeout=10, json={"text": "great shot @carol_e2e"}
    )
    assert comment.status_code == 201
    requests.post(f"{base}/_local/drain", timeout=60)
    inbox = requests.get(f"{base}/notifications", headers=alice, timeout=10).json()
    assert sorted(n["type"] for n in inbox["items"]) == ["comment", "follow", "like"]
    assert inbox["unread_count"] == 3
    assert [n["type"] for n in requests.get(f"{base}/notifications", headers=carol, timeout=10).json()["items"]] == [
        "mention"
    ]
    shown = requests.get(f"{base}/posts/{post_id}", headers=alice, timeout=10).json()
    assert (shown["like_count"], shown["comment_count"]) == (1, 1)
    assert shown["comment_preview"][0]["text"] == "great shot @carol_e2e"
    # The minute job runs on request, and the like count reaches DynamoDB
    flushed = requests.post(f"{base}/_local/run/counters_flush", timeout=30)
    assert flushed.status_code == 200


def test_the_control_routes_answer(local_platform: str) -> None:
    base = local_platform
    assert requests.post(f"{base}/_local/drain", timeout=60).status_code == 200
    moved = requests.post(f"{base}/_local/clock", json={"advance_seconds": 3600}, timeout=5)
    assert moved.status_code == 200 and moved.json()["offset_seconds"] >= 3600
    for nonsense in ("-1", "NaN", "1e400", "true", '"soon"'):  # (Python's JSON reads NaN and 1e400 as floats)
        body = '{"advance_seconds": ' + nonsense + "}"
        refused = requests.post(
            f"{base}/_local/clock", data=body, headers={"content-type": "application/json"}, timeout=5
        )
        assert refused.status_code == 422, nonsense
    assert requests.post(f"{base}/auth/signup", json={}, timeout=5).status_code == 422  # the platform still answers
    _, _ = _sign_up(base, "carol")
    granted = requests.post(f"{base}/_local/moderator", json={"username": "carol"}, timeout=5)
    assert granted.status_code == 200 and granted.json()["group"] == "moderators"
    assert requests.post(f"{base}/_local/moderator", json={"username": "nobody"}, timeout=5).status_code == 404
    unknown = requests.post(f"{base}/_local/run/no_such_job", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_job"
    # What moto holds (a soak's memory figures): carol's account at least; allocations only when asked to trace
    held = requests.post(f"{base}/_local/memory", timeout=60).json()
    assert held["moto"]["dynamodb_items"] > 0 and held["moto"]["dynamodb_bytes"] > 0
    assert "traced_bytes" not in held


def test_a_story_lives_a_day_over_http(local_platform: str) -> None:
    base = local_platform
    dana_id, dana = _sign_up(base, "dana")
    _, erin = _sign_up(base, "erin")
    requests.put(f"{base}/users/{dana_id}/follow", headers=erin, timeout=10)
    photo = jpeg_bytes(1080, 1920)
    ask = {"kind": "story", "content_type": "image/jpeg", "content_length": len(photo)}
    grant = requests.post(f"{base}/uploads", headers=dana, timeout=10, json=ask).json()
    requests.post(grant["url"], data=grant["fields"], files={"file": ("s.jpg", photo, "image/jpeg")}, timeout=30)
    requests.post(f"{base}/_local/drain", timeout=120)
    # Erin sees dana in her tray, watches the story, and dana sees who watched
    tray = requests.get(f"{base}/stories/tray", headers=erin, timeout=10).json()["items"]
    assert [(e["user"]["username"], e["has_unseen"]) for e in tray] == [("dana", True)]
    story = requests.get(f"{base}/users/{dana_id}/stories", headers=erin, timeout=10).json()["items"][0]
    assert requests.get(story["images"]["1080"]["webp"], timeout=10).headers["Content-Type"] == "image/webp"
    assert requests.post(f"{base}/stories/{story['story_id']}/views", headers=erin, timeout=10).status_code == 204
    requests.post(f"{base}/_local/drain", timeout=60)
    viewers = requests.get(f"{base}/stories/{story['story_id']}/viewers", headers=dana, timeout=10).json()
    assert viewers["view_count"] == 1 and [v["user"]["username"] for v in viewers["items"]] == ["erin"]
    # A day later it is gone, and the expiry job deletes its images (dana keeps no highlights)
    requests.post(f"{base}/_local/clock", json={"advance_seconds": 86_401}, timeout=5)
    assert requests.get(f"{base}/stories/tray", headers=erin, timeout=10).json()["items"] == []
    assert requests.post(f"{base}/_local/run/story_expiry", timeout=60).status_code == 200
    assert requests.get(story["images"]["1080"]["jpeg"], timeout=10).status_code == 404


def test_explore_over_http(local_platform: str) -> None:
    base = local_platform
    frank_id, frank = _sign_up(base, "frank")
    _, gina = _sign_up(base, "gina")
    _, hank = _sign_up(base, "hank")
    photo = jpeg_bytes(1200, 1200)
    ask = {"content_type": "image/jpeg", "content_length": len(photo), "hashtags": ["sunset"]}
    grant = requests.post(f"{base}/uploads", headers=frank, timeout=10, json=ask).json()
    requests.post(grant["url"], data=grant["fields"], files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=30)
    requests.post(f"{base}/_local/drain", timeout=120)
    post_id = requests.get(f"{base}/users/{frank_id}/posts", headers=gina, timeout=10).json()["items"][0]["post_id"]
    assert requests.put(f"{base}/posts/{post_id}/like", headers=gina, timeout=10).status_code == 200
    requests.post(f"{base}/_local/drain", timeout=60)
    # Once the explore refresh has run, a newcomer who follows nobody finds frank's post, its images served
    assert requests.post(f"{base}/_local/run/explore_refresh", timeout=120).status_code == 200
    page = requests.get(f"{base}/explore", headers=hank, timeout=30).json()
    found = next(p for p in page["items"] if p["post_id"] == post_id)
    assert found["author"]["username"] == "frank" and found["hashtags"] == ["sunset"]
    assert requests.get(found["images"]["640"]["webp"], timeout=10).headers["Content-Type"] == "image/webp"


def test_the_web_app_is_served_at_app_with_its_config(local_platform: str) -> None:
    base = local_platform
    index = requests.get(f"{base}/app/", timeout=5)
    assert index.status_code == 200 and index.headers["Content-Type"].startswith("text/html")
    assert '<div id="root">' in index.text and index.headers["Cache-Control"] == "no-cache"
    # A deep link to any screen is the same page (the app routes by URL); a missing file is a 404
    for screen in ("/app/u/someone", "/app/p/123", "/app/notifications", "/app"):
        deep = requests.get(base + screen, timeout=5)
        assert deep.status_code == 200 and deep.text == index.text, screen
    assert requests.get(f"{base}/app/assets/nope.js", timeout=5).status_code == 404
    # Built assets never change under their hashed names; the favicon is there
    script = index.text.split('src="/app/', 1)[1].split('"', 1)[0]
    asset = requests.get(f"{base}/app/{script}", timeout=5)
    assert asset.status_code == 200 and asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert requests.get(f"{base}/app/favicon.svg", timeout=5).headers["Content-Type"].startswith("image/svg+xml")
    # config.json says where the API is (this origin) and which Cognito client it is
    config = requests.get(f"{base}/app/config.json", timeout=5).json()
    assert config["api_url"] == base and config["cdn_base"] == f"{base}/cdn" and config["user_pool_client_id"]

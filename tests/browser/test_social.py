"""Two people use Aperture in their browsers: follow, post a photo, like it, comment, watch a story, scroll."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Response, Route, expect

from tests.browser.helpers import (
    DESKTOP,
    PROCESSED_MS,
    Person,
    drained_until,
    follow_through_the_api,
    in_the_feed,
    in_the_tray,
    photo_bytes,
    photo_file,
    post_through_the_api,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


def share_photo(person: Person, photo: Path, caption: str = "", kind: str = "Post") -> None:
    page = person.page
    page.get_by_role("button", name="New post").click()
    page.get_by_role("dialog", name="New post").get_by_text(kind, exact=True).click()
    dialog = page.get_by_role("dialog", name=f"New {kind.lower()}")
    dialog.get_by_label("Photo").set_input_files(photo)
    if caption:
        dialog.get_by_label("Caption").fill(caption)
    dialog.get_by_role("button", name="Share").click()


def test_a_photo_goes_from_the_page_to_a_followers_feed(people: People, runtime: LocalRuntime, tmp_path: Path) -> None:
    ann, bob = people("ann"), people("bob")
    # Bob follows Ann from her profile
    page = bob.go(f"/app/u/{ann.username}")
    expect(page.get_by_role("heading", name=ann.username)).to_be_visible()
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(page.get_by_role("link", name="1 follower")).to_be_visible()
    # Ann posts a real photo through the page, on a slow uplink: a preview, then the bytes' progress, then processing
    ann.slow_uploads(48 * 1024)
    page = ann.page
    page.get_by_role("button", name="New post").click()
    dialog = page.get_by_role("dialog", name="New post")
    dialog.get_by_label("Photo").set_input_files(photo_file(tmp_path, "coffee.jpg", "astronaut", quality=95))
    expect(dialog.get_by_role("img", name="Preview of the photo you chose")).to_be_visible()
    dialog.get_by_label("Caption").fill("First light over the launch pad #space")
    dialog.get_by_label("Location").fill("Houston")
    dialog.get_by_role("button", name="Share").click()
    expect(dialog.get_by_role("progressbar", name="Upload progress")).to_be_visible()
    page.wait_for_function(
        "() => { const p = document.querySelector('progress'); return p && p.value > 0 && p.value < 100 }"
    )
    expect(dialog.get_by_text(re.compile(r"Processing your post"))).to_be_visible()
    # When it is ready, the page opens the new post
    page.wait_for_url(re.compile(r"/app/p/\d+$"), timeout=PROCESSED_MS)
    post_id = page.url.rsplit("/", 1)[1]
    own = page.get_by_role("article", name=f"Post by {ann.username}")
    expect(own.get_by_role("img", name="First light over the launch pad #space")).to_be_visible()
    expect(own.get_by_text("Houston")).to_be_visible()
    runtime.drain()
    # Bob's feed shows it: a blurhash placeholder while the image is held back, then the image
    held: list[Route] = []
    bob.page.route("**/cdn/images/**", lambda route: held.append(route))  # noqa: PLW0108 (Playwright wraps handlers)
    page = bob.go("/app/")
    article = page.get_by_role("article", name=f"Post by {ann.username}")
    image = article.get_by_role("img", name="First light over the launch pad #space")
    expect(image).to_have_attribute("srcset", re.compile(rf"/{post_id}/640\.jpg 640w, \S+/{post_id}/1080\.jpg 1080w$"))
    expect(image).to_have_attribute("sizes", "(min-width: 768px) 470px, 100vw")
    expect(image).to_have_attribute("loading", "eager")  # the first posts load at once; later ones lazily
    expect(image).to_have_attribute("width", re.compile(r"^\d+$"))
    expect(image).to_have_attribute("height", re.compile(r"^\d+$"))
    expect(article.locator(".photo")).to_have_attribute(
        "style", re.compile(r"background-image: url\(\"?data:image/png")
    )
    for route in held:
        route.continue_()
    bob.page.unroute("**/cdn/images/**")
    expect(image).to_have_class("loaded")
    expect(article.locator(".photo")).not_to_have_attribute("style", re.compile("background-image"))
    assert image.evaluate("img => img.naturalWidth") > 0
    expect(article.get_by_role("link", name=ann.username).first).to_have_attribute("href", f"/app/u/{ann.username}")
    expect(article.get_by_text("#space", exact=True)).to_have_class("tag")


def test_a_double_tap_likes_and_the_author_sees_it_in_the_badge(people: People, runtime: LocalRuntime) -> None:
    cleo, dev = people("cleo"), people("dev")
    follow_through_the_api(dev, cleo)
    post_id = post_through_the_api(cleo, photo_bytes("chelsea"), "Sunday nap")
    drained_until(runtime, in_the_feed(dev, post_id))
    page = dev.go("/app/")
    article = page.get_by_role("article", name=f"Post by {cleo.username}")
    like = article.get_by_role("button", name="Like")
    expect(like).to_have_attribute("aria-pressed", "false")
    # Dev double-taps the photo with a finger
    media = article.locator(".post-media")
    media.scroll_into_view_if_needed()
    box = media.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with page.expect_response(lambda r: r.url.endswith("/like") and r.request.method == "PUT") as liked:
        # Two raw touches back to back, as a finger does: locator.tap() waits for actionability before each touch,
        # which on a loaded machine can put them further apart than a double tap
        page.touchscreen.tap(x, y)
        page.touchscreen.tap(x, y)
    assert liked.value.json()["liked"] is True
    unlike = article.get_by_role("button", name="Unlike")
    expect(unlike).to_have_attribute("aria-pressed", "true")
    expect(article.get_by_text("Liked by you")).to_be_visible()
    runtime.drain()
    # Cleo's navigation counts two unread notifications (the follow and the like); opening them shows the like and
    # clears the badge
    page = cleo.go("/app/")
    expect(page.get_by_role("link", name="Notifications, 2 unread")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=f"{dev.username} liked your post.")).to_be_visible()
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    # The heart undoes it
    page = dev.page
    unlike.click()
    expect(article.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "false")


def test_grouped_likes_read_as_one_notification(people: People, runtime: LocalRuntime) -> None:
    star = people("star")
    post_id = post_through_the_api(star, photo_bytes("rocket"), "Lift-off")
    runtime.drain()
    fans = [people(f"fan{n}") for n in range(3)]
    for fan in fans:
        assert fan.api("PUT", f"/posts/{post_id}/like").status_code == 200
    runtime.drain()
    page = star.go("/app/notifications")
    expect(page.get_by_role("listitem").filter(has_text=re.compile(r" and 2 others liked your post\."))).to_be_visible()


def test_a_comment_appears_for_both(people: People, runtime: LocalRuntime) -> None:
    emma, finn = people("emma"), people("finn")
    follow_through_the_api(finn, emma)
    post_id = post_through_the_api(emma, photo_bytes("coffee"), "Flat white")
    runtime.drain()
    # Finn opens the composer from the feed's Comment button and comments
    page = finn.go("/app/")
    page.get_by_role("article", name=f"Post by {emma.username}").get_by_role("button", name="Comment").click()
    page.wait_for_url(re.compile(rf"/app/p/{post_id}"))
    composer = page.get_by_label("Add a comment")
    expect(composer).to_be_focused()
    composer.fill(f"Looks perfect @{emma.username}")
    page.get_by_role("button", name="Post", exact=True).click()
    comments = page.get_by_role("region", name=re.compile("comment"))
    expect(comments.get_by_text("Looks perfect")).to_be_visible()
    expect(comments.get_by_role("heading", name="1 comment")).to_be_visible()
    runtime.drain()
    # Emma sees it under her post, with the mention linked, and in her feed's preview
    page = emma.go(f"/app/p/{post_id}")
    comment = page.get_by_role("listitem").filter(has_text="Looks perfect")
    expect(comment.get_by_role("link", name=finn.username)).to_be_visible()
    expect(comment.get_by_role("link", name=f"@{emma.username}")).to_be_visible()
    page = emma.go("/app/")
    expect(page.get_by_role("article", name=f"Post by {emma.username}").get_by_text("Looks perfect")).to_be_visible()
    # She can delete it, as the post's author
    page = emma.go(f"/app/p/{post_id}")
    page.get_by_role("button", name="Delete comment").click()
    expect(page.get_by_text("No comments yet.")).to_be_visible()


def test_a_story_shows_unseen_plays_then_shows_seen_and_its_viewer(
    people: People, runtime: LocalRuntime, tmp_path: Path
) -> None:
    gail, hugo = people("gail"), people("hugo")
    follow_through_the_api(hugo, gail)
    # Gail shares a story from the page
    share_photo(gail, photo_file(tmp_path, "story.jpg", "astronaut"), kind="Story")
    expect(gail.page.get_by_role("dialog", name="New story")).to_be_hidden(timeout=60_000)
    expect(gail.page.get_by_role("button", name="Your story, 1 story")).to_be_visible()
    drained_until(runtime, in_the_tray(hugo, gail))
    # Hugo's tray shows her ring as unseen; the story plays, then closes by itself
    page = hugo.go("/app/")
    ring = page.get_by_role("button", name=f"Story by {gail.username}, unseen")
    expect(ring).to_be_visible()
    expect(ring.locator(".ring-unseen")).to_have_count(1)
    ring.click()
    viewer = page.get_by_role("dialog", name=f"Stories by {gail.username}")
    expect(viewer.get_by_role("img", name=re.compile(f"^Story by {gail.username}"))).to_be_visible()
    expect(viewer).to_be_hidden(timeout=15_000)  # 5 s a story, then the viewer closes
    expect(page.get_by_role("button", name=f"Story by {gail.username}, seen")).to_be_visible()
    runtime.drain()
    # Gail, watching her own story, sees one viewer: Hugo
    page = gail.go("/app/")
    page.get_by_role("button", name="Your story, 1 story").click()
    own = page.get_by_role("dialog", name=f"Stories by {gail.username}")
    own.get_by_role("button", name="Seen by 1 person").click()
    viewers = page.get_by_role("dialog", name="1 viewer")
    expect(viewers.get_by_role("link", name=hugo.username)).to_be_visible()
    viewers.get_by_role("button", name="Close").click()
    page.keyboard.press("Escape")
    expect(own).to_be_hidden()


def test_the_story_viewer_works_by_touch_and_from_the_keyboard(people: People, runtime: LocalRuntime) -> None:
    iris, jack = people("iris"), people("jack")
    follow_through_the_api(jack, iris)
    for subject in ("coffee", "chelsea"):
        post_through_the_api(iris, photo_bytes(subject), kind="story")
    drained_until(runtime, in_the_tray(jack, iris, stories=2))
    page = jack.go("/app/")
    ring = page.get_by_role("button", name=f"Story by {iris.username}, unseen")
    ring.focus()
    page.keyboard.press("Enter")
    viewer = page.get_by_role("dialog", name=f"Stories by {iris.username}")
    expect(viewer.get_by_text(re.compile(r"^Story \d of 2$"))).to_be_attached()
    # Holding a finger on the playing story pauses it (the bar stops); letting go plays on
    expect(viewer.get_by_role("img", name=re.compile(f"^Story by {iris.username}"))).to_be_visible()
    expect(viewer.locator(".story-bar .filling")).to_have_css("animation-play-state", "running")
    stage = viewer.locator(".story-stage")
    box = stage.bounding_box()
    assert box is not None
    touch = jack.context.new_cdp_session(page)
    point = [{"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}]
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
    bar = viewer.locator(".story-bar .filling")
    expect(bar).to_have_css("animation-play-state", "paused")
    # (measured once the pause has reached a painted frame, then ten frames later: the bar has not moved)
    held_at, later = bar.evaluate(
        """async bar => {
            const frame = () => new Promise(done => requestAnimationFrame(done));
            await frame();
            await frame();
            const first = bar.getBoundingClientRect().width;
            for (let n = 0; n < 10; n++) await frame();
            return [first, bar.getBoundingClientRect().width];
        }"""
    )
    assert later == held_at
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(bar).to_have_css("animation-play-state", "running")
    # Paused from the keyboard (so the clock cannot move on by itself), taps move between the stories
    viewer.get_by_role("button", name="Pause").click()
    expect(viewer.get_by_role("button", name="Pause")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(viewer.get_by_text("Story 1 of 2")).to_be_attached()
    stage.tap(position={"x": box["width"] * 0.8, "y": box["height"] / 2})
    expect(viewer.get_by_text("Story 2 of 2")).to_be_attached()
    stage.tap(position={"x": box["width"] * 0.1, "y": box["height"] / 2})
    expect(viewer.get_by_text("Story 1 of 2")).to_be_attached()
    # And the arrow keys do the same
    page.keyboard.press("ArrowRight")
    expect(viewer.get_by_text("Story 2 of 2")).to_be_attached()
    page.keyboard.press("ArrowLeft")
    expect(viewer.get_by_text("Story 1 of 2")).to_be_attached()
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(ring).to_be_focused()


def test_expired_stories_play_as_highlights_from_the_profile(people: People, runtime: LocalRuntime) -> None:
    yara, zeke = people("yara"), people("zeke")
    follow_through_the_api(zeke, yara)
    page = yara.go("/app/settings")
    page.get_by_label("Keep my stories as highlights").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    post_through_the_api(yara, photo_bytes("rocket"), kind="story")
    runtime.drain()
    # A day later the expiry job archives it
    assert requests.post(f"{runtime.base}/_local/clock", json={"advance_seconds": 86_401}, timeout=10).ok
    assert requests.post(f"{runtime.base}/_local/run/story_expiry", timeout=60).ok
    page = zeke.go(f"/app/u/{yara.username}")
    highlights = page.get_by_role("region", name="Highlights")
    highlights.get_by_role("button", name=re.compile(r"^Highlight from ")).click()
    viewer = page.get_by_role("dialog", name=f"Stories by {yara.username}")
    expect(viewer.get_by_role("img", name=re.compile(f"^Story by {yara.username}"))).to_be_visible()
    expect(viewer.get_by_role("button", name=re.compile("^Seen by"))).to_have_count(0)
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def test_scrolling_loads_the_next_page_a_deep_link_loads_and_back_returns(
    people: People, runtime: LocalRuntime
) -> None:
    kate, liam = people("kate"), people("liam")
    follow_through_the_api(liam, kate)
    body = photo_bytes("coffee", quality=60)
    for n in range(12):
        post_through_the_api(kate, body, f"Cup number {n}")
    runtime.drain()
    # A page is ten posts; scrolling to the end brings the other two
    page = liam.go("/app/")
    posts = page.get_by_role("article")
    expect(posts).to_have_count(10)
    posts.last.scroll_into_view_if_needed()
    expect(posts).to_have_count(12)
    expect(page.get_by_text("You're all caught up.")).to_be_visible()
    expect(page.get_by_role("img", name="Cup number 0")).to_be_visible()  # the oldest
    # The first photos load at once, the rest as they come near the screen
    expect(page.get_by_role("img", name="Cup number 11")).to_have_attribute("loading", "eager")
    expect(page.get_by_role("img", name="Cup number 5")).to_have_attribute("loading", "lazy")
    # The author's name opens her profile; Back returns to the feed where it was, at the same post
    posts.last.get_by_role("link", name=kate.username).first.click()
    expect(page.get_by_role("heading", name=kate.username)).to_be_visible()
    expect(page.get_by_text("12 posts")).to_be_visible()
    page.go_back()
    expect(posts).to_have_count(12)
    expect(posts.last).to_be_in_viewport()
    page.go_forward()
    expect(page.get_by_role("heading", name=kate.username)).to_be_visible()
    page.go_back()
    expect(posts.last).to_be_in_viewport()
    # A deep link to the profile loads it directly, with its grid
    page = liam.go(f"/app/u/{kate.username}")
    expect(page.get_by_role("heading", name=kate.username)).to_be_visible()
    expect(page.get_by_role("list", name=f"Posts by {kate.username}").get_by_role("listitem")).to_have_count(12)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/app/$"))
    expect(page.get_by_role("article").first).to_be_visible()


def test_a_photo_dropped_on_the_dialog_is_chosen(people: People, tmp_path: Path) -> None:
    opal = people("opal", DESKTOP)
    page = opal.page
    page.get_by_role("button", name="New post").click()
    dialog = page.get_by_role("dialog", name="New post")
    # A file dragged from the desktop and dropped on the drop zone
    photo = photo_file(tmp_path, "dropped.jpg", "chelsea")
    transfer = page.evaluate_handle(
        """async ([bytes, name]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "image/jpeg" }));
            return transfer;
        }""",
        [list(photo.read_bytes()), photo.name],
    )
    zone = dialog.locator(".dropzone")
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(zone).to_have_class(re.compile("dragging"))
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    expect(dialog.get_by_role("img", name="Preview of the photo you chose")).to_be_visible()
    dialog.get_by_label("Caption").fill("Dropped in")
    dialog.get_by_role("button", name="Share").click()
    page.wait_for_url(re.compile(r"/app/p/\d+$"), timeout=PROCESSED_MS)
    expect(page.get_by_role("article").get_by_role("img", name="Dropped in")).to_be_visible()


def test_a_refused_upload_shows_the_apis_reason(people: People, tmp_path: Path) -> None:
    mona = people("mona")
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is a text file, not a photograph\n" * 20)
    statuses: list[Response] = []
    # (the responses only: reading a body inside the event handler is a driver round trip that can come too late)
    mona.page.on("response", lambda r: "/uploads/" in r.url and r.request.method == "GET" and statuses.append(r))
    share_photo(mona, fake, caption="holiday")
    alert = mona.page.get_by_role("dialog", name="New post").get_by_role("alert")
    expect(alert).to_contain_text("Your post was not shared:")
    reason = next(r for r in (s.json().get("reason") for s in reversed(statuses)) if r)
    expect(alert).to_have_text(f"Your post was not shared: {reason}")


def test_the_author_deletes_a_post_from_its_page(people: People, runtime: LocalRuntime) -> None:
    nina = people("nina")
    post_id = post_through_the_api(nina, photo_bytes("rocket"), "Not my best")
    runtime.drain()
    page = nina.go(f"/app/p/{post_id}")
    page.get_by_role("button", name="Delete post").click()
    confirm = page.get_by_role("dialog", name="Delete this post?")
    confirm.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(rf"/app/u/{nina.username}$"))
    expect(page.get_by_text("No posts yet")).to_be_visible()
    page = nina.go(f"/app/p/{post_id}")
    expect(page.get_by_role("heading", name="This post isn't available")).to_be_visible()


def test_watching_goes_on_to_the_next_person_and_every_viewing_starts_afresh(
    people: People, runtime: LocalRuntime
) -> None:
    rhea, saul, tina = people("rhea"), people("saul"), people("tina")
    for author in (rhea, saul):
        follow_through_the_api(tina, author)
        post_through_the_api(author, photo_bytes("coffee"), kind="story")
    post_through_the_api(tina, photo_bytes("chelsea"), kind="story")
    drained_until(runtime, lambda: in_the_tray(tina, rhea)() and in_the_tray(tina, saul)())
    page = tina.go("/app/")
    tray = page.get_by_role("region", name="Stories")
    expect(tray.get_by_role("button", name=re.compile(r", unseen$"))).to_have_count(2)
    # Past the last story of the first person comes the next person's
    first = tray.get_by_role("button", name=re.compile(r", unseen$")).first
    first_name = (first.get_attribute("aria-label") or "").removeprefix("Story by ").removesuffix(", unseen")
    second_name = ({rhea.username, saul.username} - {first_name}).pop()
    first.click()
    playing = page.get_by_role("dialog", name=f"Stories by {first_name}")
    playing.get_by_role("button", name="Pause").click()  # so the clock cannot move on by itself meanwhile
    page.keyboard.press("ArrowRight")
    viewer = page.get_by_role("dialog", name=f"Stories by {second_name}")
    expect(viewer.get_by_role("img", name=re.compile(f"^Story by {second_name}"))).to_be_visible()
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    # Then her own story opens from the start, playing, even though the last viewing ended on another person
    tray.get_by_role("button", name="Your story, 1 story").click()
    own = page.get_by_role("dialog", name=f"Stories by {tina.username}")
    expect(own.get_by_role("img", name=re.compile(f"^Story by {tina.username}"))).to_be_visible()
    expect(own.get_by_role("button", name="Pause")).to_have_attribute("aria-pressed", "false")
    expect(own.get_by_role("button", name="Seen by 0 people")).to_be_visible()


def test_unfollowing_and_the_lists_of_follows(people: People) -> None:
    uri, vic = people("uri"), people("vic")
    page = vic.go(f"/app/u/{uri.username}")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("link", name="1 follower")).to_be_visible()
    page.get_by_role("link", name="1 follower").click()
    expect(page.get_by_role("main").get_by_role("link", name=vic.username)).to_be_visible()
    page = vic.go(f"/app/u/{vic.username}/following")
    expect(page.get_by_role("main").get_by_role("link", name=uri.username)).to_be_visible()
    page = vic.go(f"/app/u/{uri.username}")
    page.get_by_role("button", name="Unfollow").click()
    expect(page.get_by_role("link", name="0 followers")).to_be_visible()
    page = vic.go(f"/app/u/{vic.username}/following")
    expect(page.get_by_role("heading", name="Not following anyone yet.")).to_be_visible()


def test_a_double_click_likes_on_a_desktop_and_the_likes_list_names_everyone(
    people: People, runtime: LocalRuntime
) -> None:
    wren, xavi, yuki = people("wren"), people("xavi", DESKTOP), people("yuki")
    follow_through_the_api(xavi, wren)
    post_id = post_through_the_api(wren, photo_bytes("astronaut"), "Countdown")
    runtime.drain()
    assert yuki.api("PUT", f"/posts/{post_id}/like").status_code == 200
    page = xavi.go("/app/")
    article = page.get_by_role("article", name=f"Post by {wren.username}")
    with page.expect_response(lambda r: r.url.endswith(f"/posts/{post_id}/like")) as liked:
        article.get_by_role("img", name="Countdown").dblclick()
    expect(article.get_by_role("button", name="Unlike")).to_have_attribute("aria-pressed", "true")
    assert liked.value.json() == {"liked": True, "like_count": 2}
    # "Liked by yuki and 1 other": the others open the list of everyone who liked it
    page = xavi.go(f"/app/p/{post_id}")
    page.get_by_role("button", name="1 other").click()
    likes = page.get_by_role("dialog", name="Likes")
    expect(likes.get_by_role("link", name=yuki.username)).to_be_visible()
    expect(likes.get_by_role("link", name=xavi.username)).to_be_visible()


def test_a_failed_upload_is_retried_with_what_was_changed_meanwhile(
    people: People, tmp_path: Path, runtime: LocalRuntime
) -> None:
    zara = people("zara")
    page = zara.page
    # The first send to storage fails on the network; the next ones go through
    failed: list[str] = []

    def once(route: Route) -> None:
        if route.request.method == "POST" and not failed:
            failed.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route(re.compile(r"/aperture-media"), once)
    page.get_by_role("button", name="New post").click()
    dialog = page.get_by_role("dialog", name="New post")
    dialog.get_by_label("Photo").set_input_files(photo_file(tmp_path, "retry.jpg", "coffee"))
    dialog.get_by_label("Caption").fill("First try")
    dialog.get_by_role("button", name="Share").click()
    expect(dialog.get_by_role("alert")).to_contain_text("could not be sent")
    # She changes the caption and tries again: the post carries the new one
    dialog.get_by_label("Caption").fill("Second try")
    dialog.get_by_role("button", name="Try again").click()
    page.wait_for_url(re.compile(r"/app/p/\d+$"), timeout=PROCESSED_MS)
    expect(page.get_by_role("article").get_by_role("img", name="Second try")).to_be_visible()
    assert len(failed) == 1


def test_a_comment_whose_answer_was_lost_is_posted_once_when_sent_again(people: People, runtime: LocalRuntime) -> None:
    emma, finn = people("emma"), people("finn")
    post_id = post_through_the_api(emma, photo_bytes("coffee"), "Flat white")
    runtime.drain()
    page = finn.go(f"/app/p/{post_id}")
    # The first comment reaches Aperture, but its answer is lost on the way back
    lost: list[str] = []

    def answer_lost(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()  # the server handles it...
            lost.append(route.request.headers.get("idempotency-key", ""))
            route.abort()  # ...and the browser never hears back
        else:
            route.continue_()

    page.route(re.compile(rf"/posts/{post_id}/comments$"), answer_lost)
    page.get_by_label("Add a comment").fill("Worth the queue")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("can't be reached")
    # Finn presses Post again: the comment shows once, for him and for Emma
    page.get_by_role("button", name="Post", exact=True).click()
    comments = page.get_by_role("region", name=re.compile("comment"))
    expect(comments.get_by_role("heading", name="1 comment")).to_be_visible()
    expect(comments.get_by_text("Worth the queue")).to_have_count(1)
    assert lost and lost[0]  # the lost attempt carried a key, and the second was sent under it
    runtime.drain()
    listed = emma.api("GET", f"/posts/{post_id}/comments").json()["items"]
    assert [c["text"] for c in listed] == ["Worth the queue"]

"""Reports and the moderation queue through the HTTP API: one entry per target, most reported first; reporting
again is a no-op; nothing is reportable that the reporter cannot see; moderators alone see and resolve the queue;
and every resolution is done exactly once under retries (docs/reliability.md)."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from PIL import Image

from aperture import wiring
from aperture.adapters.aws import client, dynamo_table
from aperture.reports import Reports
from aperture.settings import get_settings
from local.pump import EventPump
from local.seeding import Account, publish_post, publish_story
from tests.faults import FailAfter, InjectedFaultError
from tests.support import PASSWORD, Api, upload_photo


def _moderator(api: Api) -> Account:
    account = api.sign_up("mod")
    client("cognito-idp").admin_add_user_to_group(
        UserPoolId=get_settings().user_pool_id, Username=account.username, GroupName=get_settings().moderator_group
    )
    token = api.call("POST", "/auth/token", json={"username": account.username, "password": PASSWORD}).json
    return replace(account, token=token["id_token"])


def _report(api: Api, who: Account, reason: str = "spam", **target: str) -> Any:
    return api.call("POST", "/reports", who, json={"target": target, "reason": reason})


def _queue(api: Api, moderator: Account, status: str = "open", **query: Any) -> list[dict[str, Any]]:
    response = api.call("GET", "/admin/reports", moderator, query_string={"status": status, "limit": 50, **query})
    assert response.status_code == 200, response.json
    return list(response.json["items"])


def _entry(api: Api, moderator: Account, report_id: str, status: str = "open") -> dict[str, Any] | None:
    return next((e for e in _queue(api, moderator, status) if e["report_id"] == report_id), None)


def _resolve(api: Api, moderator: Account, report_id: str, action: str) -> Any:
    return api.call("POST", f"/admin/reports/{report_id}/resolve", moderator, json={"action": action})


def _photo(seed: int) -> bytes:
    """A photo of its own: coarse random blocks, so its perceptual hash is near no other test's photo (a blocked
    hash refuses every later upload of the session that looks like it)."""
    rng = random.Random(f"reports-{seed}")
    small = Image.new("RGB", (8, 8))
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64)])
    out = io.BytesIO()
    small.resize((800, 800), Image.Resampling.NEAREST).save(out, "JPEG", quality=90)
    return out.getvalue()


def _published_photo(api: Api, pump: EventPump, author: Account, seed: int) -> str:
    grant = upload_photo(api, author, _photo(seed))
    pump.drain()
    return str(grant["target_id"])


def _deletions_of(post_id: str) -> int:
    """How many PostDeleted events the outbox holds for the post (what starts its cascade)."""
    table = dynamo_table(get_settings().table_outbox)
    items = table.scan(FilterExpression=Attr("event").contains('"post_deleted"'))["Items"]
    return sum(1 for item in items if f'"post_id":{post_id}' in str(item["event"]).replace(" ", ""))


def test_reporting_twice_files_one_report_and_others_add_to_the_same_entry(api: Api) -> None:
    # Given alice's post, reported by bob
    alice, bob, carol, moderator = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol"), _moderator(api)
    post = publish_post(alice)
    first = _report(api, bob, "spam", post_id=post)
    assert first.status_code == 201, first.json
    # When bob reports it again, and carol reports it for another reason
    again = _report(api, bob, "hate", post_id=post)
    by_carol = _report(api, carol, "nudity", post_id=post)
    # Then bob's second report is his first (200, same id), carol's is her own, and the queue has one entry for it
    assert again.status_code == 200 and again.json == first.json
    assert by_carol.status_code == 201 and by_carol.json["report_id"] != first.json["report_id"]
    entry = _entry(api, moderator, first.json["report_id"])
    assert entry is not None
    assert entry["target"] == {"post_id": post}
    assert entry["report_count"] == 2 and entry["reasons"] == ["nudity", "spam"]
    assert entry["status"] == "open" and entry["account_id"] == alice.user_id
    assert entry["preview"]["author"]["username"] == alice.username
    # And no reporter is named anywhere in what the queue shows
    assert bob.user_id not in str(entry) and carol.user_id not in str(entry)


def test_the_queue_is_most_reported_first_and_pages_with_a_cursor(api: Api) -> None:
    alice, moderator = api.sign_up("alice"), _moderator(api)
    reporters = [api.sign_up("rep") for _ in range(3)]
    posts = [publish_post(alice) for _ in range(3)]
    ids = {}
    for post, how_many in zip(posts, (1, 3, 2), strict=True):
        for reporter in reporters[:how_many]:
            ids.setdefault(post, _report(api, reporter, post_id=post).json["report_id"])
    # Then the entries come most reported first, a page at a time, without repeats
    seen: list[tuple[int, str]] = []
    cursor = None
    while True:
        query = {"status": "open", "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", "/admin/reports", moderator, query_string=query)
        assert page.status_code == 200, page.json
        seen += [(e["report_count"], e["report_id"]) for e in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    counts = [count for count, _ in seen]
    assert counts == sorted(counts, reverse=True)
    mine = [report_id for _, report_id in seen if report_id in ids.values()]
    assert mine == [ids[posts[1]], ids[posts[2]], ids[posts[0]]]
    # And a cursor that is not ours, or another list's, is a 422
    for bad in ("nonsense", cursor_of_other_status(api, moderator)):
        response = api.call("GET", "/admin/reports", moderator, query_string={"status": "open", "cursor": bad})
        assert response.status_code == 422 and response.json["error"]["code"] == "invalid_cursor"


def cursor_of_other_status(api: Api, moderator: Account) -> str:
    import base64
    import json

    key = {"status": "resolved", "report_count": 1, "target": "post:1"}
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_only_what_the_reporter_can_see_can_be_reported(api: Api) -> None:
    alice, bob, priv = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("priv")
    post, story = publish_post(alice), publish_story(alice)
    comment = api.call("POST", f"/posts/{post}/comments", alice, json={"text": "mine"}).json["comment_id"]
    # A missing post, comment, story or user is 404
    for target in ({"post_id": "1"}, {"post_id": post, "comment_id": "1"}, {"story_id": "1"}, {"user_id": "1"}):
        assert _report(api, bob, **target).status_code == 404, target
    # So is everything of someone in a block relation with the reporter
    assert api.call("PUT", f"/users/{bob.user_id}/block", alice).status_code == 200
    for target in (
        {"post_id": post},
        {"post_id": post, "comment_id": comment},
        {"story_id": story},
        {"user_id": alice.user_id},
    ):
        assert _report(api, bob, **target).status_code == 404, target
    # And a private account's posts and stories, for someone who does not follow it (its profile is public)
    assert api.call("PATCH", "/me", priv, json={"private": True}).status_code == 200
    hidden_post, hidden_story = publish_post(priv), publish_story(priv)
    assert _report(api, bob, post_id=hidden_post).status_code == 404
    assert _report(api, bob, story_id=hidden_story).status_code == 404
    assert _report(api, bob, user_id=priv.user_id).status_code == 201


def test_reporting_yourself_or_your_own_content_is_422(api: Api) -> None:
    alice = api.sign_up("alice")
    post = publish_post(alice)
    for target in ({"post_id": post}, {"user_id": alice.user_id}):
        response = _report(api, alice, **target)
        assert response.status_code == 422 and response.json["error"]["code"] == "cannot_report_own"


def test_a_malformed_report_is_422(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    for body in (
        {"target": {}, "reason": "spam"},
        {"target": {"post_id": post, "user_id": alice.user_id}, "reason": "spam"},
        {"target": {"comment_id": "5"}, "reason": "spam"},
        {"target": {"post_id": post}, "reason": "boring"},
        {"target": {"post_id": post}, "reason": "spam", "note": "x" * 1001},
        {"target": {"post_id": "12x"}, "reason": "spam"},
    ):
        response = api.call("POST", "/reports", bob, json=body)
        assert response.status_code == 422 and response.json["error"]["code"] == "invalid_request", body


def test_a_retry_with_the_same_idempotency_key_answers_as_the_first_time(api: Api) -> None:
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    post = publish_post(alice)
    body = {"target": {"post_id": post}, "reason": "spam"}
    headers = {"Idempotency-Key": "report-1"}
    first = api.call("POST", "/reports", bob, json=body, headers=headers)
    retry = api.call("POST", "/reports", bob, json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201) and retry.json == first.json
    entry = _entry(api, moderator, first.json["report_id"])
    assert entry is not None and entry["report_count"] == 1
    reused = api.call("POST", "/reports", bob, json={**body, "reason": "hate"}, headers=headers)
    assert reused.status_code == 422 and reused.json["error"]["code"] == "idempotency_key_reused"


def test_a_report_whose_request_dies_after_its_write_is_counted_once_when_retried(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    post = publish_post(alice)
    real = wiring.reports()
    failing = Reports(replace(real.ports, repo=FailAfter(real.ports.repo, "file")))  # type: ignore[arg-type]
    monkeypatch.setattr(wiring, "reports", lambda: failing)
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS; the client retries)
        _report(api, bob, post_id=post)
    monkeypatch.setattr(wiring, "reports", lambda: real)
    retry = _report(api, bob, post_id=post)
    assert retry.status_code == 200
    entry = _entry(api, moderator, retry.json["report_id"])
    assert entry is not None and entry["report_count"] == 1


def test_the_queue_and_its_resolutions_are_for_moderators_alone(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    report_id = _report(api, bob, post_id=publish_post(alice)).json["report_id"]
    for who in (alice, bob):
        assert api.call("GET", "/admin/reports", who).status_code == 403
        assert _resolve(api, who, report_id, "dismiss").status_code == 403
    assert api.call("GET", "/admin/reports").status_code == 401


def test_dismissing_moves_the_entry_to_resolved_and_a_new_report_reopens_it(api: Api) -> None:
    alice, bob, carol, moderator = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol"), _moderator(api)
    post = publish_post(alice)
    report_id = _report(api, bob, post_id=post).json["report_id"]
    resolved = _resolve(api, moderator, report_id, "dismiss")
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["status"] == "resolved" and resolved.json["action"] == "dismiss"
    assert _entry(api, moderator, report_id) is None
    assert _entry(api, moderator, report_id, "resolved") is not None
    assert api.call("GET", f"/posts/{post}", bob).status_code == 200  # dismissed: nothing happened to it
    # When someone else reports it, it is open again, with both reports counted
    _report(api, carol, "violence", post_id=post)
    entry = _entry(api, moderator, report_id)
    assert entry is not None and entry["report_count"] == 2


def test_resolving_an_unknown_report_is_404_and_removing_an_account_is_422(api: Api) -> None:
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    assert _resolve(api, moderator, "123", "dismiss").status_code == 404
    assert _resolve(api, moderator, "abc", "dismiss").status_code == 404
    report_id = _report(api, bob, user_id=alice.user_id).json["report_id"]
    removed = _resolve(api, moderator, report_id, "remove")
    assert removed.status_code == 422 and removed.json["error"]["code"] == "not_removable"
    assert _resolve(api, moderator, report_id, "ban").status_code == 422


def test_removing_a_post_deletes_it_for_everyone_and_blocks_its_image(api: Api, pump: EventPump) -> None:
    # Given alice's photo, reported by bob
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    post = _published_photo(api, pump, alice, seed=11)
    report_id = _report(api, bob, "nudity", post_id=post).json["report_id"]
    # When a moderator removes it
    resolved = _resolve(api, moderator, report_id, "remove")
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["action"] == "remove" and resolved.json["preview"] is None
    pump.drain()
    # Then it is gone for everyone, its author included, through the same cascade as an author's deletion
    for who in (alice, bob):
        assert api.call("GET", f"/posts/{post}", who).status_code == 404
    assert _deletions_of(post) == 1
    # And the same photo uploaded again is refused
    again = upload_photo(api, alice, _photo(11))
    pump.drain()
    status = api.call("GET", f"/uploads/{again['upload_id']}", alice).json
    assert status["status"] == "rejected" and "removed by moderators" in status["reason"]


def test_removing_a_comment_and_a_story(api: Api, pump: EventPump) -> None:
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    post = publish_post(bob)
    comment = api.call("POST", f"/posts/{post}/comments", alice, json={"text": "rude words"}).json["comment_id"]
    story = str(upload_photo(api, alice, _photo(41), kind="story")["target_id"])
    pump.drain()
    on_comment = _report(api, bob, "harassment", post_id=post, comment_id=comment).json["report_id"]
    on_story = _report(api, bob, story_id=story).json["report_id"]
    entry = _entry(api, moderator, on_comment)
    assert entry is not None and entry["preview"]["text"] == "rude words"
    assert _resolve(api, moderator, on_comment, "remove").status_code == 200
    comments = api.call("GET", f"/posts/{post}/comments", bob).json["items"]
    assert comment not in [c["comment_id"] for c in comments]
    assert api.call("GET", f"/posts/{post}", bob).json["comment_count"] == 0
    removed = _resolve(api, moderator, on_story, "remove")
    assert removed.status_code == 200, removed.json
    assert api.call("GET", f"/users/{alice.user_id}/stories", bob).json["items"] == []
    # And the story's image cannot come back as a story
    again = upload_photo(api, alice, _photo(41), kind="story")
    pump.drain()
    assert api.call("GET", f"/uploads/{again['upload_id']}", alice).json["status"] == "rejected"


@pytest.mark.parametrize(
    ("port", "step", "seed"),
    [("blocker", "block_post", 31), ("posts", "remove", 32), ("repo", "resolve", 33)],
    ids=str,
)
def test_a_removal_that_dies_after_any_step_is_finished_once_by_its_retry(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch, port: str, step: str, seed: int
) -> None:
    # Given a reported photo, and a moderator's removal that dies right after one of its steps
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    post = _published_photo(api, pump, alice, seed=seed)
    report_id = _report(api, bob, post_id=post).json["report_id"]
    real = wiring.reports()
    failing_port: Any = FailAfter(getattr(real.ports, port)() if port != "repo" else real.ports.repo, step)
    swapped = failing_port if port == "repo" else (lambda: failing_port)
    monkeypatch.setattr(wiring, "reports", lambda: Reports(replace(real.ports, **{port: swapped})))
    with pytest.raises(InjectedFaultError):
        _resolve(api, moderator, report_id, "remove")
    monkeypatch.setattr(wiring, "reports", lambda: real)
    # When the moderator's client retries
    retried = _resolve(api, moderator, report_id, "remove")
    assert retried.status_code == 200 and retried.json["status"] == "resolved"
    pump.drain()
    assert api.call("GET", f"/posts/{post}", bob).status_code == 404
    assert _deletions_of(post) == 1
    # Then the post went once (one deletion event for its cascade), and its image is blocked
    again = upload_photo(api, alice, _photo(seed))
    pump.drain()
    assert api.call("GET", f"/uploads/{again['upload_id']}", alice).json["status"] == "rejected"


def test_suspending_refuses_the_accounts_tokens_and_hides_it_until_restored(api: Api) -> None:
    # Given alice's post, reported by bob
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    post = publish_post(alice)
    report_id = _report(api, bob, "harassment", post_id=post).json["report_id"]
    # When a moderator suspends its author
    suspended = _resolve(api, moderator, report_id, "suspend")
    assert suspended.status_code == 200, suspended.json
    assert suspended.json["suspended"] is True and suspended.json["account_id"] == alice.user_id
    # Then alice's token is refused at once, and her profile and post are gone for everyone
    refused = api.call("GET", "/me", alice)
    assert (refused.status_code, refused.json["error"]["code"]) == (401, "account_disabled")
    assert api.call("GET", f"/users/{alice.username}", bob).status_code == 404
    assert api.call("GET", f"/posts/{post}", bob).status_code == 404
    # And reporting her again is 404 like every other read
    assert _report(api, moderator, user_id=alice.user_id).status_code == 404
    # When the moderator restores her, from the resolved entry
    restored = _resolve(api, moderator, report_id, "restore")
    assert restored.status_code == 200 and restored.json["suspended"] is False
    # Then everything is back as it was
    assert api.call("GET", "/me", alice).status_code == 200
    assert api.call("GET", f"/users/{alice.username}", bob).status_code == 200
    assert api.call("GET", f"/posts/{post}", bob).status_code == 200


def test_a_suspension_that_dies_after_switching_the_account_off_is_finished_by_its_retry(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, moderator = api.sign_up("alice"), api.sign_up("bob"), _moderator(api)
    report_id = _report(api, bob, user_id=alice.user_id).json["report_id"]
    real = wiring.reports()
    failing: Any = FailAfter(real.ports.standing(), "disable")
    monkeypatch.setattr(wiring, "reports", lambda: Reports(replace(real.ports, standing=lambda: failing)))
    with pytest.raises(InjectedFaultError):
        _resolve(api, moderator, report_id, "suspend")
    # (already off: the disable committed before the failure)
    assert api.call("GET", "/me", alice).status_code == 401
    monkeypatch.setattr(wiring, "reports", lambda: real)
    retried = _resolve(api, moderator, report_id, "suspend")
    assert retried.status_code == 200 and retried.json["status"] == "resolved" and retried.json["suspended"]
    assert _entry(api, moderator, report_id, "resolved") is not None
    assert _resolve(api, moderator, report_id, "restore").json["suspended"] is False
    assert api.call("GET", "/me", alice).status_code == 200


def test_a_reporters_reports_can_be_found_and_withdrawn_once_for_the_erasure_of_their_account(api: Api) -> None:
    # Given bob reported two of alice's posts, one also reported by carol
    alice, bob, carol, moderator = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol"), _moderator(api)
    first, second = publish_post(alice), publish_post(alice)
    shared = _report(api, bob, post_id=first).json["report_id"]
    _report(api, carol, post_id=first)
    _report(api, bob, post_id=second)
    repo = wiring.reports().ports.repo
    # When bob's reports are withdrawn (what erasing his account does), twice as a retry would
    targets = [target for page in repo.filed_by(int(bob.user_id)) for target in page]
    assert sorted(targets) == sorted([f"post:{first}", f"post:{second}"])
    assert [repo.withdraw(t, int(bob.user_id)) for t in targets] == [True, True]
    assert [repo.withdraw(t, int(bob.user_id)) for t in targets] == [False, False]
    # Then nothing of his is left, and carol's report still counts once
    assert [target for page in repo.filed_by(int(bob.user_id)) for target in page] == []
    entry = _entry(api, moderator, shared)
    assert entry is not None and entry["report_count"] == 1

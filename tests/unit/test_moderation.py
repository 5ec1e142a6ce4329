"""Moderation adapters: Rekognition through botocore's Stubber with recorded shapes, and the hash blocklist."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from PIL import Image

from aperture.media.moderation import (
    HashBlocklist,
    ModerationChain,
    RekognitionModerator,
    Verdict,
    hamming,
    perceptual_hash,
)
from bench import media_files

JPEG = media_files.jpeg(64, 48)
IMAGE = Image.new("RGB", (64, 48))
LABELS = ["Explicit", "Explicit Nudity", "Violence", "Visually Disturbing", "Hate Symbols"]

# Shapes as DetectModerationLabels returns them (model version 7).
EXPLICIT = {
    "ModerationLabels": [
        {"Confidence": 98.4, "Name": "Explicit", "ParentName": "", "TaxonomyLevel": 1},
        {"Confidence": 98.4, "Name": "Exposed Male Genitalia", "ParentName": "Explicit Nudity", "TaxonomyLevel": 3},
    ],
    "ModerationModelVersion": "7.0",
    "ContentTypes": [],
}
SWIMWEAR = {
    "ModerationLabels": [
        {"Confidence": 91.0, "Name": "Swimwear or Underwear", "ParentName": "", "TaxonomyLevel": 1},
    ],
    "ModerationModelVersion": "7.0",
    "ContentTypes": [],
}


@pytest.fixture
def rekognition() -> tuple[object, Stubber]:
    client = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_rekognition_refuses_a_blocked_label_and_names_it(rekognition) -> None:
    client, stubber = rekognition
    stubber.add_response("detect_moderation_labels", EXPLICIT, {"Image": {"Bytes": JPEG}, "MinConfidence": 80.0})
    verdict = RekognitionModerator(client, 80.0, LABELS).review(IMAGE, JPEG)
    assert verdict == Verdict(False, "the image was refused by moderation (Explicit, Exposed Male Genitalia)")


def test_rekognition_allows_labels_not_on_the_list(rekognition) -> None:
    client, stubber = rekognition
    stubber.add_response("detect_moderation_labels", SWIMWEAR, {"Image": {"Bytes": JPEG}, "MinConfidence": 80.0})
    assert RekognitionModerator(client, 80.0, LABELS).review(IMAGE, JPEG).allowed


def test_rekognition_sends_the_configured_confidence(rekognition) -> None:
    client, stubber = rekognition
    stubber.add_response(
        "detect_moderation_labels", {"ModerationLabels": []}, {"Image": {"Bytes": JPEG}, "MinConfidence": 95.0}
    )
    assert RekognitionModerator(client, 95.0, LABELS).review(IMAGE, JPEG).allowed


def test_a_rekognition_outage_propagates_so_the_upload_is_retried(rekognition) -> None:
    client, stubber = rekognition
    stubber.add_client_error("detect_moderation_labels", "ThrottlingException", http_status_code=400)
    with pytest.raises(client.exceptions.ClientError):
        RekognitionModerator(client, 80.0, LABELS).review(IMAGE, JPEG)


class Hashes:
    def __init__(self, hashes: list[int]) -> None:
        self.values = hashes
        self.reads = 0

    def hashes(self) -> list[int]:
        self.reads += 1
        return list(self.values)


def test_the_blocklist_refuses_near_copies_and_rereads_after_its_refresh() -> None:
    photo = media_files.photo(640, 480)
    clock = [0.0]
    store = Hashes([])
    blocklist = HashBlocklist(store, max_distance=10, refresh_seconds=60, now=lambda: clock[0])
    assert blocklist.review(photo, b"").allowed
    store.values.append(perceptual_hash(photo))
    assert blocklist.review(photo, b"").allowed  # still the cached list
    clock[0] += 61
    assert not blocklist.review(photo.resize((320, 240)), b"").allowed
    assert store.reads == 2


def test_distinct_photos_hash_far_apart() -> None:
    from skimage import data

    photos = [Image.fromarray(getattr(data, n)()).convert("RGB") for n in ("astronaut", "coffee", "rocket", "chelsea")]
    hashes = [perceptual_hash(p) for p in photos]
    assert min(hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]) > 10


def test_the_first_refusal_in_the_chain_decides() -> None:
    class Fixed:
        def __init__(self, verdict: Verdict) -> None:
            self.verdict, self.calls = verdict, 0

        def review(self, image: Image.Image, jpeg: bytes) -> Verdict:
            self.calls += 1
            return self.verdict

    first, second = Fixed(Verdict(False, "no")), Fixed(Verdict.allow())
    assert ModerationChain([first, second]).review(IMAGE, JPEG) == Verdict(False, "no")
    assert second.calls == 0

"""A post's photos as the record keeps them: old records read as one photo, alt texts replaced one per photo."""

from __future__ import annotations

import pytest

from aperture.models.records import Photo, PostRecord

IMAGES = {"640": {"jpeg": "images/1/2/640.jpg"}}


def _record(**fields: object) -> PostRecord:
    return PostRecord.model_validate(
        {"post_id": 2, "author_id": 1, "upload_id": 3, "width": 640, "height": 800, "images": IMAGES, "created_at": 1}
        | fields
    )


def test_a_record_from_before_carousels_is_one_photo_of_its_own_fields() -> None:
    assert _record(blurhash="L00").photos() == (Photo(images=IMAGES, width=640, height=800, blurhash="L00"),)


def test_alt_texts_are_replaced_one_per_photo_in_order() -> None:
    second = Photo(images={"640": {"jpeg": "images/1/2/1/640.jpg"}}, width=640, height=640, alt_text="old")
    record = _record(media=(Photo(images=IMAGES, width=640, height=800), second))
    edited = record.with_alt_texts(["a dog", ""])
    assert [p.alt_text for p in edited.photos()] == ["a dog", ""]
    assert [p.images for p in edited.photos()] == [IMAGES, second.images]
    # An old record gains its one photo, with the new alt text
    assert [p.alt_text for p in _record().with_alt_texts(["a cat"]).photos()] == ["a cat"]


def test_alt_texts_of_the_wrong_count_are_refused() -> None:
    with pytest.raises(ValueError, match="one alt text per photo"):
        _record().with_alt_texts(["one", "two"])

"""CDN format negotiation: the best format the client names, the URL's own otherwise, AVIF falling back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aperture.cdn import candidate_keys, content_type

KEY = "images/1/2/640.jpg"


def test_a_browser_naming_avif_gets_avif_then_webp_then_jpeg() -> None:
    accept = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
    assert candidate_keys(KEY, accept) == ["images/1/2/640.avif", "images/1/2/640.webp", "images/1/2/640.jpg"]


def test_webp_only_clients_never_get_avif() -> None:
    assert candidate_keys("images/1/2/150.avif", "image/webp,*/*") == ["images/1/2/150.webp", "images/1/2/150.jpg"]


def test_a_client_naming_no_modern_format_gets_what_the_url_says() -> None:
    assert candidate_keys("images/1/2/1080.webp", "*/*")[0] == "images/1/2/1080.webp"
    assert candidate_keys("images/1/2/1080.jpg", None) == ["images/1/2/1080.jpg"]


def test_refused_formats_are_not_served() -> None:
    assert candidate_keys(KEY, "image/avif;q=0, image/webp")[0] == "images/1/2/640.webp"


def test_only_image_paths_are_served() -> None:
    for key in ("uploads/1/2", "images/1/2/641.jpg", "images/1/2/640.png", "images/../../x/640.jpg"):
        assert candidate_keys(key, "*/*") == []


@given(accept=st.text(max_size=200))
def test_any_accept_header_gives_keys_of_the_same_post_and_size(accept: str) -> None:
    keys = candidate_keys(KEY, accept)
    assert keys and all(k.startswith("images/1/2/640.") for k in keys)
    assert keys[-1] == "images/1/2/640.jpg" or "jpg" in keys[0]
    assert {content_type(k) for k in keys} <= {"image/avif", "image/webp", "image/jpeg"}


def test_a_client_naming_only_jpeg_gets_jpeg_whatever_the_url_says() -> None:
    assert candidate_keys("images/1/2/640.avif", "image/jpeg") == ["images/1/2/640.jpg"]
    assert candidate_keys("images/1/2/640.webp", "image/avif;q=0") == ["images/1/2/640.jpg"]


def test_a_trailing_newline_is_not_an_image_path() -> None:
    assert candidate_keys("images/1/2/640.jpg\n", "*/*") == []

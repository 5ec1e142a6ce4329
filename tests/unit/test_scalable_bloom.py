"""The scalable Bloom filter's geometry: layers that grow, rates that sum to the target, and size that follows fill."""

from __future__ import annotations

import pytest

from aperture.bloom import BloomShape, ScalableBloom
from aperture.likes import scalable_bloom


def _filled(bloom: ScalableBloom, items: range) -> set[int]:
    bits: set[int] = set()
    for number, item in enumerate(items, start=1):
        start, end = bloom.slices[bloom.layer_for(number)]
        bits.update(bloom.positions(item)[start:end])
    return bits


def _holds(bloom: ScalableBloom, bits: set[int], item: int) -> bool:
    return bloom.contains([int(p in bits) for p in bloom.positions(item)])


def test_layers_grow_fourfold_and_reach_the_capacity_asked_for() -> None:
    bloom = ScalableBloom(first_capacity=20_000, rate=0.01, max_capacity=10_000_000)
    assert bloom.capacities == [20_000, 80_000, 320_000, 1_280_000, 5_120_000, 3_180_000]  # the last cut to fit
    assert [bloom.layer_for(n) for n in (1, 20_000, 20_001, 100_000, 100_001)] == [0, 0, 1, 1, 2]


def test_every_item_put_in_is_found_whatever_layer_it_went_into() -> None:
    bloom = ScalableBloom(first_capacity=50, rate=0.01, max_capacity=5_000)
    items = range(1_000, 4_000)
    bits = _filled(bloom, items)
    assert all(_holds(bloom, bits, item) for item in items)


def test_the_false_positive_rate_stays_near_the_target_at_full_capacity() -> None:
    bloom = ScalableBloom(first_capacity=100, rate=0.01, max_capacity=8_000)
    bits = _filled(bloom, range(sum(bloom.capacities)))
    strangers = range(10_000_000, 10_020_000)
    rate = sum(_holds(bloom, bits, s) for s in strangers) / len(strangers)
    assert rate < 0.015  # the layers' rates sum to at most 1% (the sample's noise allowed)


def test_a_post_just_past_the_threshold_takes_kilobytes_not_megabytes() -> None:
    bloom = scalable_bloom(threshold=10_000, max_capacity=10_000_000)
    one_filter_for_all = BloomShape.for_capacity(10_000_000, 0.01)
    assert bloom.bytes_for(10_001) < 40_000  # ~28 KB
    assert one_filter_for_all.bits // 8 > 11_000_000  # what every such post took before: ~12 MB
    assert bloom.bytes_for(1_000_000) < 3_500_000  # ~3.2 MB: the layers up to the one holding the millionth
    assert bloom.bytes_for(10_000_000) < 2 * one_filter_for_all.bits // 8  # at full capacity, under twice as much


def test_an_impossible_geometry_is_refused() -> None:
    with pytest.raises(ValueError):
        ScalableBloom(first_capacity=0, rate=0.01, max_capacity=10)
    with pytest.raises(ValueError):
        ScalableBloom(first_capacity=10, rate=1.5, max_capacity=10)

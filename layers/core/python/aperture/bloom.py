"""Bloom filter geometry: how many bits and hashes hold n items at a false-positive rate, and where an item goes."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class BloomShape:
    bits: int
    hashes: int

    @classmethod
    def for_capacity(cls, capacity: int, false_positive_rate: float) -> BloomShape:
        """The smallest filter holding `capacity` items at `false_positive_rate` (optimal k)."""
        if capacity < 1 or not 0 < false_positive_rate < 1:
            raise ValueError("capacity must be positive and the rate within (0, 1)")
        bits = math.ceil(-capacity * math.log(false_positive_rate) / math.log(2) ** 2)
        hashes = max(1, round(bits / capacity * math.log(2)))
        return cls(bits, hashes)

    def positions(self, item: int) -> list[int]:
        """Bit offsets for an item, by double hashing two 64-bit halves of one BLAKE2b digest."""
        digest = hashlib.blake2b(str(item).encode(), digest_size=16).digest()
        first, second = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big") | 1
        return [(first + i * second) % self.bits for i in range(self.hashes)]

    def false_positive_rate(self, items: int) -> float:
        """The expected rate once `items` are in."""
        return float((1 - math.exp(-self.hashes * items / self.bits)) ** self.hashes)


@dataclass(frozen=True)
class ScalableBloom:
    """A Bloom filter that grows with what it holds (Almeida et al., "Scalable Bloom Filters", 2007).

    Layers of growing capacity (each `growth` times the last) and tightening rate (each `tightening` times the
    last) sit one after another in one bitmap. A Redis string is as long as its highest set bit, so a post's filter
    takes only the layers its likes have reached: a post just past the set threshold holds one small layer, not
    the whole capacity up front. Items go into the layer their insertion number falls in; an item is in the filter
    if every bit of some layer's positions is set. The rates sum to at most `rate` whatever the fill.
    """

    first_capacity: int
    rate: float
    max_capacity: int
    growth: int = 4
    tightening: float = 0.5

    def __post_init__(self) -> None:
        if self.first_capacity < 1 or self.max_capacity < self.first_capacity or not 0 < self.rate < 1:
            raise ValueError("capacities must be positive and growing, and the rate within (0, 1)")

    @cached_property
    def layers(self) -> list[BloomShape]:
        """Each layer's shape, until their capacities together reach max_capacity."""
        return [BloomShape.for_capacity(c, r) for c, r in zip(self.capacities, self._rates, strict=True)]

    @cached_property
    def capacities(self) -> list[int]:
        """Each layer's capacity: `growth` times the last's, the last one cut to what reaches max_capacity."""
        capacities: list[int] = []
        capacity, held = self.first_capacity, 0
        while held < self.max_capacity:
            capacities.append(min(capacity, self.max_capacity - held))
            held += capacities[-1]
            capacity *= self.growth
        return capacities

    @cached_property
    def _rates(self) -> list[float]:
        first = self.rate * (1 - self.tightening)
        return [first * self.tightening**i for i in range(len(self.capacities))]

    @cached_property
    def offsets(self) -> list[int]:
        """Where each layer's bits start in the bitmap."""
        starts, at = [], 0
        for shape in self.layers:
            starts.append(at)
            at += shape.bits
        return starts

    @cached_property
    def slices(self) -> list[tuple[int, int]]:
        """Each layer's share of `positions(item)`: (start, end) indices."""
        spans, at = [], 0
        for shape in self.layers:
            spans.append((at, at + shape.hashes))
            at += shape.hashes
        return spans

    def positions(self, item: int) -> list[int]:
        """The item's bit offsets in every layer, layer after layer (absolute in the one bitmap)."""
        pairs = zip(self.layers, self.offsets, strict=True)
        return [offset + p for shape, offset in pairs for p in shape.positions(item)]

    def layer_for(self, inserted: int) -> int:
        """The layer the `inserted`-th item (1-based) goes into; past max_capacity, the last layer (whose false
        positives then rise above the rate)."""
        held = 0
        for index, capacity in enumerate(self.capacities):
            held += capacity
            if inserted <= held:
                return index
        return len(self.capacities) - 1

    def contains(self, bits: list[int]) -> bool:
        """Given the bits at `positions(item)`, whether the filter (maybe) holds the item."""
        return any(all(bits[start:end]) for start, end in self.slices)

    def bytes_for(self, inserted: int) -> int:
        """The bitmap's size once `inserted` items are in: up to the end of the layer they have reached."""
        last = self.layer_for(max(1, inserted))
        return (self.offsets[last] + self.layers[last].bits + 7) // 8

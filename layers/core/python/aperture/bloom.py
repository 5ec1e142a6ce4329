"""Bloom filter geometry: how many bits and hashes hold n items at a false-positive rate, and where an item goes."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass


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

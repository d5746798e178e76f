"""Which objects this shard sends: kube-state-metrics' partition, so N shards cover each once.

kube-state-metrics hashes each object's uid with 64-bit FNV-1a and maps the hash to a shard
with Lamping and Veach's jump consistent hash. The same function here means a run split into N
shards (an Indexed Job with N completions) sends every object exactly once, and a given object
lands on the shard kube-state-metrics would give it. Objects without a uid hash the empty string.
"""

from dataclasses import dataclass

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
_JUMP_MULTIPLIER = 2862933555777941757


def fnv1a_64(data: bytes) -> int:
    """64-bit FNV-1a of `data`."""
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & _MASK64
    return value


def jump_hash(key: int, buckets: int) -> int:
    """The bucket in 0..buckets-1 of a 64-bit `key` (Lamping & Veach, "A Fast, Minimal Memory,
    Consistent Hash Algorithm", 2014): growing `buckets` by one moves keys only to the new one."""
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK64
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (0-based); `count == 1` keeps everything."""

    index: int = 0
    count: int = 1

    @property
    def sharded(self) -> bool:
        return self.count > 1

    def keeps(self, uid: str) -> bool:
        if self.count == 1:
            return True
        return jump_hash(fnv1a_64(uid.encode()), self.count) == self.index


UNSHARDED = Shard()

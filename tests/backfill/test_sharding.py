from collections import Counter

from flowkeeper.backfill.sharding import Shard, fnv1a_64, jump_hash
from hypothesis import given
from hypothesis import strategies as st


def test_fnv1a_64_matches_the_published_vectors():
    # From the FNV reference test suite (isthe.com/chongo/tech/comp/fnv).
    assert fnv1a_64(b"") == 0xCBF29CE484222325
    assert fnv1a_64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a_64(b"foobar") == 0x85944171F73967E8


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=1, max_value=64))
def test_jump_hash_moves_keys_only_to_the_new_bucket(key, buckets):
    before, after = jump_hash(key, buckets), jump_hash(key, buckets + 1)
    assert 0 <= before < buckets
    assert after in (before, buckets)


def test_jump_hash_of_one_bucket_is_zero():
    assert {jump_hash(key, 1) for key in range(1000)} == {0}


@given(st.lists(st.uuids().map(str), max_size=200), st.integers(min_value=2, max_value=8))
def test_every_uid_is_kept_by_exactly_one_shard(uids, count):
    for uid in uids:
        assert sum(Shard(index, count).keeps(uid) for index in range(count)) == 1


def test_shards_are_balanced():
    uids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(4000)]
    counts = Counter(i for uid in uids for i in range(3) if Shard(i, 3).keeps(uid))
    assert all(1200 < counts[i] < 1467 for i in range(3)), counts


def test_one_shard_keeps_everything():
    assert Shard().keeps("")
    assert Shard(0, 1).keeps("anything")


def test_the_uid_lands_on_the_shard_kube_state_metrics_gives_it():
    # kube-state-metrics' own test: uid "test_uid" belongs to shard 0 of 2.
    assert Shard(0, 2).keeps("test_uid")
    assert not Shard(1, 2).keeps("test_uid")

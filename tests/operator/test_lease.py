import datetime
import re

import pytest
from flowkeeper.operator.leadership import lease

NOW = datetime.datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=datetime.UTC)
LATER = NOW + datetime.timedelta(seconds=2)


def held(by: str, *, transitions: int = 0, version: str = "7", duration: int = 15) -> dict:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "op", "namespace": "fk", "resourceVersion": version, "uid": "u"},
        "spec": {
            "holderIdentity": by,
            "leaseDurationSeconds": duration,
            "acquireTime": "2026-05-04T03:00:00.000000Z",
            "renewTime": "2026-05-04T03:02:00.000000Z",
            "leaseTransitions": transitions,
        },
    }


def test_first_claim_creates_the_lease():
    assert lease.claim(
        None, name="op", namespace="fk", identity="a", lease_duration=15, now=NOW
    ) == {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "op", "namespace": "fk"},
        "spec": {
            "holderIdentity": "a",
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-05-04T03:02:01.123456Z",
            "renewTime": "2026-05-04T03:02:01.123456Z",
            "leaseTransitions": 0,
        },
    }


def test_renewal_keeps_acquire_time_and_transitions_and_sends_the_version_read():
    renewed = lease.claim(
        held("a", transitions=3),
        name="op",
        namespace="fk",
        identity="a",
        lease_duration=15,
        now=NOW,
    )
    assert renewed["metadata"] == {"name": "op", "namespace": "fk", "resourceVersion": "7"}
    assert renewed["spec"] == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": "2026-05-04T03:00:00.000000Z",
        "renewTime": "2026-05-04T03:02:01.123456Z",
        "leaseTransitions": 3,
    }


@pytest.mark.parametrize("previous", ["b", ""], ids=["from another", "released"])
def test_taking_over_counts_a_transition(previous):
    taken = lease.claim(
        held(previous, transitions=3),
        name="op",
        namespace="fk",
        identity="a",
        lease_duration=15,
        now=LATER,
    )
    assert taken["spec"]["acquireTime"] == taken["spec"]["renewTime"] == lease.micro_time(LATER)
    assert taken["spec"]["leaseTransitions"] == 4
    assert taken["metadata"]["resourceVersion"] == "7"


@pytest.mark.parametrize(
    ("current", "now", "expected"),
    [
        (None, 100.0, True),  # no Lease yet
        (held(""), 100.0, True),  # released
        (held("a"), 100.0, True),  # ours
        (held("b"), 100.0, False),  # just seen
        (held("b"), 114.9, False),  # 15 s after we saw it change: not yet
        (held("b"), 115.0, True),  # expired on our clock
        (held("b", duration=30), 115.0, False),  # the holder's duration counts, not ours
        (held("b", duration=30), 130.0, True),
    ],
)
def test_may_take(current, now, expected):
    assert (
        lease.may_take(current, identity="a", observed_at=100.0, now=now, lease_duration=15)
        is expected
    )


def test_release_empties_the_holder_and_keeps_the_version():
    released = lease.release(held("a", transitions=2), now=NOW)
    assert released["metadata"] == {"name": "op", "namespace": "fk", "resourceVersion": "7"}
    assert released["spec"]["holderIdentity"] == ""
    assert released["spec"]["leaseDurationSeconds"] == 1
    assert released["spec"]["leaseTransitions"] == 2


@pytest.mark.parametrize(
    ("timings", "message"),
    [
        ((15, 15, 2), "--renew-deadline (15s) must be shorter than --lease-duration (15s)"),
        ((15, 10, 10), "--retry-period (10s) must be shorter than --renew-deadline (10s)"),
        ((0, 10, 2), "--lease-duration must be a number of seconds above 0, got 0"),
        ((15, 10, -1), "--retry-period must be a number of seconds above 0, got -1"),
    ],
)
def test_bad_timings_name_the_flag(timings, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        lease.check_timings(lease.Timings(*timings))


def test_default_timings_are_client_gos():
    assert lease.DEFAULT_TIMINGS == (15.0, 10.0, 2.0)
    lease.check_timings(lease.DEFAULT_TIMINGS)


@pytest.mark.parametrize(
    ("current", "now", "expected"),
    [(held("b"), 103.0, 12.0), (held("b", duration=30), 120.0, 10.0), (held(""), 120.0, 0.0)],
)
def test_expires_in(current, now, expected):
    assert (
        lease.expires_in(current, identity="a", observed_at=100.0, now=now, lease_duration=15)
        == expected
    )

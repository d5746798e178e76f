"""Issue 15's budget: a new FlowCollector costs no more API calls than before the redesign
(14) and a no-op resync no more than 4 (bench/operator_calls.py prints the same figures for
the console script)."""

import pytest

from e2e.cluster import eventually
from tests.operator.harness import OPERATOR_AGENTS, create_fc, quiet, sample, settled

NEW_FLOWCOLLECTOR_CALLS = 14
RESYNC_CALLS = 4


@pytest.mark.parametrize("operator", [300.0], indirect=True)
async def test_a_new_flowcollector_costs_at_most_14_calls_and_one_status_write(api, k8s, operator):
    await quiet(k8s)
    mark = k8s.mark()
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    await quiet(k8s)
    calls = k8s.calls(since=mark, agents=OPERATOR_AGENTS)
    assert sum(calls.values()) <= NEW_FLOWCOLLECTOR_CALLS, calls
    assert calls["patch flowcollectors/status"] == 1, calls  # not once per child event


@pytest.mark.parametrize("operator", [2.0], indirect=True)
async def test_a_noop_resync_costs_at_most_4_calls(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    await quiet(k8s, 0.5)
    mark = k8s.mark()

    async def resynced() -> None:
        calls = k8s.calls(since=mark, agents=OPERATOR_AGENTS)
        assert calls["get flowcollectors"] >= 1, calls
        assert calls["list services"] >= 1, calls

    await eventually(resynced)
    await quiet(k8s, 0.5)
    calls = k8s.calls(since=mark, agents=OPERATOR_AGENTS)
    # Reads only: the children re-listed, the FlowCollector read.
    assert all(call.startswith("list ") or call == "get flowcollectors" for call in calls), calls
    # One pass (a second may have started meanwhile: count per pass).
    passes = calls["get flowcollectors"]
    assert sum(calls.values()) <= RESYNC_CALLS * passes, calls

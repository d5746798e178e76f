"""The receivers harness: a missing binary skips, or fails when receivers are required (CI)."""

import pytest

from e2e import receivers


@pytest.fixture
def missing_binary(monkeypatch):
    monkeypatch.setattr(receivers, "VICTORIAMETRICS_BINARY", "victoria-metrics-not-installed")


def test_missing_binary_skips_by_default(missing_binary, monkeypatch):
    monkeypatch.delenv("FLOWKEEPER_REQUIRE_RECEIVERS", raising=False)
    with (
        pytest.raises(pytest.skip.Exception, match="not installed"),
        receivers._fixture_receiver(receivers.start_victoriametrics),
    ):
        pass


def test_missing_binary_fails_when_receivers_are_required(missing_binary, monkeypatch):
    monkeypatch.setenv("FLOWKEEPER_REQUIRE_RECEIVERS", "1")
    with (
        pytest.raises(pytest.fail.Exception, match="FLOWKEEPER_REQUIRE_RECEIVERS=1"),
        receivers._fixture_receiver(receivers.start_victoriametrics),
    ):
        pass

"""Repo-wide pytest plugins: the emulated API server and the real remote_write receivers."""

pytest_plugins = ["e2e.emulator", "e2e.receivers"]

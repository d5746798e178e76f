"""The Dockerfile's two stages played without a Docker engine.

The builder's `pip wheel` and the runtime's `pip install --no-index` are taken from the
Dockerfile itself and run here: the wheels are built from a copy of exactly what the builder
COPYs, then installed into a fresh venv with no index and no source tree in sight. Both console
scripts then run from that venv, so a module, a package-data file (the .proto, py.typed) or a
dependency missing from the wheel fails here, not in a user's cluster.
"""

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib

import pytest

from e2e import cluster
from tests.chart.helpers import ROOT
from tests.chart.test_dockerfile import arguments_of, stages

pytestmark = pytest.mark.image
BUILD_DIR = "/src"  # WORKDIR of the builder stage
WHEEL_DIR = "/wheels"


def pip_command(stage, verb):
    """The stage's `pip <verb> ...` words, up to the end of that command."""
    for run in arguments_of(stage, "RUN"):
        words = shlex.split(run)
        if "pip" in words and words[words.index("pip") + 1] == verb:
            words = words[words.index("pip") :]
            return words[: words.index("&&")] if "&&" in words else words
    raise AssertionError(f"no `pip {verb}` in the stage")


def build_args(stage, word):
    """``word`` with the stage's ``${ARG}`` references replaced by their defaults."""
    defaults = dict(a.split("=", 1) for a in arguments_of(stage, "ARG") if "=" in a)
    return re.sub(r"\$\{(\w+)\}", lambda match: defaults[match[1]], word)


def isolated_env():
    """No PYTHONPATH or venv of the test run leaks into the fresh venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def run(command, cwd):
    result = subprocess.run(
        command,
        check=False,
        cwd=cwd,
        env=isolated_env(),
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A venv laid out as the runtime stage lays out the image; returns its bin directory."""
    base = tmp_path_factory.mktemp("image")
    builder, runtime = stages()[0], stages()[-1]
    source, wheels = base / "src", base / "wheels"
    source.mkdir()
    for arguments in arguments_of(builder, "COPY"):
        *paths, _destination = arguments.split()
        for path in paths:
            copy = shutil.copytree if (ROOT / path).is_dir() else shutil.copy2
            copy(ROOT / path, source / path.rstrip("/"))
    # The builder's command; the pip cache stays on so the test does not fetch every dependency.
    wheel = [w for w in pip_command(builder, "wheel") if w != "--no-cache-dir"]
    wheel = [str(wheels) if w == WHEEL_DIR else str(source) if w == "." else w for w in wheel]
    run([sys.executable, "-m", *wheel], cwd=source)
    venv = base / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    install = [
        build_args(runtime, w.replace(WHEEL_DIR, str(wheels)))
        for w in pip_command(runtime, "install")
    ]
    assert "--no-index" in install
    run([str(venv / "bin" / "python"), "-m", *install], cwd=base)
    return venv / "bin"


def test_the_runtime_installs_only_built_wheels(image):
    listed = run([str(image / "python"), "-m", "pip", "list", "--format=freeze"], cwd=image)
    assert "flowkeeper==" in listed.stdout
    # Installed from the wheel, not linked to this checkout.
    where = run(
        [str(image / "python"), "-c", "import flowkeeper.backfill as b; print(b.__file__)"],
        cwd=image,
    )
    assert "site-packages" in where.stdout
    assert str(ROOT) not in where.stdout


@pytest.mark.parametrize("script", ["flowkeeper-operator", "flowkeeper-backfill"])
def test_console_script_help(image, script):
    result = run([str(image / script), "--help"], cwd=image)
    assert result.stdout.startswith(f"usage: {script}")


@pytest.mark.parametrize("script", ["flowkeeper-operator", "flowkeeper-backfill"])
def test_console_script_version_is_the_package_version(image, script):
    """The wheel carries pyproject's version, and --version reads it from there at run time."""
    result = run([str(image / script), "--version"], cwd=image)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert result.stdout == f"{script} {project['version']}\n"


async def test_backfill_dry_run_against_the_emulator(image, k8s):
    async with cluster.connect(k8s.kubeconfig) as api:
        await api.create(
            cluster.NAMESPACES,
            {"metadata": {"name": "shop", "labels": {"team": "core"}}},
        )
    process = await asyncio.create_subprocess_exec(
        image / "flowkeeper-backfill",
        f"--kubeconfig={k8s.kubeconfig}",
        "--dry-run",
        "--resources=namespaces",
        cwd=image,
        env=isolated_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert any(
        line.startswith("kube_namespace_labels{")
        and 'label_team="core"' in line
        and 'namespace="shop"' in line
        for line in lines
    ), lines

"""Shared fixtures: the default model (the tests skip without it) and the command line of the
release build, whose output the package must reproduce."""
import os
import pathlib
import subprocess

import pytest

import kvscope

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("KVSCOPE_CLI", ROOT / "build/release/tools/kvscope/kvscope"))


@pytest.fixture(scope="session")
def model():
    try:
        return kvscope.Model(threads=2)
    except kvscope.Error as e:
        pytest.skip(f"default model not fetched ({e})")


@pytest.fixture(scope="session")
def cli():
    """Runs `kvscope ARGS...` and returns its stdout; fails on a non-zero exit."""
    if not CLI.exists():
        pytest.skip(f"the command line is not built ({CLI}): scripts/build.sh release")

    def run(*args: str) -> str:
        done = subprocess.run([str(CLI), *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run

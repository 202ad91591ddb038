"""Shared fixtures: the repository's scenarios and the tailsim CLI binary
(`TAILSIM_CLI`, which `cargo xtask test` sets; else target/debug/tailsim)."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def scenarios() -> pathlib.Path:
    return ROOT / "assets" / "scenarios"


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("TAILSIM_CLI") or str(ROOT / "target" / "debug" / "tailsim")
    if not os.path.exists(path):
        pytest.fail(
            f"the tailsim CLI is not at {path}: build it "
            "(cargo build -p sim-core --features cli) or set TAILSIM_CLI"
        )
    return path


@pytest.fixture()
def run_cli(cli, tmp_path):
    """Runs the CLI in a scratch directory; returns the completed process."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [cli, *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )

    return run

"""The documented Dask example (python/examples/dask_sweep.py) on a
LocalCluster with worker processes: its merged rows equal a local sweep's."""

import importlib.util
import pathlib
import subprocess
import sys

import pandas.testing as pdt

import tailsim

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "dask_sweep.py"


def load_example():
    spec = importlib.util.spec_from_file_location("dask_sweep", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dask_sweep_equals_a_local_sweep_row_for_row():
    from dask.distributed import Client, LocalCluster

    ex = load_example()
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        distributed = ex.sweep_on(client, ex.SCENARIO, ex.VARY, shards=5, replications=3)
        # The tasks ran in the worker processes, not here.
        workers = client.run(lambda: __import__("os").getpid())
        assert len(workers) == 2
    local = tailsim.sweep(ex.SCENARIO, ex.VARY, replications=3)
    pdt.assert_frame_equal(distributed, local, check_exact=True)
    assert distributed.attrs["provenance"] == local.attrs["provenance"]


def test_the_example_script_runs_as_documented():
    out = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    assert "nodes.server.workers" in out.stdout
    assert len(out.stdout.strip().splitlines()) == 11  # header + 10 points

"""A tailsim sweep on Dask's distributed scheduler.

The sweep is cut into shards, one Dask task each; every task runs
``tailsim.sweep(..., shard=(i, n))`` on a worker and returns its rows, and
``tailsim.merge`` puts them together. The result equals a local
``tailsim.sweep`` of the same study row for row: each point runs the same
seeds wherever it runs.

    python dask_sweep.py                       # a LocalCluster of worker processes
    python dask_sweep.py tcp://10.0.0.5:8786   # an existing cluster's scheduler

On a cluster, every worker needs the package (``pip install tailsim``); the
scenario travels as text with the tasks, so no shared file system is needed.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Mapping, Optional

import tailsim

# M/M/c: where is the knee of the latency curve, and how far do two more
# servers push it?
SCENARIO = """
version = 1
name = "M/M/c knee"
duration_s = 2000
warmup_s = 100
[nodes.clients]
kind = "source"
target = "server"
arrival = { process = "poisson", rate = 7.0 }
[nodes.server]
kind = "service"
workers = 8
service = { dist = "exponential", mean_s = 1.0 }
"""

VARY = {"nodes.clients.arrival.rate": "5:9:1", "nodes.server.workers": [10, 12]}


def sweep_on(client, scenario: str, vary: Mapping[str, Any], shards: int, **options):
    """Runs ``tailsim.sweep(scenario, vary, **options)`` as ``shards`` Dask
    tasks and returns the merged DataFrame."""
    task = functools.partial(tailsim.sweep, scenario, vary, jobs=1, **options)
    futures = [client.submit(task, shard=(i, shards), pure=False) for i in range(1, shards + 1)]
    return tailsim.merge(client.gather(futures))


def main(address: Optional[str] = None) -> None:
    from dask.distributed import Client, LocalCluster

    cluster = None
    if address is None:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        address = cluster.scheduler_address
    with Client(address) as client:
        df = sweep_on(client, SCENARIO, VARY, shards=8, replications=5)
    if cluster is not None:
        cluster.close()
    p99 = df[(df.kind == "summary") & (df.metric == "end_to_end.latency_s.p99")]
    columns = ["nodes.clients.arrival.rate", "nodes.server.workers", "value", "lo", "hi"]
    print(p99[columns].to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

"""tailsim.sweep: the CLI's rows, shards that merge back, bad input named,
the GIL released while simulating."""

import threading
import time

import pandas as pd
import pandas.testing as pdt
import pytest

import tailsim

VARY = {"nodes.clients.arrival.rate": "7:9:1", "nodes.server.workers": [10, 11]}
OPTS = dict(replications=3, duration=1500, warmup=100)
CLI_ARGS = [
    "--vary", "nodes.clients.arrival.rate=7:9:1",
    "--vary", "nodes.server.workers=10,11",
    "--replications", "3", "--duration", "1500", "--warmup", "100",
]


def test_sweep_equals_the_cli_rows(run_cli, scenarios, tmp_path):
    mmc = scenarios / "mmc.toml"
    out = run_cli("sweep", mmc, *CLI_ARGS, "--out", "s.csv")
    assert out.returncode == 0, out.stderr
    df = tailsim.sweep(mmc, VARY, **OPTS)
    cli = tailsim.read_sweep(tmp_path / "s.csv")
    pdt.assert_frame_equal(df, cli, check_exact=True)
    assert df.attrs["provenance"] == cli.attrs["provenance"]
    # Plain pandas reads the same numbers.
    plain = pd.read_csv(tmp_path / "s.csv", skiprows=1, **tailsim._exact_floats(pd))
    pdt.assert_frame_equal(df, plain, check_exact=True, check_dtype=False)
    # And the JSON Lines output holds the same rows.
    out = run_cli("sweep", mmc, *CLI_ARGS, "--out", "s.jsonl")
    assert out.returncode == 0, out.stderr
    lines = pd.read_json(tmp_path / "s.jsonl", lines=True, precise_float=True).iloc[1:]
    lines = lines.drop(columns=["provenance"]).reset_index(drop=True)
    pdt.assert_frame_equal(df, lines, check_exact=True, check_dtype=False)


def test_the_rows_are_tidy():
    df = tailsim.sweep(
        tailsim_mmc(), VARY, **OPTS
    )
    assert set(df.kind) == {"run", "summary", "pooled"}
    runs = df[df.kind == "run"]
    assert sorted(runs.seed.unique()) == [1, 2, 3]
    # The same seeds at every point: common random numbers.
    assert runs.groupby("point").seed.apply(lambda s: sorted(set(s))).map(tuple).nunique() == 1
    s = df[(df.kind == "summary") & (df.metric == "end_to_end.latency_s.p99")]
    assert len(s) == 6 and (s.lo <= s.value).all() and (s.value <= s.hi).all()
    assert (s.n == 3).all()
    # The summary's mean is the mean of the run rows.
    r = runs[runs.metric == "end_to_end.latency_s.p99"].groupby("point").value.mean()
    pdt.assert_series_equal(s.set_index("point").value, r, check_names=False, rtol=1e-12)


def tailsim_mmc():
    import pathlib

    return pathlib.Path(__file__).resolve().parents[2] / "assets" / "scenarios" / "mmc.toml"


def test_shards_merge_into_the_whole_sweep():
    whole = tailsim.sweep(tailsim_mmc(), VARY, **OPTS)
    shards = [tailsim.sweep(tailsim_mmc(), VARY, shard=(i, 4), jobs=1, **OPTS) for i in (3, 1, 4, 2)]
    assert sorted(p for s in shards for p in s.point.unique()) == list(range(6))
    merged = tailsim.merge(shards)
    pdt.assert_frame_equal(merged, whole, check_exact=True)
    assert merged.attrs["provenance"] == whole.attrs["provenance"]
    with pytest.raises(ValueError, match="points are missing"):
        tailsim.merge(shards[:3])
    with pytest.raises(ValueError, match="in an earlier frame"):
        tailsim.merge([shards[0], shards[0]])


@pytest.mark.parametrize(
    "vary, kwargs, error, path, text",
    [
        ({"nodes.srv.workers": [1, 2]}, {}, tailsim.OptionError, "vary nodes.srv.workers",
         "the scenario has no nodes.srv"),
        ({"nodes.server.workers": "10:1:1"}, {}, tailsim.OptionError,
         "vary nodes.server.workers=10:1:1", "empty range"),
        ({"nodes.server.workers": [10]}, {"shard": (3, 2)}, tailsim.OptionError, "shard 3/2",
         "between 1 and 2"),
        ({"nodes.server.workers": [4, "eight"]}, {}, tailsim.ScenarioError,
         "nodes.server.workers", "invalid type: string \"eight\""),
        ({"nodes.server.workers": "4:x:8"}, {}, tailsim.OptionError,
         "vary nodes.server.workers=4:x:8", "\"x\" is not a number"),
        ({"nodes.server.workers": [4, {1}]}, {}, tailsim.ScenarioError,
         "vary nodes.server.workers[1]", "a Python set"),
        ({"nodes.server.workers": [4]}, {"metrics": ["nodes.db.utilisation"]},
         tailsim.OptionError, "metric nodes.db.utilisation", "no node \"db\""),
    ],
)
def test_bad_input_names_the_problem(vary, kwargs, error, path, text):
    with pytest.raises(error) as e:
        tailsim.sweep(tailsim_mmc(), vary, duration=500, **kwargs)
    assert e.value.path == path
    assert text in str(e.value)


def test_the_gil_is_released_while_simulating():
    done = threading.Event()
    result = {}

    def work():
        result["df"] = tailsim.sweep(
            tailsim_mmc(), {"nodes.server.workers": [10, 11, 12, 13]},
            replications=4, duration=20000, jobs=1,
        )
        done.set()

    t = threading.Thread(target=work)
    t.start()
    ticks = 0
    start = time.monotonic()
    while not done.is_set():
        ticks += 1
    elapsed = time.monotonic() - start
    t.join()
    assert len(result["df"]) > 0
    # Holding the GIL through the sweep would stop this loop dead until it
    # ends (a couple of turns at most, before the sweep enters Rust);
    # released, the loop spins all along, hundreds of thousands of turns a
    # second even on a busy machine.
    assert elapsed > 0.2, "the sweep was too short to tell"
    assert ticks > 10_000, (ticks, elapsed)

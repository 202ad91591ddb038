"""tailsim.run and tailsim.replicate: the same numbers as the CLI, from a
path, text or a dict; errors that name the field."""

import json

import pytest

import tailsim

MM1 = """
version = 1
name = "M/M/1 at 80% load"
[nodes.clients]
kind = "source"
target = "server"
arrival = { process = "poisson", rate = 0.8 }
[nodes.server]
kind = "service"
workers = 1
service = { dist = "exponential", mean_s = 1.0 }
"""


def mm1_dict():
    return {
        "version": 1,
        "name": "M/M/1 at 80% load",
        "nodes": {
            "clients": {
                "kind": "source",
                "target": "server",
                "arrival": {"process": "poisson", "rate": 0.8},
            },
            "server": {
                "kind": "service",
                "workers": 1,
                "service": {"dist": "exponential", "mean_s": 1.0},
            },
        },
    }


def test_run_from_text_dict_and_path_is_the_same_run(tmp_path):
    path = tmp_path / "mm1.toml"
    path.write_text(MM1)
    a = tailsim.run(MM1, seed=3, duration=2000)
    b = tailsim.run(mm1_dict(), seed=3, duration=2000)
    c = tailsim.run(path, seed=3, duration=2000)
    d = tailsim.run(str(path), seed=3, duration=2000)
    for x in (b, c, d):
        x.pop("wall_s"), a.pop("wall_s", None)
        assert x == a
    assert a["end_to_end"]["completed"] > 1000
    assert a["provenance"]["seeds"] == [3]
    assert a["provenance"]["duration_s"] == 2000.0


def test_run_equals_the_cli_report(run_cli, tmp_path):
    (tmp_path / "mm1.toml").write_text(MM1)
    out = run_cli("run", "mm1.toml", "--seed", "5", "--duration", "1500", "--format", "json",
                  "--set", "nodes.server.workers=2")
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    py = tailsim.run(MM1, seed=5, duration=1500, set={"nodes.server.workers": 2})
    for r in (cli, py):
        r.pop("wall_s")
    assert py["provenance"]["sets"] == ["nodes.server.workers=2"]
    cli["provenance"]["sets"] = py["provenance"]["sets"]
    assert py == cli


def test_a_dict_with_a_wrong_type_names_the_field():
    d = mm1_dict()
    d["nodes"]["server"]["workers"] = "many"
    with pytest.raises(tailsim.ScenarioError) as e:
        tailsim.run(d)
    assert e.value.path == "nodes.server.workers"
    assert "expected u32" in str(e.value)
    d = mm1_dict()
    d["nodes"]["clients"]["arrival"]["rate"] = {0.8}
    with pytest.raises(tailsim.ScenarioError) as e:
        tailsim.run(d)
    assert e.value.path == "nodes.clients.arrival.rate"
    assert "a Python set cannot be a scenario value" in str(e.value)
    with pytest.raises(tailsim.ScenarioError) as e:
        tailsim.run(MM1, set={"nodes.server.workers": 0})
    assert e.value.path == "nodes.server.workers"
    assert isinstance(e.value, ValueError)
    with pytest.raises(tailsim.ScenarioError, match="cannot read the scenario file"):
        tailsim.run("no-such-file.toml")


def test_replications_give_intervals_and_pooled_percentiles():
    r = tailsim.replicate(MM1, replications=5, duration=3000, warmup=200, jobs=2)
    assert r["replications"] == 5
    assert r["provenance"]["seeds"] == [1, 2, 3, 4, 5]
    m = r["metrics"]["nodes.server.sojourn_s.mean"]
    assert m["lo"] < m["mean"] < m["hi"]
    assert len(m["values"]) == 5
    assert r["pooled"]["requests"] > 5 * 2000
    assert r == tailsim.replicate(MM1, replications=5, duration=3000, warmup=200, jobs=1)


def test_replications_with_auto_warmup_and_a_precision_target():
    r = tailsim.replicate(
        MM1, replications=5, duration=1000, warmup="auto", precision=0.1,
        target="end_to_end.latency_s.mean", max_replications=200,
    )
    assert r["warmup"]["rule"] == "MSER-5 on in_system"
    assert r["precision"]["met"]
    assert r["precision"]["replications"] == r["replications"] >= 5
    with pytest.raises(tailsim.OptionError) as e:
        tailsim.replicate(MM1, confidence=95)
    assert e.value.path == "confidence"


def test_the_memory_budget_stops_an_overloaded_run_and_names_the_node():
    # 10 requests/s into one worker of 1 s (unbounded queue): the backlog
    # grows by 9 a second, past a budget of 50 requests within 6 s.
    overload = mm1_dict()
    overload["nodes"]["clients"]["arrival"]["rate"] = 10.0
    overload["nodes"]["server"]["service"] = {"dist": "constant", "value_s": 1.0}
    with pytest.raises(RuntimeError, match="over its budget of 50 requests") as e:
        tailsim.run(overload, duration=60, max_in_flight=50)
    assert "node server holds" in str(e.value)
    assert tailsim.run(overload, duration=60)["end_to_end"]["arrived"] > 500
    with pytest.raises(tailsim.OptionError) as e:
        tailsim.run(overload, max_in_flight=0)
    assert e.value.path == "max-in-flight"


def test_lessons_are_built_in():
    ls = tailsim.lessons()
    ids = {l["id"] for l in ls}
    assert {"DATA-N+1", "RES-RETRY-STORM", "THEORY-KNEE"} <= ids
    storm = next(l for l in ls if l["id"] == "RES-RETRY-STORM")
    assert storm["claims"]
    toml = tailsim.lesson_scenario("RES-RETRY-STORM", "fix")
    r = tailsim.run(toml, duration=100)
    assert r["end_to_end"]["arrived"] > 0
    with pytest.raises(ValueError, match="no lesson"):
        tailsim.lesson_scenario("NOPE")

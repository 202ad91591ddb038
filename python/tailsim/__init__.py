"""tailsim: deterministic discrete-event simulation of backend scalability.

The engine of the tailsim sandbox and CLI, from Python::

    import tailsim
    report = tailsim.run("mm1.toml", seed=1)              # one run, a dict
    reps = tailsim.replicate("mm1.toml", replications=30)  # means with 95% intervals
    df = tailsim.sweep("mmc.toml",
                       vary={"nodes.clients.arrival.rate": "5:9:1",
                             "nodes.server.workers": [10, 12]},
                       replications=10)                    # tidy pandas DataFrame

A scenario is a path, TOML or JSON text, or a dict. Runs are
deterministic: the same scenario and seed give the same numbers, here, in
the CLI and in the browser. The GIL is released while simulating, and
replications and sweep points run on every core (``jobs=`` to limit).

Errors are exceptions that carry the field path: :class:`ScenarioError`
(``.path`` is the scenario field, e.g. ``nodes.api.workers``) and
:class:`OptionError` (``.path`` names the option, e.g. ``vary nodes.x``),
both ``ValueError``.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from ._native import OptionError, ScenarioError

__version__ = _native.VERSION
__all__ = [
    "run",
    "replicate",
    "sweep",
    "merge",
    "lessons",
    "lesson_scenario",
    "ScenarioError",
    "OptionError",
]

Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def _scenario(scenario: Scenario) -> Union[str, Mapping[str, Any]]:
    """A path becomes its text; text and dicts pass through."""
    if isinstance(scenario, Mapping):
        return scenario
    if isinstance(scenario, os.PathLike):
        return _read(os.fspath(scenario))
    if isinstance(scenario, str):
        text = scenario.strip()
        # Scenario text has a line break, a table or an assignment; a path
        # has none of them.
        if "\n" in text or text.startswith("{") or "=" in text:
            return scenario
        return _read(scenario)
    raise TypeError(
        f"scenario must be a path, TOML/JSON text or a dict, not {type(scenario).__name__}"
    )


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ScenarioError(f"cannot read the scenario file {path!r}: {e.strerror}") from None


def run(
    scenario: Scenario,
    seed: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    duration: Optional[float] = None,
    warmup: Optional[float] = None,
    max_in_flight: Optional[int] = None,
) -> dict:
    """One run; returns the report as a dict (as ``tailsim run --format json``).

    ``seed``: the root seed (default: the scenario's own, 1 unless it says
    otherwise). ``set``: overrides by dotted path, e.g.
    ``{"nodes.api.workers": 12}``. ``duration``/``warmup``: simulated seconds.
    ``max_in_flight``: the run's memory budget in requests in flight
    (default 1,000,000, about 300 MB; statistics may take 300 bytes a
    request more); a run that outgrows it raises ``RuntimeError`` naming the
    node that holds the most (``--max-in-flight`` of the CLI).
    """
    report, provenance = _native.run(
        _scenario(scenario),
        seed=seed,
        set=set,
        duration=duration,
        warmup=warmup,
        max_in_flight=max_in_flight,
    )
    out = json.loads(report)
    out["provenance"] = json.loads(provenance)
    return out


def replicate(
    scenario: Scenario,
    replications: int = 10,
    *,
    seeds: Optional[Sequence[int]] = None,
    seed: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    duration: Optional[float] = None,
    warmup: Union[None, float, str] = None,
    warmup_series: str = "in_system",
    confidence: float = 0.95,
    precision: Optional[float] = None,
    target: Optional[str] = None,
    max_replications: int = 1000,
    jobs: Optional[int] = None,
    max_in_flight: Optional[int] = None,
) -> dict:
    """Independent replications (seeds ``seed..seed+replications-1`` or
    ``seeds``), as ``tailsim run --replications N --format json``.

    ``metrics[path]`` holds every scalar's mean over replications with its
    Student-t interval (``lo``, ``hi``, ``half_width``) and each run's value;
    ``pooled`` holds latency percentiles over every request of every run.
    ``warmup="auto"`` picks the warm-up by MSER-5; ``precision=0.05,
    target="end_to_end.latency_s.p99"`` adds replications until the interval's
    half-width is within 5% of the mean.
    """
    text = _native.replicate(
        _scenario(scenario),
        replications=replications,
        seeds=None if seeds is None else list(seeds),
        seed=seed,
        set=set,
        duration=duration,
        warmup=warmup,
        warmup_series=warmup_series,
        confidence=confidence,
        precision=precision,
        target=target,
        max_replications=max_replications,
        jobs=jobs,
        max_in_flight=max_in_flight,
    )
    return json.loads(text)


def sweep(
    scenario: Scenario,
    vary: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]],
    *,
    zip: bool = False,
    replications: int = 10,
    seeds: Optional[Sequence[int]] = None,
    seed: Optional[int] = None,
    metrics: Optional[Sequence[str]] = None,
    set: Optional[Mapping[str, Any]] = None,
    duration: Optional[float] = None,
    warmup: Union[None, float, str] = None,
    warmup_series: str = "in_system",
    confidence: float = 0.95,
    shard: Optional[Tuple[int, int]] = None,
    jobs: Optional[int] = None,
    max_in_flight: Optional[int] = None,
):
    """A what-if sweep; returns the tidy rows of ``tailsim sweep`` as a
    pandas DataFrame (its ``attrs["provenance"]`` says what produced it).

    ``vary`` maps dotted paths to values: a list, or a string as on the
    command line (``"100:1000:100"``, ``"4,8,16"``). The full grid (first
    path varying slowest), or with ``zip=True`` the lists side by side.
    Every point runs the same seeds (common random numbers). ``shard=(i, n)``
    runs a deterministic 1/n of the points (``i`` from 1); :func:`merge`
    combines the shards into exactly what one sweep returns.

    Columns: ``kind`` (``run``, ``summary`` or ``pooled``), ``point``, one
    per varied path, ``replication``, ``seed``, ``warmup_s``, ``metric``,
    ``value``, ``n``, ``sd``, ``half_width``, ``lo``, ``hi``.
    """
    pairs = list(vary.items()) if isinstance(vary, Mapping) else list(vary)
    csv = _native.sweep(
        _scenario(scenario),
        [(str(p), _values(v)) for p, v in pairs],
        zip=zip,
        replications=replications,
        seeds=None if seeds is None else list(seeds),
        seed=seed,
        metrics=None if metrics is None else list(metrics),
        set=set,
        duration=duration,
        warmup=warmup,
        warmup_series=warmup_series,
        confidence=confidence,
        shard=None if shard is None else (int(shard[0]), int(shard[1])),
        jobs=jobs,
        max_in_flight=max_in_flight,
    )
    return read_sweep(io.StringIO(csv))


def _values(v: Any) -> Any:
    if isinstance(v, (str, list, tuple)):
        return v
    if isinstance(v, range) or hasattr(v, "tolist"):
        return list(v.tolist() if hasattr(v, "tolist") else v)
    return v


def read_sweep(path_or_buffer) -> "pandas.DataFrame":  # noqa: F821
    """Reads the CSV output of ``tailsim sweep`` (or of :func:`sweep`) into
    the same DataFrame :func:`sweep` returns."""
    import pandas as pd

    if isinstance(path_or_buffer, (str, os.PathLike)):
        with open(path_or_buffer, encoding="utf-8") as f:
            text = f.read()
    else:
        text = path_or_buffer.read()
    first, _, body = text.partition("\n")
    tag = "# tailsim sweep "
    if not first.startswith(tag):
        raise ValueError("not the CSV output of a tailsim sweep (no provenance line)")
    df = pd.read_csv(
        io.StringIO(body),
        **_exact_floats(pd),
        # Empty in summary and pooled rows (run rows have no n): nullable.
        dtype={"replication": "Int64", "seed": "UInt64", "n": "Int64"},
    )
    df.attrs["provenance"] = json.loads(first[len(tag):])
    return df


def _exact_floats(pd) -> dict:
    """pandas reads floats exactly by default from 3.0 on; before, it needs
    ``float_precision="round_trip"``."""
    major = int(pd.__version__.split(".")[0])
    return {} if major >= 3 else {"float_precision": "round_trip"}


def _grid_size(provenance: Mapping[str, Any]) -> int:
    sizes = [len(v["values"]) for v in provenance["vary"]]
    if provenance.get("zip"):
        return sizes[0]
    n = 1
    for s in sizes:
        n *= s
    return n


def merge(frames: Sequence["pandas.DataFrame"]) -> "pandas.DataFrame":  # noqa: F821
    """Combines the DataFrames of ``sweep(..., shard=(i, n))`` for every
    ``i`` into exactly what one unsharded sweep returns, row for row. The
    shards must come from the same study, and every point must be there."""
    import pandas as pd

    if not frames:
        raise ValueError("merge: no frames")
    provs = [dict(f.attrs.get("provenance") or {}) for f in frames]
    if not all(provs):
        raise ValueError("merge: every frame needs attrs['provenance'] (from tailsim.sweep)")
    for p in provs:
        p.pop("shard", None)
    for i, p in enumerate(provs[1:], start=2):
        if p != provs[0]:
            diff = sorted(k for k in set(p) | set(provs[0]) if p.get(k) != provs[0].get(k))
            raise ValueError(f"merge: frame {i} is another study (differs in {', '.join(diff)})")
    seen: set = set()
    for i, f in enumerate(frames, start=1):
        points = set(int(p) for p in f["point"].unique())
        if seen & points:
            raise ValueError(
                f"merge: points {sorted(seen & points)[:5]} of frame {i} are in an earlier frame too"
            )
        seen |= points
    n = _grid_size(provs[0])
    missing = sorted(set(range(n)) - seen)
    if missing:
        raise ValueError(
            f"merge: {len(missing)} of {n} points are missing (points {missing[:5]}): is a shard absent?"
        )
    # A point's rows come from one frame, in order: a stable sort by point
    # lays them out as one sweep does.
    df = pd.concat(frames, ignore_index=True).sort_values("point", kind="stable")
    df = df.reset_index(drop=True)
    df.attrs["provenance"] = provs[0]
    return df


def lessons() -> list:
    """Every built-in lesson (as the page and ``tailsim lessons`` have them),
    as dicts: id, title, section, narrative, question, toggle, claims..."""
    return json.loads(_native.lessons())


def lesson_scenario(id: str, state: str = "mistake") -> str:
    """A lesson's scenario in the ``mistake`` or ``fix`` state, as TOML text
    (pass it to :func:`run`, :func:`replicate` or :func:`sweep`)."""
    return _native.lesson_scenario(id, state)

//! `tailsim sweep`, `merge` and `plot`: what-if sweeps written as tidy
//! rows, resumable, in shards for a cluster, and charted.
//!
//! Resuming: while a sweep runs, each finished point is appended to
//! `OUT.partial` (whole points, one line each). The output itself is only
//! ever written whole, at the end, and the progress file removed. Rerun
//! with the same `--out` and the points already in `OUT` or `OUT.partial`
//! are skipped, as long as they come from the same study (scenario, `--set`,
//! seeds, duration, warm-up, metrics, confidence; the grid may grow).

use sim_core::study::grid::{value_text, Grid, Shard, Vary};
use sim_core::study::sweep::{Plan, PointResult, SweepSpec};
use sim_core::study::table::{self, SweepOutput, TableFormat};
use sim_core::study::{self, Exec, StudyError};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use crate::run::{positive_secs, warmup_arg, WarmupArg};
use crate::{io, plot};

#[derive(clap::Args)]
pub struct SweepArgs {
    /// Scenario file (.toml or .json), or - for standard input.
    file: PathBuf,
    /// A varied parameter: PATH=START:END:STEP, PATH=A,B,C or PATH=[JSON,...]
    /// (repeatable; the full grid of all of them, or --zip).
    #[arg(long = "vary", value_name = "PATH=VALUES", required = true)]
    vary: Vec<String>,
    /// Pair the --vary lists element by element instead of the full grid.
    #[arg(long)]
    zip: bool,
    /// Replications per point (seeds SEED..SEED+N-1, the same at every point).
    #[arg(long, default_value_t = 10, conflicts_with = "seeds")]
    replications: usize,
    /// The seeds of the replications, e.g. 3,7,11.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    seeds: Option<Vec<u64>>,
    /// First seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// A metric to record: any report path or lesson expression (repeatable;
    /// default: end-to-end goodput, errors and latency, SLO compliance, each
    /// node's utilisation).
    #[arg(long = "metric", value_name = "PATH")]
    metrics: Vec<String>,
    /// Override a field of the base scenario: PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Simulated seconds per run (default: the scenario's).
    #[arg(long, value_parser = positive_secs)]
    duration: Option<f64>,
    /// Warm-up seconds, or `auto` (MSER-5 per point, from pilot runs).
    #[arg(long, value_parser = warmup_arg)]
    warmup: Option<WarmupArg>,
    /// The windowed series MSER-5 reads (see `tailsim run --help`).
    #[arg(long, default_value = "in_system")]
    warmup_series: String,
    /// Each run's memory budget, in requests in flight (default 1,000,000,
    /// about 300 MB); the latency statistics may take 300 bytes a request
    /// more. One that outgrows it stops with a message naming the node.
    #[arg(long, value_name = "REQUESTS", value_parser = clap::value_parser!(u64).range(1..))]
    max_in_flight: Option<u64>,
    /// Confidence level of the summary rows' intervals.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard i of n (points k with k mod n = i - 1), e.g. for a
    /// Slurm job array; `tailsim merge` combines the shards.
    #[arg(long, value_name = "i/n")]
    shard: Option<String>,
    /// Output file (.csv, or .jsonl for JSON Lines); rerunning with the same
    /// file resumes. Default: standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format (default: from --out's extension, else csv).
    #[arg(long, value_enum)]
    format: Option<Tabular>,
    #[command(flatten)]
    plot: PlotOpts,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Tabular {
    Csv,
    Jsonl,
}

#[derive(clap::Args)]
pub struct PlotOpts {
    /// Also draw a chart (.svg or .png): a metric against the first varied
    /// parameter, one line per value of the others, with interval bands.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// The metric to chart (default: end_to_end.latency_s.p99 if recorded,
    /// else the first metric).
    #[arg(long, value_name = "PATH")]
    plot_metric: Option<String>,
    /// A logarithmic y axis.
    #[arg(long)]
    plot_log: bool,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Outputs of `tailsim sweep --shard i/n` (CSV or JSON Lines).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format (default: --out's extension, else the inputs').
    #[arg(long, value_enum)]
    format: Option<Tabular>,
    #[command(flatten)]
    plot: PlotOpts,
}

#[derive(clap::Args)]
pub struct PlotArgs {
    /// A sweep's output (CSV or JSON Lines).
    input: PathBuf,
    /// The chart to write (.svg or .png).
    out: PathBuf,
    /// The metric to chart (default: end_to_end.latency_s.p99 if recorded).
    #[arg(long)]
    metric: Option<String>,
    /// A logarithmic y axis.
    #[arg(long)]
    log: bool,
}

fn table_format(choice: Option<Tabular>, out: Option<&Path>, fallback: TableFormat) -> TableFormat {
    match (choice, out) {
        (Some(Tabular::Csv), _) => TableFormat::Csv,
        (Some(Tabular::Jsonl), _) => TableFormat::Jsonl,
        (None, Some(p)) => TableFormat::from_path(&p.to_string_lossy()),
        (None, None) => fallback,
    }
}

fn plan(args: &SweepArgs) -> Result<Plan, String> {
    let (base, name) = crate::run::base(
        &args.file,
        &args.sets,
        args.duration,
        args.warmup,
        &args.warmup_series,
        args.max_in_flight,
    )?;
    let vary = args
        .vary
        .iter()
        .map(|v| Vary::parse(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let grid = Grid::new(vary, args.zip).map_err(|e| e.to_string())?;
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    if args.replications == 0 {
        return Err("--replications must be at least 1".into());
    }
    let seeds = match &args.seeds {
        Some(s) => s.clone(),
        None => {
            let first = match args.seed {
                Some(s) => s,
                None => study::scenario_seed(&base).map_err(|e| format!("{name}: {e}"))?,
            };
            study::consecutive_seeds(first, args.replications).map_err(|e| e.to_string())?
        }
    };
    let spec = SweepSpec {
        base,
        grid,
        seeds,
        metrics: (!args.metrics.is_empty()).then(|| args.metrics.clone()),
        confidence: args.confidence,
        shard,
    };
    Plan::new(spec).map_err(|e| match e {
        StudyError::Scenario { .. } => format!("{name}: {e}"),
        StudyError::Option { ref option, .. } if !option.starts_with("--") => format!("--{e}"),
        e => e.to_string(),
    })
}

pub fn sweep(args: SweepArgs) -> Result<ExitCode, String> {
    let plan = plan(&args)?;
    let format = table_format(args.format, args.out.as_deref(), TableFormat::Csv);
    let exec = Exec::new(args.jobs).map_err(|e| format!("--{e}"))?;
    let journal = args.out.as_deref().map(journal_path);
    let done = match &args.out {
        Some(out) => resumable(&plan, out, journal.as_deref().expect("with --out"))?,
        None => BTreeMap::new(),
    };
    if !done.is_empty() {
        eprintln!(
            "tailsim: resuming: {} of {} points already done",
            done.len(),
            plan.points().len()
        );
    }
    let writer = match &journal {
        Some(j) => Some(Mutex::new(open_journal(j, &plan, &done)?)),
        None => None,
    };
    let new = Mutex::new(Vec::new());
    let on_point = |p: PointResult| {
        if let Some(w) = &writer {
            let mut f = w.lock().expect("no panics while held");
            f.write_all(table::journal_line(&p).as_bytes())
                .and_then(|()| f.flush())
                .map_err(|e| StudyError::File(format!("cannot write the progress file: {e}")))?;
        }
        new.lock().expect("no panics while held").push(p);
        Ok(())
    };
    let skip: BTreeSet<usize> = done.keys().copied().collect();
    let bar = io::Bar::new();
    let res = plan.run(&exec, &skip, &on_point, &bar);
    bar.finish();
    let notes = match res {
        Ok(n) => n,
        Err(e) => {
            // Keep a progress file only if it holds progress.
            let nothing = done.is_empty() && new.lock().expect("no panics while held").is_empty();
            if let (Some(j), true) = (&journal, nothing) {
                let _ = std::fs::remove_file(j);
            }
            return Err(e.to_string());
        }
    };
    let mut points: Vec<PointResult> = done.into_values().collect();
    points.extend(new.into_inner().expect("no panics while held"));
    points.sort_by_key(|p| p.index);
    let output = SweepOutput {
        provenance: plan.provenance.clone(),
        points,
    };
    io::emit(args.out.as_deref(), &output.render(format))?;
    if let Some(j) = &journal {
        let _ = std::fs::remove_file(j);
    }
    if let Some(p) = &args.plot.plot {
        plot_output(&output, &args.plot, p)?;
    }
    if !notes.unreliable_warmup.is_empty() {
        eprintln!(
            "warning: MSER-5 found no reliable warm-up at points {:?} (the best cut is in the second half): run longer",
            notes.unreliable_warmup
        );
    }
    Ok(conservation(&notes.conservation))
}

fn conservation(violations: &[String]) -> ExitCode {
    if violations.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: conservation violated:");
    for v in violations {
        eprintln!("  {v}");
    }
    ExitCode::from(3)
}

fn journal_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!("{name}.partial"))
}

/// Points already done for this plan: those in `out` (a previous run's
/// output) and in the progress file, matched to this grid by their values.
fn resumable(
    plan: &Plan,
    out: &Path,
    journal: &Path,
) -> Result<BTreeMap<usize, PointResult>, String> {
    let mut found: Vec<(sim_core::study::provenance::Provenance, Vec<PointResult>)> = Vec::new();
    if out.exists() {
        let text = std::fs::read_to_string(out)
            .map_err(|e| format!("cannot read {}: {e}", out.display()))?;
        let o = SweepOutput::parse(&text).map_err(|e| {
            format!("--out {} exists and is not a tailsim sweep to resume ({e}); delete it or choose another file", out.display())
        })?;
        found.push((o.provenance, o.points));
    }
    if journal.exists() {
        let text = std::fs::read_to_string(journal)
            .map_err(|e| format!("cannot read {}: {e}", journal.display()))?;
        found.push(table::parse_journal(&text).map_err(|e| format!("{}: {e}", journal.display()))?);
    }
    let key = |params: &[serde_json::Value]| params.iter().map(value_text).collect::<Vec<_>>();
    let index: BTreeMap<Vec<String>, usize> = plan
        .points()
        .into_iter()
        .map(|k| (key(&plan.grid.point(k)), k))
        .collect();
    let mut done = BTreeMap::new();
    for (prov, points) in found {
        prov.same_study(&plan.provenance)
            .and_then(|()| {
                (prov.shard == plan.provenance.shard && prov.vary.iter().map(|v| &v.path).eq(plan.grid.vary.iter().map(|v| &v.path)))
                    .then_some(())
                    .ok_or_else(|| "the shard or the varied paths differ".to_string())
            })
            .map_err(|e| {
                format!("--out {}: holds another study ({e}); delete it (and {}) or choose another file", out.display(), journal.display())
            })?;
        for mut p in points {
            if let Some(&k) = index.get(&key(&p.params)) {
                p.index = k;
                p.params = plan.grid.point(k);
                done.insert(k, p);
            }
        }
    }
    Ok(done)
}

/// The progress file, rewritten with the points already done.
fn open_journal(
    path: &Path,
    plan: &Plan,
    done: &BTreeMap<usize, PointResult>,
) -> Result<std::fs::File, String> {
    let mut text = table::journal_header(&plan.provenance);
    for p in done.values() {
        text.push_str(&table::journal_line(p));
    }
    io::write_atomic(path, text.as_bytes())?;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

fn read_output(path: &Path) -> Result<(SweepOutput, TableFormat), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let o = SweepOutput::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((o, TableFormat::sniff(&text)))
}

pub fn merge(args: MergeArgs) -> Result<ExitCode, String> {
    let mut parts = Vec::new();
    let mut fallback = TableFormat::Csv;
    for p in &args.inputs {
        let (o, f) = read_output(p)?;
        fallback = f;
        parts.push(o);
    }
    let merged = table::merge(parts).map_err(|e| e.to_string())?;
    let format = table_format(args.format, args.out.as_deref(), fallback);
    if let Some(p) = &args.plot.plot {
        plot_output(&merged, &args.plot, p)?;
    }
    io::emit(args.out.as_deref(), &merged.render(format))?;
    Ok(ExitCode::SUCCESS)
}

pub fn plot(args: PlotArgs) -> Result<ExitCode, String> {
    let (o, _) = read_output(&args.input)?;
    let opts = PlotOpts {
        plot: Some(args.out.clone()),
        plot_metric: args.metric,
        plot_log: args.log,
    };
    plot_output(&o, &opts, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

fn plot_output(o: &SweepOutput, opts: &PlotOpts, path: &Path) -> Result<(), String> {
    let metrics = &o.provenance.metrics;
    let metric = match &opts.plot_metric {
        Some(m) if metrics.contains(m) => m.clone(),
        Some(m) => {
            return Err(format!(
                "--plot-metric {m}: not among the sweep's metrics ({})",
                metrics.join(", ")
            ))
        }
        None => metrics
            .iter()
            .find(|m| *m == "end_to_end.latency_s.p99")
            .or(metrics.first())
            .cloned()
            .ok_or("the sweep has no metrics to plot")?,
    };
    plot::chart(o, &metric, opts.plot_log, path)
}

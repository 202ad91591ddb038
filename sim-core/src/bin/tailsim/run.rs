//! `tailsim run`: one run, or independent replications with confidence
//! intervals, an MSER-5 warm-up and a precision target.

use clap::ValueEnum;
use sim_core::study::replicate::{replicate, Precision, ReplicateSpec};
use sim_core::study::{self, Base, Exec, Warmup};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::io;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Scenario file (.toml or .json), or - to read it from standard input.
    file: PathBuf,
    /// Root seed (default: the scenario's `seed`). With --replications N the
    /// seeds are SEED..SEED+N-1.
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated seconds to run (default: the scenario's `duration_s`).
    #[arg(long, value_parser = positive_secs)]
    duration: Option<f64>,
    /// Seconds of warm-up excluded from statistics (default: the
    /// scenario's), or `auto`: chosen by MSER-5 from pilot runs.
    #[arg(long, value_parser = warmup_arg)]
    warmup: Option<WarmupArg>,
    /// The windowed series MSER-5 reads: in_system (requests in all
    /// serving nodes), p99_s, throughput_rps, in_flight, nodes.NAME.FIELD...
    #[arg(long, default_value = "in_system")]
    warmup_series: String,
    /// Override any field by its dotted path, e.g. nodes.api.workers=12
    /// (repeatable; values are JSON or bare strings).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// The run's memory budget, in requests in flight (default 1,000,000,
    /// about 300 MB); the latency statistics may take 300 bytes a request
    /// more. A run that outgrows it stops with a message naming the node.
    #[arg(long, value_name = "REQUESTS", value_parser = clap::value_parser!(u64).range(1..))]
    max_in_flight: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
    /// Write the report here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Independent replications (seeds SEED..SEED+N-1): the report gives
    /// every metric's mean with a confidence interval.
    #[arg(long, conflicts_with = "seeds")]
    replications: Option<usize>,
    /// The seeds of the replications, e.g. 3,7,11.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    seeds: Option<Vec<u64>>,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    jobs: Option<usize>,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Add replications until the --target metric's interval half-width is
    /// within this fraction of its mean (0.05 for 5%).
    #[arg(long, requires = "target")]
    precision: Option<f64>,
    /// The metric --precision is about, e.g. end_to_end.latency_s.p99.
    #[arg(long, requires = "precision")]
    target: Option<String>,
    /// The most replications --precision may run.
    #[arg(long, default_value_t = 1000)]
    max_replications: usize,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug)]
pub enum WarmupArg {
    Secs(f64),
    Auto,
}

pub fn warmup_arg(s: &str) -> Result<WarmupArg, String> {
    if s == "auto" {
        return Ok(WarmupArg::Auto);
    }
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is neither a number of seconds nor `auto`"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(WarmupArg::Secs(v))
    } else {
        Err(format!("must be >= 0 seconds, got {s}"))
    }
}

pub fn positive_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be > 0 seconds, got {s}"))
    }
}

/// The study's base: the scenario with `--set`, `--duration`, `--warmup`.
pub fn base(
    file: &std::path::Path,
    sets: &[String],
    duration: Option<f64>,
    warmup: Option<WarmupArg>,
    series: &str,
    max_in_flight: Option<u64>,
) -> Result<(Base, String), String> {
    let (doc, name) = io::load_doc(file, sets)?;
    let mut base = Base::new(doc);
    base.sets = sets.to_vec();
    base.duration_s = duration;
    base.max_in_flight = max_in_flight;
    base.warmup = match warmup {
        None => Warmup::Scenario,
        Some(WarmupArg::Secs(w)) => Warmup::Fixed(w),
        Some(WarmupArg::Auto) => Warmup::Auto {
            series: series.to_string(),
        },
    };
    Ok((base, name))
}

pub fn run(args: RunArgs) -> Result<ExitCode, String> {
    let (base, name) = base(
        &args.file,
        &args.sets,
        args.duration,
        args.warmup,
        &args.warmup_series,
        args.max_in_flight,
    )?;
    let with_name = |e: study::StudyError| format!("{name}: {e}");
    let first = match args.seed {
        Some(s) => s,
        None => study::scenario_seed(&base).map_err(with_name)?,
    };
    let replicated = args.replications.is_some()
        || args.seeds.is_some()
        || args.precision.is_some()
        || matches!(args.warmup, Some(WarmupArg::Auto));
    if !replicated {
        return single(&args, &base, first).map_err(with_name);
    }
    let seeds = match (&args.seeds, args.replications) {
        (Some(s), _) => s.clone(),
        (None, Some(0)) => return Err("--replications must be at least 1".into()),
        (None, n) => {
            let n = n.unwrap_or(if args.precision.is_some() { 10 } else { 1 });
            study::consecutive_seeds(first, n).map_err(|e| e.to_string())?
        }
    };
    let spec = ReplicateSpec {
        base,
        seeds,
        confidence: args.confidence,
        precision: args.precision.map(|relative| Precision {
            relative,
            target: args.target.clone().unwrap_or_default(),
            max_replications: args.max_replications,
        }),
    };
    let exec = Exec::new(args.jobs).map_err(|e| format!("--{e}"))?;
    let bar = io::Bar::new();
    let res = replicate(&spec, &exec, &bar);
    bar.finish();
    let r = res.map_err(|e| match e {
        study::StudyError::Option { .. } => format!("--{e}"),
        e => with_name(e),
    })?;
    let text = match args.format {
        OutFormat::Table => r.to_table(),
        OutFormat::Json => r.to_json(),
        OutFormat::Csv => r.to_csv(),
    };
    io::emit(args.out.as_deref(), &text)?;
    if let Some(m) = &r.warmup.mser {
        if !m.reliable {
            eprintln!("warning: MSER-5 found no reliable warm-up (the best cut is in the second half of the run): run longer");
        }
    }
    if let Some(p) = r.precision.as_ref().filter(|p| !p.met) {
        eprintln!(
            "warning: the precision target was not met after {} replications (--max-replications)",
            p.replications
        );
    }
    conservation(&r.conservation.violations)
}

/// One run, as before replications existed, with its provenance.
fn single(args: &RunArgs, base: &Base, seed: u64) -> Result<ExitCode, study::StudyError> {
    let t0 = Instant::now();
    let (mut report, provenance) = study::run_once(base, seed)?;
    report.wall_s = t0.elapsed().as_secs_f64();
    let prov = serde_json::to_string(&provenance).expect("serialises");
    let text = match args.format {
        OutFormat::Table => format!(
            "{}\ntailsim {}  scenario sha256 {}  seed {seed}{}\n",
            report.to_table(),
            provenance.tailsim,
            &provenance.scenario_sha256[..12],
            if base.sets.is_empty() {
                String::new()
            } else {
                format!("  --set {}", base.sets.join(" --set "))
            }
        ),
        OutFormat::Json => with_provenance(&report.to_json(), &provenance),
        OutFormat::Csv => format!("# tailsim run {prov}\n{}", report.to_csv()),
    };
    io::emit(args.out.as_deref(), &text).map_err(study::StudyError::Run)?;
    let violations: Vec<String> = report
        .conservation
        .violations
        .iter()
        .map(|v| format!("seed {seed}: {v}"))
        .collect();
    Ok(conservation(&violations).unwrap_or(ExitCode::SUCCESS))
}

/// The report's JSON with a last member `"provenance"` (the report's own
/// members keep their order).
fn with_provenance(json: &str, p: &study::provenance::Provenance) -> String {
    let body = json.trim_end().strip_suffix('}').unwrap_or(json).trim_end();
    let prov = serde_json::to_string_pretty(p)
        .expect("serialises")
        .replace('\n', "\n  ");
    format!("{body},\n  \"provenance\": {prov}\n}}\n")
}

fn conservation(violations: &[String]) -> Result<ExitCode, String> {
    if violations.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("error: conservation violated:");
    for v in violations {
        eprintln!("  {v}");
    }
    Ok(ExitCode::from(3))
}

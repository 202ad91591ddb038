//! `tailsim`: the research CLI around the engine. All I/O lives here; the
//! library stays pure.

use clap::{Parser, Subcommand, ValueEnum};
#[path = "tailsim/lessons.rs"]
mod lessons;

use lessons::LessonCmd;
use sim_core::{Edit, Format, Scenario, ScenarioDoc, Sim};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "tailsim", version, about = "Deterministic backend-scalability simulator", long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario and print its report.
    Run(RunArgs),
    /// Lessons: list, show, check claims, coverage of the catalogue.
    Lessons {
        #[command(subcommand)]
        cmd: LessonCmd,
        /// Directory of lesson files.
        #[arg(long, default_value = "assets/lessons", global = true)]
        dir: PathBuf,
        /// Directory that `scenario_file` paths are relative to.
        #[arg(long, default_value = "assets/scenarios", global = true)]
        scenarios: PathBuf,
    },
    /// Check a scenario file and report the first problem, if any.
    Validate {
        /// Scenario file (.toml or .json).
        file: PathBuf,
        /// Override a field before validating: PATH=VALUE (repeatable; VALUE
        /// null removes the field).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (.toml or .json).
    file: PathBuf,
    /// Root seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated seconds to run (default: the scenario's `duration_s`).
    #[arg(long, value_parser = positive_secs)]
    duration: Option<f64>,
    /// Seconds of warm-up excluded from statistics (default: the scenario's).
    #[arg(long, value_parser = nonneg_secs)]
    warmup: Option<f64>,
    /// Override any field by its dotted path, e.g. nodes.api.workers=12
    /// (repeatable; values are JSON or bare strings; null removes the field).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
    /// Write the report here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Table,
    Json,
    Csv,
}

fn positive_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be > 0 seconds, got {s}"))
    }
}

fn nonneg_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be >= 0 seconds, got {s}"))
    }
}

/// Reads a scenario document and applies the `--set` edits, in order.
fn load_doc(file: &Path, sets: &[String]) -> Result<ScenarioDoc, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("toml") => Format::Toml,
        _ => Format::sniff(&text),
    };
    let mut doc =
        ScenarioDoc::parse(&text, format).map_err(|e| format!("{}: {e}", file.display()))?;
    for s in sets {
        Edit::parse(s)
            .and_then(|edit| doc.apply(&edit))
            .map_err(|e| format!("--set {s:?}: {e}"))?;
    }
    Ok(doc)
}

fn run(args: RunArgs) -> Result<ExitCode, String> {
    let mut doc = load_doc(&args.file, &args.sets)?;
    if let Some(d) = args.duration {
        doc.set_value("duration_s", d.into())
            .map_err(|e| e.to_string())?;
    }
    if let Some(w) = args.warmup {
        doc.set_value("warmup_s", w.into())
            .map_err(|e| e.to_string())?;
    }
    let window_given = doc.get("metrics.window_s").is_some();
    let sc: Scenario = doc
        .build()
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    let seed = args.seed.unwrap_or(sc.seed);
    let mut sim = Sim::new(&sc, seed).map_err(|e| e.to_string())?;
    if !window_given {
        sim.auto_window(sc.duration_s);
    }
    let t0 = Instant::now();
    let mut report = sim.run_for(sc.duration_s);
    report.wall_s = t0.elapsed().as_secs_f64();
    let text = match args.format {
        OutFormat::Table => report.to_table(),
        OutFormat::Json => report.to_json() + "\n",
        OutFormat::Csv => report.to_csv(),
    };
    match &args.out {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?
        }
        None => print!("{text}"),
    }
    if !report.conservation.ok {
        eprintln!("error: conservation violated (seed {seed}):");
        for v in &report.conservation.violations {
            eprintln!("  {v}");
        }
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // Behave like other command-line tools when the reader goes away
    // (`tailsim lessons list | head`): exit quietly instead of panicking.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any other
    // thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Run(a) => run(a),
        Cmd::Lessons {
            cmd,
            dir,
            scenarios,
        } => lessons::lessons(cmd, &dir, &scenarios),
        Cmd::Validate { file, sets } => load_doc(&file, &sets).and_then(|doc| {
            let sc = doc
                .build()
                .map_err(|e| format!("{}: {e}", file.display()))?;
            println!(
                "ok: {} ({:?}, {} nodes, version {})",
                file.display(),
                sc.name,
                sc.nodes.len(),
                sc.version
            );
            Ok(ExitCode::SUCCESS)
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

//! `tailsim`: the research CLI around the engine. All I/O lives here; the
//! library stays pure.
//!
//! - `run`: one run, or replications with confidence intervals (`run.rs`);
//! - `sweep`, `merge`, `plot`: what-if sweeps, their shards and charts
//!   (`sweep.rs`, `plot.rs`);
//! - `lessons`: the built-in lessons (`lessons.rs`);
//! - `validate`: check a scenario.

mod io;
mod lessons;
mod plot;
mod run;
mod sweep;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "tailsim", version, about = "Deterministic backend-scalability simulator", long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario and print its report; with --replications, the mean
    /// of every metric over independent runs with confidence intervals.
    Run(run::RunArgs),
    /// What-if sweep: run a grid of scenario variants (--vary), the same
    /// seeds at every point, and write tidy rows (CSV or JSON Lines).
    Sweep(sweep::SweepArgs),
    /// Combine the outputs of `sweep --shard i/n` into what one run writes.
    Merge(sweep::MergeArgs),
    /// Chart a sweep's output: a metric against the first varied parameter.
    Plot(sweep::PlotArgs),
    /// Lessons: list, show, check claims, coverage of the catalogue.
    Lessons {
        #[command(subcommand)]
        cmd: lessons::LessonCmd,
        /// Read lesson files from this directory instead of the built-in ones.
        #[arg(long, global = true)]
        dir: Option<PathBuf>,
        /// With --dir: the directory `scenario_file` paths are relative to
        /// (default: DIR/../scenarios).
        #[arg(long, global = true)]
        scenarios: Option<PathBuf>,
    },
    /// Check a scenario file and report the first problem, if any.
    Validate {
        /// Scenario file (.toml or .json), or - for standard input.
        file: PathBuf,
        /// Override a field before validating: PATH=VALUE (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
}

fn validate(file: &std::path::Path, sets: &[String]) -> Result<ExitCode, String> {
    let (doc, name) = io::load_doc(file, sets)?;
    let sc = doc.build().map_err(|e| format!("{name}: {e}"))?;
    println!(
        "ok: {name} ({:?}, {} nodes, version {})",
        sc.name,
        sc.nodes.len(),
        sc.version
    );
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
        Cmd::Run(a) => run::run(a),
        Cmd::Sweep(a) => sweep::sweep(a),
        Cmd::Merge(a) => sweep::merge(a),
        Cmd::Plot(a) => sweep::plot(a),
        Cmd::Lessons {
            cmd,
            dir,
            scenarios,
        } => lessons::lessons(cmd, dir.as_deref(), scenarios.as_deref()),
        Cmd::Validate { file, sets } => validate(&file, &sets),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

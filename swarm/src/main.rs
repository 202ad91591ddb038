//! `swarm`: the swarm tester's command line (run it as `cargo xtask fuzz`,
//! which builds it with the `fuzz` profile: optimised, debug assertions and
//! overflow checks on).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use swarm::driver::{self, Options};
use swarm::run::Limits;

#[derive(Parser)]
#[command(
    name = "cargo xtask fuzz",
    bin_name = "cargo xtask fuzz",
    about = "tailsim's swarm tester: random valid and invalid scenarios, live faults and reconfigurations, checked for panics, hangs, memory, conservation and determinism"
)]
struct Cli {
    #[command(subcommand)]
    worker: Option<WorkerCmd>,
    /// Root seed; case 0 runs this very seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many generated cases.
    #[arg(long)]
    cases: Option<u64>,
    /// Stop starting cases after this many minutes (default 1 without --cases).
    #[arg(long)]
    minutes: Option<f64>,
    /// Worker processes (default: one per CPU).
    #[arg(long)]
    jobs: Option<usize>,
    /// Only this generator: valid, edge, asset, lesson, invalid, text, set,
    /// lesson-file, hostile, or hostile:FAMILY.
    #[arg(long)]
    only: Option<String>,
    /// CPU seconds a case may take before its worker is killed as hung
    /// (wall time backs it up at 10x).
    #[arg(long, default_value_t = 30.0)]
    case_timeout: f64,
    /// Work (events handled and calls made) one run may do (it stops
    /// there; not a failure).
    #[arg(long, default_value_t = Limits::default().max_work)]
    max_work: u64,
    /// Live heap (MiB) that fails a run as `memory`.
    #[arg(long, default_value_t = 1024)]
    soft_mb: usize,
    /// Live heap (MiB) past which allocations fail (`oom`).
    #[arg(long, default_value_t = 2048)]
    hard_mb: usize,
    /// Do not replay the committed corpus first.
    #[arg(long)]
    no_corpus: bool,
    /// Replay these case files only.
    #[arg(long, num_args = 1..)]
    replay: Vec<String>,
    /// Print a case as JSON (with --seed and --only) instead of running.
    #[arg(long)]
    print: bool,
    /// Run the case of --seed (with --only), or of the first --replay file,
    /// in this process and print its verdict, rejections included.
    #[arg(long)]
    explain: bool,
    /// Shrink the failing case of --seed (with --only), or of the first
    /// --replay file, in this process; write it to the --out directory.
    #[arg(long)]
    shrink: bool,
    /// Write the case of --seed (with --only) to this corpus file, expecting
    /// EXPECT (`pass` or `open:ID`).
    #[arg(long, num_args = 2, value_names = ["FILE", "EXPECT"])]
    save: Vec<String>,
    /// Where failing cases are written.
    #[arg(long, default_value = "target/swarm/failures")]
    out: std::path::PathBuf,
}

#[derive(Subcommand)]
enum WorkerCmd {
    /// (internal) run jobs from stdin
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        max_work: u64,
        #[arg(long)]
        stall_events: u64,
        #[arg(long)]
        soft_mb: usize,
        #[arg(long)]
        hard_mb: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(WorkerCmd::Worker {
        max_work,
        stall_events,
        soft_mb,
        hard_mb,
    }) = cli.worker
    {
        let limits = Limits {
            max_work,
            stall_events,
            soft_bytes: soft_mb << 20,
        };
        swarm::worker::main(limits, hard_mb << 20);
        return ExitCode::SUCCESS;
    }
    if cli.shrink {
        return shrink(&cli);
    }
    if cli.explain {
        let case = match cli.replay.first() {
            Some(f) => match swarm::corpus::read_case(f) {
                Ok((c, _)) => c,
                Err(e) => {
                    eprintln!("swarm: {e}");
                    return ExitCode::FAILURE;
                }
            },
            None => swarm::gen::case(cli.seed, cli.only.as_deref()),
        };
        println!("{}", case.describe());
        let limits = Limits {
            max_work: cli.max_work,
            ..Limits::default()
        };
        let t = Instant::now();
        let v = swarm::check::check(&case, limits);
        println!("{v:?} in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        return ExitCode::SUCCESS;
    }
    if cli.print || !cli.save.is_empty() {
        return print_or_save(&cli);
    }
    let limits = Limits {
        max_work: cli.max_work,
        soft_bytes: cli.soft_mb << 20,
        ..Limits::default()
    };
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let o = Options {
        seed: cli.seed,
        cases: cli.cases,
        minutes: cli
            .minutes
            .or(if cli.cases.is_none() { Some(1.0) } else { None }),
        jobs: cli.jobs.unwrap_or(cpus),
        only: cli.only,
        case_timeout: Duration::from_secs_f64(cli.case_timeout),
        limits,
        hard_bytes: cli.hard_mb << 20,
        corpus: !cli.no_corpus,
        replay: cli.replay,
        out: cli.out,
        command: "cargo xtask fuzz".into(),
    };
    println!(
        "swarm: root seed {}, {} workers, {}",
        o.seed,
        o.jobs,
        match (o.cases, o.minutes) {
            (Some(n), _) => format!("{n} cases"),
            (None, Some(m)) => format!("{m} minutes"),
            _ => "until stopped".into(),
        }
    );
    let start = Instant::now();
    match driver::run(&o) {
        Ok(t) => {
            if swarm::summary::print(&o, &t, start.elapsed().as_secs_f64()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("swarm: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn shrink(cli: &Cli) -> ExitCode {
    let case = match cli.replay.first() {
        Some(f) => match swarm::corpus::read_case(f) {
            Ok((c, _)) => c,
            Err(e) => {
                eprintln!("swarm: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => swarm::gen::case(cli.seed, cli.only.as_deref()),
    };
    let limits = Limits {
        max_work: cli.max_work,
        ..Limits::default()
    };
    let (small, n) = swarm::shrink::shrink(&case, limits);
    let sig = swarm::shrink::signature(&small, limits);
    println!(
        "{n} deletions; fails with: {}",
        sig.unwrap_or_else(|| "nothing".into())
    );
    if let swarm::case::Input::Doc(d) = &small.input {
        println!("{d}");
    }
    for a in &small.plan.actions {
        println!(
            "at {} s: {}",
            a.at_s,
            serde_json::to_string(&a.op).unwrap_or_default()
        );
    }
    let path = cli.out.join(format!("{}-min.json", case.seed));
    if let Err(e) = swarm::corpus::write_case(&path, &small, "pass", &small.describe()) {
        eprintln!("swarm: cannot write {}: {e}", path.display());
    } else {
        println!("written to {}", path.display());
    }
    ExitCode::SUCCESS
}

fn print_or_save(cli: &Cli) -> ExitCode {
    let case = swarm::gen::case(cli.seed, cli.only.as_deref());
    if let [file, expect] = cli.save.as_slice() {
        let about = case.describe();
        if let Err(e) = swarm::corpus::write_case(std::path::Path::new(file), &case, expect, &about)
        {
            eprintln!("swarm: cannot write {file}: {e}");
            return ExitCode::FAILURE;
        }
        println!("swarm: wrote {file} ({about})");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&case).unwrap_or_default()
        );
    }
    ExitCode::SUCCESS
}

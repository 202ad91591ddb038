//! `tailsim`: the research CLI around the engine. All I/O lives here; the
//! library stays pure.

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::lesson::{self, ClaimResult, Lesson, State};
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

#[derive(Subcommand)]
enum LessonCmd {
    /// Every lesson, grouped by article section.
    List,
    /// One lesson: narrative, question, toggle, claims.
    Show { id: String },
    /// Run lessons in both states over several seeds and judge their claims.
    Check {
        /// Lesson ids (default: all).
        ids: Vec<String>,
        /// Seeds per state (default: each lesson's own, at least 5).
        #[arg(long)]
        seeds: Option<u64>,
        /// Print a JSON array of results instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Every catalogue id with its lesson file and claim status.
    Coverage {
        /// Also run the claims (slower).
        #[arg(long)]
        check: bool,
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
    /// Requests the simulated system may hold in flight at once; past it
    /// the run stops with an error naming the node that holds the most
    /// (the simulated system runs out of room, not this machine).
    #[arg(long, value_name = "REQUESTS", default_value_t = sim_core::sim::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: u64,
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

/// The largest scenario or lesson file read: the largest shipped one is a
/// few KB; a bigger file is a mistake (or `/dev/urandom`), refused before
/// parsing.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Reads a text file of at most [`MAX_FILE_BYTES`], refusing a larger one
/// (without reading it all) and naming the byte offset of invalid UTF-8.
fn read_text(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{}: larger than {} MiB: not a scenario file",
            file.display(),
            MAX_FILE_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{}: not UTF-8 text: invalid byte at offset {}",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads a scenario document and applies the `--set` edits, in order.
fn load_doc(file: &Path, sets: &[String]) -> Result<ScenarioDoc, String> {
    let text = read_text(file)?;
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
    sim.set_max_in_flight(args.max_in_flight);
    if !window_given {
        sim.auto_window(sc.duration_s);
    }
    let t0 = Instant::now();
    let mut report = sim
        .run_for(sc.duration_s)
        .map_err(|e| format!("{}: the run stopped: {e}", args.file.display()))?;
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

struct LessonFile {
    lesson: Lesson,
    path: PathBuf,
    scenario_text: Option<String>,
}

fn load_lessons(dir: &Path, scenarios: &Path) -> Result<Vec<LessonFile>, String> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("toml"))
        .collect();
    paths.sort();
    for p in paths {
        let text = read_text(&p)?;
        let lesson = Lesson::from_toml_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if lesson.id != stem {
            return Err(format!(
                "{}: id {:?} must match the file name",
                p.display(),
                lesson.id
            ));
        }
        let scenario_text = match &lesson.scenario_file {
            Some(f) => {
                let sp = scenarios.join(f);
                Some(read_text(&sp).map_err(|e| format!("{}: scenario_file {e}", p.display()))?)
            }
            None => None,
        };
        // Both states must build.
        for st in [State::Mistake, State::Fix] {
            lesson
                .scenario(st, scenario_text.as_deref())
                .map_err(|e| format!("{}: {e}", p.display()))?;
        }
        out.push(LessonFile {
            lesson,
            path: p,
            scenario_text,
        });
    }
    Ok(out)
}

#[derive(serde::Serialize)]
struct LessonResult {
    id: String,
    claims: Vec<ClaimResult>,
    ranking: Vec<(String, f64, f64)>,
    wall_s: f64,
}

fn check_lesson(lf: &LessonFile, seeds: Option<u64>) -> LessonResult {
    let t0 = Instant::now();
    let l = &lf.lesson;
    let n = seeds.unwrap_or(l.seeds).max(1);
    let c = lesson::check(l, lf.scenario_text.as_deref(), n)
        .expect("both states build (checked at load)");
    LessonResult {
        id: c.id,
        claims: c.claims,
        ranking: c.ranking,
        wall_s: t0.elapsed().as_secs_f64(),
    }
}

/// Checks lessons on all cores (results in lesson order).
fn check_all(lessons: &[&LessonFile], seeds: Option<u64>) -> Vec<LessonResult> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(lessons.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(lf) = lessons.get(i) else { break };
                let r = check_lesson(lf, seeds);
                results.lock().unwrap().push((i, r));
            });
        }
    });
    let mut r = results.into_inner().unwrap();
    r.sort_by_key(|(i, _)| *i);
    r.into_iter().map(|(_, r)| r).collect()
}

fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn print_results(results: &[LessonResult]) -> (usize, usize) {
    let (mut pass, mut fail) = (0, 0);
    for r in results {
        println!("{}  ({:.1} s)", r.id, r.wall_s);
        for c in &r.claims {
            let mark = if c.pass { "PASS" } else { "FAIL" };
            if c.pass {
                pass += 1
            } else {
                fail += 1
            }
            println!("  {mark}  {}", c.text);
            match &c.error {
                Some(e) => println!("        error: {e}"),
                None => {
                    let m = c
                        .mistake
                        .iter()
                        .cloned()
                        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
                    let f = c
                        .fix
                        .iter()
                        .cloned()
                        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
                    println!(
                        "        measured {} (want {})   mistake {}..{}   fix {}..{}",
                        fmt_num(c.measured),
                        c.expected,
                        fmt_num(m.0),
                        fmt_num(m.1),
                        fmt_num(f.0),
                        fmt_num(f.1)
                    );
                }
            }
        }
        if !r.ranking.is_empty() {
            println!("  fixes ranked (best first):");
            for (name, v, gain) in &r.ranking {
                println!(
                    "        {name:<28} {}  ({gain:.2}x better than the mistake)",
                    fmt_num(*v)
                );
            }
        }
    }
    (pass, fail)
}

fn lessons(cmd: LessonCmd, dir: &Path, scenarios: &Path) -> Result<ExitCode, String> {
    let all = load_lessons(dir, scenarios)?;
    match cmd {
        LessonCmd::List => {
            let mut by_section: std::collections::BTreeMap<usize, Vec<&LessonFile>> =
                Default::default();
            for lf in &all {
                let order = lesson::CATALOGUE
                    .iter()
                    .position(|(id, ..)| *id == lf.lesson.id)
                    .unwrap_or(usize::MAX);
                by_section.entry(order).or_default().push(lf);
            }
            let mut last = String::new();
            for lf in by_section.values().flatten() {
                if lf.lesson.section != last {
                    println!("\n{}", lf.lesson.section);
                    last = lf.lesson.section.clone();
                }
                println!(
                    "  {:<22} {}  ({} claims)",
                    lf.lesson.id,
                    lf.lesson.title,
                    lf.lesson.claims.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        LessonCmd::Show { id } => {
            let lf = all
                .iter()
                .find(|l| l.lesson.id == id)
                .ok_or_else(|| format!("no lesson {id:?} in {}", dir.display()))?;
            let l = &lf.lesson;
            println!(
                "{} — {}\n[{}]  {}\n",
                l.id,
                l.title,
                l.section,
                lf.path.display()
            );
            println!("{}\n", l.narrative.trim());
            println!("Question: {}\n", l.question.trim());
            for (id, t) in l.toggles() {
                println!("Toggle {id}: {}", t.label);
                for p in t.paths() {
                    let show = |st| {
                        t.value(st, p)
                            .map_or("(absent)".to_string(), |v| v.to_string())
                    };
                    println!(
                        "  {p}: mistake {}, fix {}",
                        show(State::Mistake),
                        show(State::Fix)
                    );
                }
            }
            if let Some(d) = &l.demonstrated_by {
                println!("Demonstrated by: {d}");
            }
            if let Some(p) = &l.predict {
                println!(
                    "Predict: {} in the {:?} state ({})",
                    p.metric, p.state, p.unit
                );
            }
            if !l.focus.nodes.is_empty() || !l.focus.charts.is_empty() {
                println!(
                    "Focus: nodes {:?}, charts {:?}",
                    l.focus.nodes, l.focus.charts
                );
            }
            println!("\nClaims:");
            for c in &l.claims {
                let judged = match c.compare {
                    lesson::Compare::Ratio => "mistake / fix",
                    lesson::Compare::Difference => "mistake - fix",
                    lesson::Compare::Mistake => "mistake",
                    lesson::Compare::Fix => "fix",
                    lesson::Compare::Theory => "theory",
                };
                let rule = match (c.op, c.value, &c.expect) {
                    (Some(op), Some(v), _) => format!(
                        "{} {v}",
                        serde_json::to_value(op).unwrap().as_str().unwrap_or("?")
                    ),
                    (_, _, Some(f)) => format!(
                        "= {}({:?}) within {}",
                        f.r#fn,
                        f.args,
                        c.rel_tolerance.map_or(
                            format!("{}", c.tolerance.unwrap_or(0.0)),
                            |r| format!("{}%", r * 100.0)
                        )
                    ),
                    _ => String::new(),
                };
                let variant = c
                    .variant
                    .as_ref()
                    .map_or(String::new(), |v| format!(" [variant {v}]"));
                println!(
                    "  - {}\n      {judged} of {}  {rule}{variant}",
                    c.text, c.metric
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        LessonCmd::Check { ids, seeds, json } => {
            if let Some(s) = seeds {
                if s < 1 {
                    return Err("--seeds must be at least 1".into());
                }
            }
            let chosen: Vec<&LessonFile> = if ids.is_empty() {
                all.iter().collect()
            } else {
                ids.iter()
                    .map(|id| {
                        all.iter()
                            .find(|l| &l.lesson.id == id)
                            .ok_or_else(|| format!("no lesson {id:?}"))
                    })
                    .collect::<Result<_, _>>()?
            };
            let results = check_all(&chosen, seeds);
            if json {
                println!("{}", serde_json::to_string_pretty(&results).unwrap());
            }
            let (pass, fail) = if json {
                let f = results
                    .iter()
                    .flat_map(|r| &r.claims)
                    .filter(|c| !c.pass)
                    .count();
                (results.iter().map(|r| r.claims.len()).sum::<usize>() - f, f)
            } else {
                print_results(&results)
            };
            println!("\nclaims: {pass} passed, {fail} failed");
            Ok(if fail == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        LessonCmd::Coverage { check } => {
            let results: Vec<LessonResult> = if check {
                check_all(&all.iter().collect::<Vec<_>>(), None)
            } else {
                Vec::new()
            };
            let mut covered = 0;
            println!("{:<22} {:<34} {}", "catalogue id", "lesson file", "claims");
            for (id, _, _) in lesson::CATALOGUE {
                let lf = all.iter().find(|l| l.lesson.id == *id);
                let status = match lf {
                    None => "MISSING".to_string(),
                    Some(lf) => {
                        covered += 1;
                        match results.iter().find(|r| r.id == *id) {
                            Some(r) => {
                                let p = r.claims.iter().filter(|c| c.pass).count();
                                format!("{p}/{} pass", r.claims.len())
                            }
                            None if lf.lesson.claims.is_empty() => format!(
                                "demonstrated by: {}",
                                lf.lesson.demonstrated_by.as_deref().unwrap_or("")
                            ),
                            None => format!("{} claims (run with --check)", lf.lesson.claims.len()),
                        }
                    }
                };
                let file = lf.map_or("-".to_string(), |l| {
                    l.path.file_name().unwrap().to_string_lossy().into_owned()
                });
                println!("{id:<22} {file:<34} {status}");
            }
            let extra: Vec<&str> = all
                .iter()
                .map(|l| l.lesson.id.as_str())
                .filter(|id| !lesson::CATALOGUE.iter().any(|(c, ..)| c == id))
                .collect();
            for id in &extra {
                let status = match results.iter().find(|r| r.id == *id) {
                    Some(r) => format!(
                        "{}/{} pass",
                        r.claims.iter().filter(|c| c.pass).count(),
                        r.claims.len()
                    ),
                    None => "run with --check".to_string(),
                };
                println!(
                    "{id:<22} {:<34} {status} (beyond the catalogue)",
                    format!("{id}.toml")
                );
            }
            println!(
                "\ncovered {covered} of {} catalogue rows",
                lesson::CATALOGUE.len()
            );
            let failing = results.iter().any(|r| r.claims.iter().any(|c| !c.pass));
            Ok(if failing {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
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
        } => lessons(cmd, &dir, &scenarios),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let p = std::env::temp_dir().join(format!("tailsim-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn files_are_size_capped_and_non_utf8_names_the_offset() {
        // One byte over the cap: refused without parsing (reading
        // /dev/urandom stops here too).
        let big = temp("big.toml", &vec![b'#'; MAX_FILE_BYTES as usize + 1]);
        let e = read_text(&big).unwrap_err();
        assert!(e.contains("larger than 4 MiB"), "{e}");
        let bad = temp("bad.toml", b"version = 1\nname = \"\xff\"\n");
        let e = read_text(&bad).unwrap_err();
        assert!(e.contains("invalid byte at offset 20"), "{e}");
        let ok = temp("ok.toml", b"version = 1\n");
        assert_eq!(read_text(&ok).unwrap(), "version = 1\n");
        for p in [big, bad, ok] {
            std::fs::remove_file(p).unwrap();
        }
    }
}

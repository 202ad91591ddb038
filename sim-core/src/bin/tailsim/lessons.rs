//! `tailsim lessons`: the lessons compiled into the binary (as the page has
//! them), or lesson files from `--dir` for authors editing them.

use clap::Subcommand;
use sim_core::lesson::{self, ClaimResult, Lesson, State};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum LessonCmd {
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
        /// Print only a JSON array of results (no table, no summary line).
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

struct LessonFile {
    lesson: Lesson,
    /// Where it came from: `assets/lessons/ID.toml` (built in) or a path.
    path: String,
    scenario_text: Option<String>,
}

/// The built-in lessons, or those in `dir` (scenario files relative to
/// `scenarios`, default `dir/../scenarios`).
fn load_lessons(dir: Option<&Path>, scenarios: Option<&Path>) -> Result<Vec<LessonFile>, String> {
    let Some(dir) = dir else {
        let all = sim_core::bundled::lessons()?;
        return Ok(all
            .into_iter()
            .map(|b| LessonFile {
                path: format!("assets/lessons/{} (built in)", b.file),
                scenario_text: b.scenario_text.map(String::from),
                lesson: b.lesson,
            })
            .collect());
    };
    let scenarios = scenarios.map_or_else(|| dir.join("../scenarios"), Path::to_path_buf);
    load_dir(dir, &scenarios)
}

fn load_dir(dir: &Path, scenarios: &Path) -> Result<Vec<LessonFile>, String> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("toml"))
        .collect();
    paths.sort();
    for p in paths {
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let lesson = Lesson::from_toml_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if lesson.id != stem {
            return Err(format!(
                "{}: id {:?} must match the file name",
                p.display(),
                lesson.id
            ));
        }
        let scenario_text =
            match &lesson.scenario_file {
                Some(f) => {
                    let sp = scenarios.join(f);
                    Some(std::fs::read_to_string(&sp).map_err(|e| {
                        format!("{}: scenario_file {}: {e}", p.display(), sp.display())
                    })?)
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
            path: p.display().to_string(),
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

pub fn lessons(
    cmd: LessonCmd,
    dir: Option<&Path>,
    scenarios: Option<&Path>,
) -> Result<ExitCode, String> {
    let all = load_lessons(dir, scenarios)?;
    match cmd {
        LessonCmd::List => list(&all),
        LessonCmd::Show { id } => show(&all, &id),
        LessonCmd::Check { ids, seeds, json } => check(&all, &ids, seeds, json),
        LessonCmd::Coverage { check } => coverage(&all, check),
    }
}

fn list(all: &[LessonFile]) -> Result<ExitCode, String> {
    let mut by_section: std::collections::BTreeMap<usize, Vec<&LessonFile>> = Default::default();
    for lf in all {
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

fn show(all: &[LessonFile], id: &str) -> Result<ExitCode, String> {
    let lf = all
        .iter()
        .find(|l| l.lesson.id == id)
        .ok_or_else(|| format!("no lesson {id:?} (tailsim lessons list shows them)"))?;
    let l = &lf.lesson;
    println!("{} — {}\n[{}]  {}\n", l.id, l.title, l.section, lf.path);
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
                c.rel_tolerance
                    .map_or(format!("{}", c.tolerance.unwrap_or(0.0)), |r| format!(
                        "{}%",
                        r * 100.0
                    ))
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

fn check(
    all: &[LessonFile],
    ids: &[String],
    seeds: Option<u64>,
    json: bool,
) -> Result<ExitCode, String> {
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
    // --json prints the JSON document and nothing else: parsers read
    // standard output whole.
    let fail = if json {
        println!("{}", serde_json::to_string_pretty(&results).unwrap());
        results
            .iter()
            .flat_map(|r| &r.claims)
            .filter(|c| !c.pass)
            .count()
    } else {
        let (pass, fail) = print_results(&results);
        println!("\nclaims: {pass} passed, {fail} failed");
        fail
    };
    Ok(if fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn coverage(all: &[LessonFile], check: bool) -> Result<ExitCode, String> {
    let results: Vec<LessonResult> = if check {
        check_all(&all.iter().collect::<Vec<_>>(), None)
    } else {
        Vec::new()
    };
    let mut covered = 0;
    println!("{:<22} {:<34} claims", "catalogue id", "lesson file");
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
        let file = lf.map_or("-".to_string(), |l| format!("{}.toml", l.lesson.id));
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

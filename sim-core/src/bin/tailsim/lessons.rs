//! `tailsim lessons`: list, show, check and cover the lessons compiled
//! into the binary (as the page has them), or lesson files from `--dir`
//! for authors editing them.
//!
//! `check` runs every job of every chosen lesson in one pool over all
//! cores (the library's [`lesson::check_plans`]) and prints each claim at
//! the lesson as written and at both ends of each declared band: the
//! value on the means, the seeds it held on, and the worst seed with its
//! margin, so a claim that passes on the mean while one seed falls
//! through says so.

use clap::Subcommand;
use sim_core::lesson::{self, Ablation, Checked, ClaimResult, Lesson, Plan, State};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum LessonCmd {
    /// Every lesson, grouped by article section.
    List,
    /// One lesson: narrative, question, toggle, bands, claims.
    Show { id: String },
    /// Run lessons in every state over their seeds, at the lesson as
    /// written and at both ends of every band, and judge each claim seed
    /// by seed.
    Check {
        /// Lesson ids (default: all).
        ids: Vec<String>,
        /// Seeds per state (default: each lesson's own, at least 10).
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
        let text = crate::io::read_text(&p)?;
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
                Some(
                    crate::io::read_text(&sp)
                        .map_err(|e| format!("{}: scenario_file {e}", p.display()))?,
                )
            }
            None => None,
        };
        // Every state at every band end must build (the plan builds them).
        Plan::new(&lesson, scenario_text.as_deref(), 1)
            .map_err(|e| format!("{}: {e}", p.display()))?;
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
    #[serde(flatten)]
    checked: Checked,
}

impl LessonResult {
    fn claims(&self) -> impl Iterator<Item = (&str, &ClaimResult)> {
        self.checked
            .points
            .iter()
            .flat_map(|p| p.claims.iter().map(move |c| (p.label.as_str(), c)))
    }
}

/// Checks lessons on all cores (results in lesson order).
fn check_all(lessons: &[&LessonFile], seeds: Option<u64>) -> Result<Vec<LessonResult>, String> {
    let plans: Vec<Plan> = lessons
        .iter()
        .map(|lf| {
            let n = seeds.unwrap_or(lf.lesson.seeds).max(1);
            Plan::new(&lf.lesson, lf.scenario_text.as_deref(), n)
                .map_err(|e| format!("{}: {e}", lf.lesson.id))
        })
        .collect::<Result<_, _>>()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(lesson::check_plans(&plans, threads)
        .into_iter()
        .map(|checked| LessonResult { checked })
        .collect())
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

fn fmt_margin(m: f64) -> String {
    if m.is_finite() {
        format!("{:+.1}%", m * 100.0)
    } else {
        "-inf".into()
    }
}

/// One claim at one point: "as written  measured 3.2 (want >= 2, margin
/// +60.0%)  10/10 seeds  worst seed 7: 2.3 (+15.0%)".
fn print_claim_at(label: &str, c: &ClaimResult) {
    let mark = if c.pass { "ok  " } else { "FAIL" };
    if let Some(e) = &c.error {
        println!("      {mark} {label:<16} error: {e}");
        return;
    }
    let worst = c.worst.map_or(String::new(), |w| {
        format!(
            "  worst seed {}: {} ({})",
            w.seed,
            fmt_num(w.value),
            fmt_margin(w.margin)
        )
    });
    println!(
        "      {mark} {label:<16} measured {} (want {}, margin {})  {}{worst}",
        fmt_num(c.measured),
        c.expected,
        fmt_margin(c.margin),
        c.seeds_text()
    );
}

fn print_ablation(a: &Ablation) {
    println!(
        "  which part does the work ({}; mistake {}, full fix {}):",
        a.metric,
        fmt_num(a.mistake),
        fmt_num(a.fix)
    );
    println!(
        "        {:<30} {:>12} {:>8} {:>12} {:>8}",
        "part", "alone", "gain", "all but it", "gain"
    );
    for r in &a.parts {
        println!(
            "        {:<30} {:>12} {:>7.0}% {:>12} {:>7.0}%",
            r.label,
            fmt_num(r.alone),
            r.alone_share * 100.0,
            fmt_num(r.without),
            r.without_share * 100.0
        );
    }
}

fn print_results(results: &[LessonResult]) -> (usize, usize) {
    let (mut pass, mut fail) = (0, 0);
    for r in results {
        let ch = &r.checked;
        let status = if ch.pass() { "" } else { "  FAILS" };
        println!(
            "{}  ({} seeds, {} points){status}",
            ch.id,
            ch.seeds,
            ch.points.len()
        );
        for (i, c) in ch.claims().iter().enumerate() {
            let ok = ch.points.iter().all(|p| p.claims[i].pass);
            let mark = if ok { "PASS" } else { "FAIL" };
            if ok {
                pass += 1
            } else {
                fail += 1
            }
            println!("  {mark}  {}", c.text);
            for p in &ch.points {
                print_claim_at(&p.label, &p.claims[i]);
            }
        }
        if let Some(a) = &ch.ablation {
            print_ablation(a);
        }
    }
    (pass, fail)
}

fn list(all: &[LessonFile]) {
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
}

fn show(lf: &LessonFile) {
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
    for b in &l.bands {
        println!(
            "Band {}: ±{}% of {}",
            b.name,
            b.rel * 100.0,
            b.paths.join(", ")
        );
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
        show_claim(c);
    }
}

fn show_claim(c: &lesson::Claim) {
    let judged = match (c.compare, &c.variant, &c.without) {
        (lesson::Compare::Ratio, Some(v), _) => format!("mistake / only {v}"),
        (lesson::Compare::Ratio, _, Some(v)) => format!("mistake / all but {v}"),
        (lesson::Compare::Ratio, ..) => "mistake / fix".into(),
        (lesson::Compare::Difference, Some(v), _) => format!("mistake - only {v}"),
        (lesson::Compare::Difference, _, Some(v)) => format!("mistake - all but {v}"),
        (lesson::Compare::Difference, ..) => "mistake - fix".into(),
        (lesson::Compare::Mistake, ..) => "mistake".into(),
        (lesson::Compare::Fix, Some(v), _) => format!("only {v}"),
        (lesson::Compare::Fix, _, Some(v)) => format!("all but {v}"),
        (lesson::Compare::Fix, ..) => "fix".into(),
        (lesson::Compare::Theory, ..) => "theory".into(),
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
    let seeds = if c.required_fraction() < 1.0 {
        format!("  on {:.0}% of seeds", c.required_fraction() * 100.0)
    } else {
        String::new()
    };
    println!(
        "  - {}\n      {judged} of {}  {rule}{seeds}",
        c.text, c.metric
    );
}

fn check(
    all: &[LessonFile],
    ids: &[String],
    seeds: Option<u64>,
    json: bool,
) -> Result<ExitCode, String> {
    if seeds == Some(0) {
        return Err("--seeds must be at least 1".into());
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
    let t0 = Instant::now();
    let results = check_all(&chosen, seeds)?;
    // --json prints the JSON document and nothing else on standard output
    // (parsers read it whole); the summary goes to standard error.
    let (pass, fail) = if json {
        println!("{}", serde_json::to_string_pretty(&results).unwrap());
        let f = results.iter().filter(|r| !r.checked.pass()).count();
        (results.len() - f, f)
    } else {
        print_results(&results)
    };
    let what = if json { "lessons" } else { "claims" };
    let summary = format!(
        "{what}: {pass} passed, {fail} failed ({:.1} s)",
        t0.elapsed().as_secs_f64()
    );
    if json {
        eprintln!("{summary}");
    } else {
        println!("\n{summary}");
    }
    Ok(if fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn coverage_status(lf: &LessonFile, results: &[LessonResult]) -> String {
    match results.iter().find(|r| r.checked.id == lf.lesson.id) {
        Some(r) => {
            let n = r.claims().count();
            let p = r.claims().filter(|(_, c)| c.pass).count();
            format!("{p}/{n} pass (claims x points)")
        }
        None if lf.lesson.claims.is_empty() => format!(
            "demonstrated by: {}",
            lf.lesson.demonstrated_by.as_deref().unwrap_or("")
        ),
        None => format!("{} claims (run with --check)", lf.lesson.claims.len()),
    }
}

fn coverage(all: &[LessonFile], check: bool) -> Result<ExitCode, String> {
    let results: Vec<LessonResult> = if check {
        check_all(&all.iter().collect::<Vec<_>>(), None)?
    } else {
        Vec::new()
    };
    let mut covered = 0;
    println!("{:<22} {:<34} claims", "catalogue id", "lesson file");
    for (id, _, _) in lesson::CATALOGUE {
        let lf = all.iter().find(|l| l.lesson.id == *id);
        let status = lf.map_or("MISSING".to_string(), |lf| coverage_status(lf, &results));
        covered += usize::from(lf.is_some());
        let file = lf.map_or("-".to_string(), |l| format!("{}.toml", l.lesson.id));
        println!("{id:<22} {file:<34} {status}");
    }
    for lf in all
        .iter()
        .filter(|l| !lesson::CATALOGUE.iter().any(|(c, ..)| *c == l.lesson.id))
    {
        println!(
            "{:<22} {:<34} {} (beyond the catalogue)",
            lf.lesson.id,
            format!("{}.toml", lf.lesson.id),
            coverage_status(lf, &results)
        );
    }
    println!(
        "\ncovered {covered} of {} catalogue rows",
        lesson::CATALOGUE.len()
    );
    let failing = results.iter().any(|r| !r.checked.pass());
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn lessons(
    cmd: LessonCmd,
    dir: Option<&Path>,
    scenarios: Option<&Path>,
) -> Result<ExitCode, String> {
    let all = load_lessons(dir, scenarios)?;
    match cmd {
        LessonCmd::List => {
            list(&all);
            Ok(ExitCode::SUCCESS)
        }
        LessonCmd::Show { id } => {
            let lf = all
                .iter()
                .find(|l| l.lesson.id == id)
                .ok_or_else(|| format!("no lesson {id:?} (tailsim lessons list shows them)"))?;
            show(lf);
            Ok(ExitCode::SUCCESS)
        }
        LessonCmd::Check { ids, seeds, json } => check(&all, &ids, seeds, json),
        LessonCmd::Coverage { check } => coverage(&all, check),
    }
}

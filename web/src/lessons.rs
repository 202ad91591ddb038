//! The lesson catalogue as the page uses it: every `assets/lessons/*.toml`
//! embedded at compile time (see `web/build.rs`), parsed at first use and
//! grouped by article section; each lesson's scenario in both states; its
//! toggles for the anti-pattern panel (sim-core's `Toggle`, the same the CLI
//! applies); and the live status of its claims on the reports the page has
//! just simulated.
//!
//! Browser-free and unit-tested natively.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use sim_core::lesson::{self, judge, Claim, Compare, Lesson, State, Toggle};
use sim_core::{Report, Scenario, ScenarioError};

use crate::scenarios;

include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

/// The parsed catalogue. A file that does not parse is kept out of
/// `lessons` and listed in `errors` (the page shows the error instead of
/// failing; the tests require `errors` to be empty).
#[derive(Debug)]
pub struct Catalogue {
    /// Every lesson, in article order (see [`sections`]).
    pub lessons: Vec<Lesson>,
    /// (file name, error) of each embedded lesson that does not parse.
    pub errors: Vec<(String, String)>,
}

/// The catalogue, parsed on first use.
pub fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| {
        let mut lessons = Vec::new();
        let mut errors = Vec::new();
        for (file, text) in EMBEDDED_LESSONS {
            match Lesson::from_toml_str(text) {
                Ok(l) => lessons.push(l),
                Err(e) => errors.push((file.to_string(), e.to_string())),
            }
        }
        lessons.sort_by_key(|l| (section_rank(&l.section), row_rank(&l.id), l.id.clone()));
        Catalogue { lessons, errors }
    })
}

/// Every lesson, in article order.
pub fn all() -> &'static [Lesson] {
    &catalogue().lessons
}

/// The lesson with this id (`"DATA-N+1"`, `"case-study-checkout"`): a
/// shipped one, else one the user loaded ([`add_user`]).
pub fn find(id: &str) -> Option<&'static Lesson> {
    all()
        .iter()
        .find(|l| l.id == id)
        .or_else(|| user_lesson(id).map(|(l, _)| l))
}

// ----- lessons the user wrote -----------------------------------------------------------

/// The section user-written lessons are listed under.
pub const USER_SECTION: &str = "Your lessons";

/// At most this many user-written lessons per page (each is kept for the
/// page's life; a lesson opened again under the same id replaces nothing,
/// a new text under it is a new entry).
pub const MAX_USER_LESSONS: usize = 64;

thread_local! {
    /// (lesson, its TOML) of every lesson the user loaded, newest last.
    /// Leaked: the page hands out `&'static Lesson` as for shipped ones,
    /// and the list is capped.
    static USER: std::cell::RefCell<Vec<(&'static Lesson, &'static str)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn user_lesson(id: &str) -> Option<(&'static Lesson, &'static str)> {
    USER.with(|u| u.borrow().iter().rev().find(|(l, _)| l.id == id).copied())
}

/// The TOML of user-written lesson `id` (`None` for a shipped lesson):
/// what a link to it carries.
pub fn user_text(id: &str) -> Option<&'static str> {
    if all().iter().any(|l| l.id == id) {
        return None;
    }
    user_lesson(id).map(|(_, t)| t)
}

/// Forgets every user-written lesson (tests: the registry is per thread).
#[cfg(test)]
pub fn forget_user_lessons() {
    USER.with(|u| u.borrow_mut().clear());
}

/// Every user-written lesson, oldest first (one per id: the latest).
pub fn user_lessons() -> Vec<&'static Lesson> {
    USER.with(|u| {
        let u = u.borrow();
        let mut out: Vec<&'static Lesson> = Vec::new();
        for (l, _) in u.iter() {
            match out.iter_mut().find(|o| o.id == l.id) {
                Some(o) => *o = l,
                None => out.push(l),
            }
        }
        out
    })
}

/// Adds a lesson the user wrote (a file or a link), checked as the CLI's
/// `lessons check` reads it: it parses, names no shipped lesson's id, and
/// both its states build (its `scenario_file` must be a shipped scenario,
/// or the scenario inline). Errors name the field.
pub fn add_user(text: &str) -> Result<&'static Lesson, String> {
    let mut l = Lesson::from_toml_str(text).map_err(|e| e.to_string())?;
    if all().iter().any(|s| s.id == l.id) {
        return Err(format!(
            "id: {:?} is a shipped lesson; give yours an id of its own",
            l.id
        ));
    }
    if let Some((old, old_text)) = user_lesson(&l.id) {
        if old_text == text {
            return Ok(old);
        }
    }
    scenario(&l, State::Mistake).map_err(|e| format!("scenario: {e}"))?;
    if l.toggle.is_some() {
        scenario(&l, State::Fix).map_err(|e| format!("scenario (fix): {e}"))?;
    }
    if USER.with(|u| u.borrow().len()) >= MAX_USER_LESSONS {
        return Err(format!(
            "this page already holds {MAX_USER_LESSONS} lessons of yours; reload it to start afresh"
        ));
    }
    l.section = USER_SECTION.to_string();
    let l: &'static Lesson = Box::leak(Box::new(l));
    let t: &'static str = Box::leak(text.to_string().into_boxed_str());
    USER.with(|u| u.borrow_mut().push((l, t)));
    Ok(l)
}

// ----- sections ---------------------------------------------------------------------

/// One article section and its lessons.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The lessons' `section` string: `"Data layer (section 2)"`.
    pub key: String,
    /// The heading: `"2. Data layer"`, `"Theory"`, `"Resilience patterns"`.
    pub title: String,
    /// The article's section number, when it has one.
    pub number: Option<u32>,
    pub lessons: Vec<&'static Lesson>,
}

/// The article's section number in `"Data layer (section 2)"` or
/// `"Architecture and design (article section 1)"`.
fn section_number(section: &str) -> Option<u32> {
    let inner = section.rsplit_once('(')?.1.strip_suffix(')')?;
    inner.rsplit(' ').next()?.parse().ok()
}

/// Sort key of a section, in the article's reading order: the key concepts
/// (theory) first, then sections 1, 2, ..., then the mitigation section
/// (resilience patterns), then the case study, then anything else.
fn section_rank(section: &str) -> (u32, u32) {
    let s = section.to_ascii_lowercase();
    if let Some(n) = section_number(section) {
        (1, n)
    } else if s.starts_with("theory") || s.contains("key concepts") {
        (0, 0)
    } else if s.contains("mitigation") {
        (2, 0)
    } else if s.starts_with("case study") {
        (3, 0)
    } else {
        (4, 0)
    }
}

/// A lesson's row in the article's catalogue table (unknown ids last).
fn row_rank(id: &str) -> usize {
    lesson::CATALOGUE
        .iter()
        .position(|(row, _, _)| *row == id)
        .unwrap_or(usize::MAX)
}

/// `"Data layer (section 2)"` -> `"2. Data layer"`; `"Theory (key concepts
/// section)"` -> `"Theory"`; `"Case study"` stays.
fn section_title(section: &str) -> String {
    let name = section
        .split_once(" (")
        .map_or(section, |(name, _)| name)
        .trim();
    match section_number(section) {
        Some(n) => format!("{n}. {name}"),
        None => name.to_string(),
    }
}

/// The lessons grouped by article section, in article order.
pub fn sections() -> Vec<Section> {
    filter_sections("")
}

/// Does the lesson match every whitespace-separated word of `query`
/// (case-insensitive, in its id, title, section or question)?
pub fn matches(l: &Lesson, query: &str) -> bool {
    let hay = format!("{} {} {} {}", l.id, l.title, l.section, l.question).to_lowercase();
    query
        .split_whitespace()
        .all(|w| hay.contains(&w.to_lowercase()))
}

/// [`sections`] keeping only the lessons that match `query` (empty
/// sections dropped).
pub fn filter_sections(query: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let user = user_lessons();
    for l in all().iter().chain(user).filter(|l| matches(l, query)) {
        match out.last_mut() {
            Some(s) if s.key == l.section => s.lessons.push(l),
            _ => out.push(Section {
                key: l.section.clone(),
                title: section_title(&l.section),
                number: section_number(&l.section),
                lessons: vec![l],
            }),
        }
    }
    out
}

// ----- scenarios ----------------------------------------------------------------------

/// The text of the lesson's `scenario_file` among the embedded scenarios
/// (`None` for an inline scenario, or a file that is not shipped).
pub fn file_text(l: &Lesson) -> Option<&'static str> {
    scenarios::find(l.scenario_file.as_deref()?).map(|e| e.text)
}

fn missing_file(l: &Lesson) -> Option<ScenarioError> {
    let f = l.scenario_file.as_deref()?;
    scenarios::find(f).is_none().then(|| {
        ScenarioError::new(
            "scenario_file",
            format!("{f:?} is not among the shipped scenarios"),
        )
    })
}

/// The lesson's scenario in one state (with the lesson's run length).
pub fn scenario(l: &Lesson, state: State) -> Result<Scenario, ScenarioError> {
    if let Some(e) = missing_file(l) {
        return Err(e);
    }
    l.scenario(state, file_text(l))
}

/// The lesson's scenario in one state, as TOML the sandbox can load.
pub fn scenario_text(l: &Lesson, state: State) -> Result<String, ScenarioError> {
    scenario(l, state).map(|sc| sc.to_toml())
}

// ----- toggles ------------------------------------------------------------------------

/// One switch of the anti-pattern panel: a lesson's [`Toggle`] (sim-core's
/// one toggle type, applied with its own `apply`) and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonToggle {
    /// `"DATA-N+1"` (the lesson id), or `"case-study-checkout/bulk_coupon_call"`
    /// for one variant of a lesson with variants.
    pub id: String,
    /// The lesson's article section.
    pub section: String,
    /// The lesson it comes from.
    pub lesson: String,
    pub toggle: Toggle,
}

impl LessonToggle {
    /// What the switch turns on, e.g. "One query per order item (N+1)".
    pub fn label(&self) -> &str {
        &self.toggle.label
    }
}

/// The lesson's toggles for the anti-pattern panel (see [`Lesson::toggles`]).
pub fn toggles(l: &Lesson) -> Vec<LessonToggle> {
    l.toggles()
        .into_iter()
        .map(|(id, toggle)| LessonToggle {
            id,
            section: l.section.clone(),
            lesson: l.id.clone(),
            toggle,
        })
        .collect()
}

/// The toggles of every lesson whose `scenario_file` is `scenario_id`
/// (an embedded scenario id such as `"catalogue/DATA-N+1.toml"`).
pub fn toggles_for_scenario(scenario_id: &str) -> Vec<LessonToggle> {
    all()
        .iter()
        .filter(|l| l.scenario_file.as_deref() == Some(scenario_id))
        .flat_map(toggles)
        .collect()
}

// ----- live claims and the prediction --------------------------------------------------

/// A claim judged on the page's own runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimLive {
    pub text: String,
    /// `None`: not judged yet (too few requests, a variant run is missing,
    /// or the metric cannot be read from these reports; `detail` says which).
    pub holds: Option<bool>,
    /// "measured 4.21 (needs >= 3)", or why it is pending.
    pub detail: String,
}

/// A report needs at least this many finished requests (completed, failed
/// or rejected, end to end) before a claim is judged on it: p99 is then
/// the 2nd-largest of 200 latencies, so it rests on more than a single
/// request, and ratios of means are no longer dominated by the first few
/// requests of the run.
pub const MIN_REQUESTS: u64 = 200;

fn finished(r: &Report) -> u64 {
    let e = &r.end_to_end;
    e.completed + e.failed + e.rejected
}

/// Three significant digits, without an exponent for everyday values.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{x:.2e}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn judge_one(c: &Claim, mistake: &Report, fix: &Report) -> ClaimLive {
    let pending = |detail: String| ClaimLive {
        text: c.text.clone(),
        holds: None,
        detail,
    };
    let needs: &[(&str, &Report)] = match c.compare {
        Compare::Ratio | Compare::Difference => &[("mistake", mistake), ("fix", fix)],
        Compare::Mistake => &[("mistake", mistake)],
        Compare::Fix => &[("fix", fix)],
        Compare::Theory if c.state == Some(State::Mistake) => &[("mistake", mistake)],
        Compare::Theory => &[("fix", fix)],
    };
    for (name, r) in needs {
        let n = finished(r);
        if n < MIN_REQUESTS {
            return pending(format!(
                "waiting for requests: {n} of {MIN_REQUESTS} finished in the {name} run"
            ));
        }
    }
    let r = judge(c, std::slice::from_ref(mistake), std::slice::from_ref(fix));
    if let Some(e) = r.error {
        return pending(format!("cannot measure yet: {e}"));
    }
    ClaimLive {
        text: c.text.clone(),
        holds: Some(r.pass),
        detail: format!("measured {} (needs {})", fmt_num(r.measured), r.expected),
    }
}

/// The lesson's claims judged on one mistake report and one fix report
/// (each claim with `judge`, on these two runs only). Claims about one
/// variant (the case study's "X alone") stay pending: see
/// [`live_claims_with_variants`].
pub fn live_claims(l: &Lesson, mistake: &Report, fix: &Report) -> Vec<ClaimLive> {
    live_claims_with_variants(l, mistake, fix, &BTreeMap::new())
}

/// [`live_claims`], judging each variant claim against `variants[name]`
/// (a run of the mistake state with only that variant's fix) when given.
pub fn live_claims_with_variants(
    l: &Lesson,
    mistake: &Report,
    fix: &Report,
    variants: &BTreeMap<String, Report>,
) -> Vec<ClaimLive> {
    l.claims
        .iter()
        .map(|c| match &c.variant {
            None => judge_one(c, mistake, fix),
            Some(v) => match variants.get(v) {
                Some(vr) => judge_one(c, mistake, vr),
                None => ClaimLive {
                    text: c.text.clone(),
                    holds: None,
                    detail: format!(
                        "needs a run with only the \"{}\" fix applied",
                        l.variant_label(v)
                    ),
                },
            },
        })
        .collect()
}

/// The state whose report answers the lesson's question.
pub fn predicted_state(l: &Lesson) -> Option<State> {
    l.predict.as_ref().map(|p| p.state)
}

/// The answer to the lesson's question: its prediction metric on `report`,
/// which must be a run of [`predicted_state`]. `None` if the lesson asks
/// for no prediction or the metric has no finite value on this report.
pub fn answer(l: &Lesson, report: &Report) -> Option<f64> {
    let p = l.predict.as_ref()?;
    lesson::eval_metric(&p.metric, report)
        .ok()
        .filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{ScenarioDoc, Sim};
    use std::collections::BTreeSet;

    #[test]
    fn every_embedded_lesson_parses_and_is_listed_once() {
        let cat = catalogue();
        assert!(cat.errors.is_empty(), "{:?}", cat.errors);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/lessons");
        let on_disk = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "toml")
            })
            .count();
        assert_eq!(all().len(), on_disk, "rebuild: the table is stale");
        // the 48 catalogue rows and the case study
        for (id, _, _) in lesson::CATALOGUE {
            assert!(find(id).is_some(), "no lesson {id}");
        }
        assert!(find("case-study-checkout").is_some());
        let in_sections: usize = sections().iter().map(|s| s.lessons.len()).sum();
        assert_eq!(in_sections, all().len());
        let keys: BTreeSet<_> = sections().iter().map(|s| s.key.clone()).collect();
        assert_eq!(keys.len(), sections().len(), "a section is split in two");
    }

    #[test]
    fn sections_follow_the_article() {
        let s = sections();
        let titles: Vec<&str> = s.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles.first(), Some(&"Theory"), "{titles:?}");
        // the article's sections end with the case study; the lessons an
        // instructor adds beyond the article come after, in their own section
        assert_eq!(titles[12], "Case study", "{titles:?}");
        assert_eq!(titles.last(), Some(&"Beyond the article"), "{titles:?}");
        assert_eq!(titles[1], "1. Architecture and design");
        assert_eq!(titles[2], "2. Data layer");
        assert_eq!(titles[10], "10. Event-driven systems");
        assert_eq!(titles[11], "Resilience patterns");
        let numbers: Vec<u32> = s.iter().filter_map(|s| s.number).collect();
        assert_eq!(numbers, (1..=10).collect::<Vec<_>>());
        // within a section, the catalogue table's row order
        let data: Vec<&str> = s[2].lessons.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(data[0], "DATA-N+1");
        assert_eq!(data[1], "DATA-NO-INDEX");
    }

    #[test]
    fn filter_matches_every_word_in_any_field() {
        let ids = |q: &str| -> Vec<String> {
            filter_sections(q)
                .iter()
                .flat_map(|s| s.lessons.iter().map(|l| l.id.clone()))
                .collect()
        };
        assert_eq!(ids("n+1 queries"), vec!["DATA-N+1".to_string()]);
        assert!(ids("STAMPEDE").contains(&"CACHE-STAMPEDE".to_string()));
        // section text matches too: every caching lesson
        assert_eq!(ids("caching (section 3)").len(), 6);
        assert!(ids("no such words anywhere zzz").is_empty());
        assert_eq!(ids("  ").len(), all().len());
    }

    #[test]
    fn scenario_text_round_trips_in_both_states() {
        for l in all() {
            for st in [State::Mistake, State::Fix] {
                let sc = scenario(l, st).unwrap_or_else(|e| panic!("{} {st:?}: {e}", l.id));
                let text = scenario_text(l, st).unwrap();
                let back = Scenario::from_toml_str(&text)
                    .unwrap_or_else(|e| panic!("{} {st:?}: {e}\n{text}", l.id));
                assert_eq!(back, sc, "{} {st:?}", l.id);
            }
        }
    }

    /// The page's toggles put a document in exactly the states the CLI
    /// (`tailsim lessons check`, through `Lesson::scenario`) runs: from the
    /// mistake the panel's switch gives the fix (or the variant), and back,
    /// from either side, with the same `Toggle::apply`.
    #[test]
    fn toggles_apply_identically_for_the_page_and_the_cli() {
        let mut count = 0;
        for l in all() {
            let ts = toggles(l);
            assert_eq!(ts.is_empty(), l.toggle.is_none(), "{}", l.id);
            let with_duration = |mut d: ScenarioDoc| {
                if let Some(s) = l.duration_s {
                    d.set_value("duration_s", s.into()).unwrap();
                }
                d.build()
                    .unwrap_or_else(|e| panic!("{}: does not build: {e}", l.id))
            };
            let file = file_text(l);
            for t in &ts {
                count += 1;
                assert!(!t.label().is_empty(), "{}", t.id);
                t.toggle.check().unwrap_or_else(|e| panic!("{}: {e}", t.id));
                let (want_mistake, want_fix) = match t.id.split_once('/') {
                    Some((_, v)) => (
                        l.scenario(State::Mistake, file).unwrap(),
                        l.scenario_variant(v, file).unwrap(),
                    ),
                    None => (
                        scenario(l, State::Mistake).unwrap(),
                        scenario(l, State::Fix).unwrap(),
                    ),
                };
                // from the mistake state: fix, then back
                let mut doc = l.state_doc(State::Mistake, None, file).unwrap();
                t.toggle.apply(&mut doc, State::Fix).unwrap();
                assert_eq!(t.toggle.state_of(&doc), Some(State::Fix), "{}", t.id);
                assert_eq!(with_duration(doc.clone()), want_fix, "{}: fix", t.id);
                t.toggle.apply(&mut doc, State::Mistake).unwrap();
                assert_eq!(t.toggle.state_of(&doc), Some(State::Mistake), "{}", t.id);
                assert_eq!(with_duration(doc), want_mistake, "{}: mistake", t.id);
            }
        }
        assert!(count >= 50, "{count} toggles");
    }

    #[test]
    fn case_study_has_one_toggle_per_fix_and_all_of_them_are_the_full_fix() {
        let l = find("case-study-checkout").unwrap();
        let ts = toggles(l);
        assert_eq!(ts.len(), l.variants.len());
        let join = ts
            .iter()
            .find(|t| t.id == "case-study-checkout/join_instead_of_n_plus_1")
            .unwrap();
        assert_eq!(join.label(), "JOIN");
        assert_eq!(join.section, "Case study");
        // the mistake's N+1, and no `rows` field: absent, so the mistake
        // state removes it
        let rows = "nodes.checkout.steps[2].query.rows";
        assert_eq!(
            join.toggle
                .value(State::Mistake, "nodes.checkout.steps[2].query.count"),
            Some(&serde_json::json!({ "dist": "items" }))
        );
        assert_eq!(join.toggle.value(State::Mistake, rows), None);
        assert!(join.toggle.value(State::Fix, rows).is_some());
        assert!(join
            .toggle
            .edits(State::Mistake)
            .contains(&sim_core::Edit::remove(rows)));
        let mut doc = l.state_doc(State::Mistake, None, file_text(l)).unwrap();
        for t in &ts {
            t.toggle.apply(&mut doc, State::Fix).unwrap();
        }
        if let Some(s) = l.duration_s {
            doc.set_value("duration_s", s.into()).unwrap();
        }
        assert_eq!(doc.build().unwrap(), scenario(l, State::Fix).unwrap());
        assert_eq!(toggles_for_scenario("case-study-checkout.toml"), ts);
    }

    #[test]
    fn toggles_for_scenario_finds_the_lessons_of_a_file() {
        let ts = toggles_for_scenario("catalogue/DATA-N+1.toml");
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].id, "DATA-N+1");
        assert_eq!(ts[0].label(), "One query per order item (N+1)");
        assert_eq!(ts[0].section, "Data layer (section 2)");
        assert!(toggles_for_scenario("mmc.toml").is_empty());
        assert_eq!(toggles_for_scenario("catalogue/OPS-NO-IAC.toml").len(), 1);
    }

    fn run(sc: &Scenario, seed: u64, secs: f64) -> Report {
        Sim::new(sc, seed).unwrap().run_for(secs).unwrap()
    }

    #[test]
    fn live_claims_judge_the_two_runs_and_wait_for_enough_requests() {
        let l = find("THEORY-KNEE").unwrap();
        let m = scenario(l, State::Mistake).unwrap();
        let f = scenario(l, State::Fix).unwrap();
        // 1 s at 28-38 req/s: about 30 requests, below MIN_REQUESTS
        let early = live_claims(l, &run(&m, 1, 1.0), &run(&f, 1, 1.0));
        assert_eq!(early.len(), l.claims.len());
        for c in &early {
            assert_eq!(c.holds, None, "{c:?}");
            assert!(c.detail.contains("waiting for requests"), "{c:?}");
        }
        // full runs: M/M/4 at 95% vs 70% load. Seed 1 gives a p99 ratio of
        // 2.29 (needs >= 2; runs are deterministic). One run is noisier than
        // the 5 seeds `lessons check` averages: the 95%-load Erlang C claim
        // measures 0.24 s against 0.45 +- 0.16 on this seed alone, so it
        // is judged (not pending) and does not hold on this seed.
        let (mr, fr) = (run(&m, 1, m.duration_s), run(&f, 1, f.duration_s));
        let live = live_claims(l, &mr, &fr);
        assert_eq!(live[0].holds, Some(true), "{:?}", live[0]);
        assert!(live[0].detail.starts_with("measured "), "{:?}", live[0]);
        assert!(live[0].detail.contains(">= 2"), "{:?}", live[0]);
        assert_eq!(live[1].holds, Some(true), "{:?}", live[1]);
        assert!(live[2].holds.is_some(), "{:?}", live[2]);
        // swapped states: the ratio falls below 1 and the claim fails
        let swapped = live_claims(l, &fr, &mr);
        assert_eq!(swapped[0].holds, Some(false), "{:?}", swapped[0]);
        // the answer is the p99 of the predicted (mistake) run
        assert_eq!(predicted_state(l), Some(State::Mistake));
        assert_eq!(answer(l, &mr), Some(mr.end_to_end.latency_s.p99));
    }

    #[test]
    fn variant_claims_wait_for_their_variant_run() {
        let l = find("case-study-checkout").unwrap();
        let m = scenario(l, State::Mistake).unwrap();
        let r = run(&m, 1, 30.0);
        let live = live_claims(l, &r, &r);
        for (c, lc) in l.claims.iter().zip(&live) {
            if c.variant.is_some() {
                assert_eq!(lc.holds, None);
                assert!(lc.detail.contains("only the"), "{lc:?}");
            }
        }
        let v = l
            .scenario_variant("bulk_coupon_call", file_text(l))
            .unwrap();
        let vr = run(&v, 1, 30.0);
        let mut variants = BTreeMap::new();
        variants.insert("bulk_coupon_call".to_string(), vr);
        let live = live_claims_with_variants(l, &r, &r, &variants);
        let i = l
            .claims
            .iter()
            .position(|c| c.variant.as_deref() == Some("bulk_coupon_call"))
            .unwrap();
        assert!(live[i].holds.is_some(), "{:?}", live[i]);
    }

    #[test]
    fn numbers_are_formatted_to_three_significant_digits() {
        assert_eq!(fmt_num(4.2137), "4.21");
        assert_eq!(fmt_num(0.45), "0.45");
        assert_eq!(fmt_num(123.4), "123");
        assert_eq!(fmt_num(2.0), "2");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(-0.25), "-0.25");
        assert_eq!(fmt_num(1.5e-5), "1.50e-5");
    }
}

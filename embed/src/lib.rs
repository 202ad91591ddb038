//! The light embed's engine: what `<tailsim-embed>` (`tailsim-embed.js`,
//! beside this crate) runs in a blog post. One [`EmbedRun`] is one
//! simulation of a scenario, or of a lesson in one state; the element
//! advances it a slice per animation frame (at a watchable pace, so the
//! work per frame is small and stays on the page's thread), draws
//! [`EmbedRun::chart_json`], and reads the lesson's predicted metric at the
//! end ([`EmbedRun::metric`]).
//!
//! Why a crate of its own: the page's wasm carries Yew, the editor, the
//! classroom and the dashboard; an embed needs the engine, one chart's
//! series and a lesson's question. Built for size (`release-embed`), it is
//! what a reader downloads for an embed (see `cargo xtask bench`).
//!
//! Everything here is plain Rust (tested natively); the `#[wasm_bindgen]`
//! wrappers only turn `String` errors into JavaScript ones.

use serde::Serialize;
use sim_core::lesson::{Lesson, State};
use sim_core::{pooled, Scenario, Sim, Window};
use wasm_bindgen::prelude::*;

/// The most windows the chart keeps (the engine keeps its own bounded
/// history; this is what the chart draws).
const CHART_WINDOWS: usize = 240;

/// Requests in flight at most before a run stops with an error naming
/// the backlog (every shipped lesson and scenario stays far below).
const MAX_IN_FLIGHT: u64 = 250_000;

/// A lesson's face in the embed: what to show before the run.
#[derive(Serialize)]
pub struct LessonFace {
    pub id: String,
    pub title: String,
    pub question: String,
    /// The narrative's first paragraph (the embed has room for little).
    pub lead: String,
    /// The scenario file it needs, relative to `assets/scenarios/`.
    pub scenario_file: Option<String>,
    /// What the reader guesses: the metric, its state and unit.
    pub predict: Option<PredictFace>,
    /// The toggle's label (the mistake), if the lesson has one.
    pub toggle: Option<String>,
}

#[derive(Serialize)]
pub struct PredictFace {
    pub metric: String,
    pub state: State,
    pub unit: String,
}

/// Reads a lesson file: its face, or the error naming the field.
pub fn lesson_face(lesson_toml: &str) -> Result<LessonFace, String> {
    let l = Lesson::from_toml_str(lesson_toml).map_err(|e| format!("lesson: {e}"))?;
    let lead = l.narrative.trim().split("\n\n").next().unwrap_or("").trim();
    Ok(LessonFace {
        id: l.id.clone(),
        title: l.title.clone(),
        question: l.question.clone(),
        lead: lead.to_string(),
        scenario_file: l.scenario_file.clone(),
        predict: l.predict.as_ref().map(|p| PredictFace {
            metric: p.metric.clone(),
            state: p.state,
            unit: p.unit.clone(),
        }),
        toggle: l.toggle.as_ref().map(|t| t.label.clone()),
    })
}

/// One simulation the embed shows.
pub struct Run {
    sim: Sim,
    title: String,
    duration_s: f64,
    slo_s: Option<f64>,
}

/// The series one chart draws: per window, its end time and honest
/// percentiles (`null` where the window, pooled with up to 30 before it,
/// holds too few answers), and the most windows one point pooled.
#[derive(Serialize, Debug, PartialEq)]
pub struct Chart {
    pub t: Vec<f64>,
    pub p50: Vec<Option<f64>>,
    pub p95: Vec<Option<f64>>,
    pub p99: Vec<Option<f64>>,
    /// Requests answered per second in each window.
    pub rps: Vec<f64>,
    pub pooled: usize,
    /// The windows' width, seconds.
    pub window_s: f64,
    pub slo_s: Option<f64>,
}

impl Run {
    /// A scenario (TOML or JSON) as written, with `seed` if given.
    pub fn scenario(text: &str, seed: Option<u64>) -> Result<Run, String> {
        let sc = Scenario::from_str_any(text).map_err(|e| format!("scenario: {e}"))?;
        Run::of(sc, seed)
    }

    /// A lesson in one state (`"mistake"` or `"fix"`); `file_text` is its
    /// scenario file's text when it names one.
    pub fn lesson(
        lesson_toml: &str,
        file_text: Option<&str>,
        state: &str,
        seed: Option<u64>,
    ) -> Result<Run, String> {
        let l = Lesson::from_toml_str(lesson_toml).map_err(|e| format!("lesson: {e}"))?;
        let state = match state {
            "mistake" => State::Mistake,
            "fix" => State::Fix,
            other => {
                return Err(format!(
                    "state: {other:?} is neither \"mistake\" nor \"fix\""
                ))
            }
        };
        let sc = l
            .scenario(state, file_text)
            .map_err(|e| format!("lesson {}: {e}", l.id))?;
        let mut run = Run::of(sc, seed)?;
        run.title = l.title;
        Ok(run)
    }

    fn of(sc: Scenario, seed: Option<u64>) -> Result<Run, String> {
        let seed = seed.unwrap_or(sc.seed);
        let mut sim = Sim::new(&sc, seed).map_err(|e| format!("scenario: {e}"))?;
        // A blog's page, not a research machine: an overloaded scenario
        // stops (and says why) long before it holds the engine's default.
        sim.set_max_in_flight(MAX_IN_FLIGHT);
        Ok(Run {
            sim,
            title: sc.name.clone(),
            duration_s: sc.duration_s,
            slo_s: sc.slo.as_ref().map(|s| s.latency_s),
        })
    }

    /// Runs up to simulated second `until_s` (never past the scenario's
    /// end), doing at most `max_work` units of work; true once the run has
    /// reached its end.
    pub fn advance(&mut self, until_s: f64, max_work: u64) -> Result<bool, String> {
        let goal = sim_core::secs_to_ns(until_s.min(self.duration_s));
        self.sim
            .run_until_bounded(goal, max_work)
            .map_err(|e| format!("the run stopped: {e}"))?;
        Ok(self.done())
    }

    pub fn done(&self) -> bool {
        self.sim.now_s() >= self.duration_s
    }

    pub fn now_s(&self) -> f64 {
        self.sim.now_s()
    }

    pub fn duration_s(&self) -> f64 {
        self.duration_s
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// The chart's series over the windows closed so far.
    pub fn chart(&self) -> Chart {
        let all = self.sim.windows();
        let from = all.len().saturating_sub(CHART_WINDOWS);
        let (p50, _) = pooled::honest_quantiles(&all, from, 0.5);
        let (p95, w95) = pooled::honest_quantiles(&all, from, 0.95);
        let (p99, w99) = pooled::honest_quantiles(&all, from, 0.99);
        let shown = &all[from..];
        Chart {
            t: shown.iter().map(|w: &Window| w.t_end_s).collect(),
            rps: shown.iter().map(|w| w.throughput_rps).collect(),
            p50,
            p95,
            p99,
            pooled: w95.max(w99),
            window_s: all.last().map_or(1.0, |w| w.t_end_s - w.t_start_s),
            slo_s: self.slo_s,
        }
    }

    /// A lesson metric (`end_to_end.latency_s.p99 * 1000`) on the report so far.
    pub fn metric(&self, expr: &str) -> Result<f64, String> {
        sim_core::lesson::eval_metric(expr, &self.sim.report()).map_err(|e| format!("metric: {e}"))
    }
}

// ------------------------------------------------------------------ JavaScript

fn js(e: String) -> JsError {
    JsError::new(&e)
}

/// A lesson's face as JSON (see [`LessonFace`]).
#[wasm_bindgen(js_name = lessonFace)]
pub fn lesson_face_js(lesson_toml: &str) -> Result<String, JsError> {
    let face = lesson_face(lesson_toml).map_err(js)?;
    serde_json::to_string(&face).map_err(|e| js(e.to_string()))
}

/// [`Run`] for JavaScript.
#[wasm_bindgen(js_name = Run)]
pub struct EmbedRun(Run);

#[wasm_bindgen(js_class = Run)]
impl EmbedRun {
    /// A scenario; `seed` < 0 keeps the scenario's own.
    pub fn scenario(text: &str, seed: f64) -> Result<EmbedRun, JsError> {
        Run::scenario(text, seed_of(seed)).map(EmbedRun).map_err(js)
    }

    /// A lesson in one state; `file_text` empty when it names no file.
    pub fn lesson(
        lesson_toml: &str,
        file_text: &str,
        state: &str,
        seed: f64,
    ) -> Result<EmbedRun, JsError> {
        let file = (!file_text.is_empty()).then_some(file_text);
        Run::lesson(lesson_toml, file, state, seed_of(seed))
            .map(EmbedRun)
            .map_err(js)
    }

    pub fn advance(&mut self, until_s: f64, max_work: f64) -> Result<bool, JsError> {
        self.0
            .advance(until_s, max_work.max(1.0) as u64)
            .map_err(js)
    }

    #[wasm_bindgen(js_name = nowS)]
    pub fn now_s(&self) -> f64 {
        self.0.now_s()
    }

    #[wasm_bindgen(js_name = durationS)]
    pub fn duration_s(&self) -> f64 {
        self.0.duration_s()
    }

    pub fn title(&self) -> String {
        self.0.title().to_string()
    }

    /// [`Run::chart`] as JSON.
    #[wasm_bindgen(js_name = chartJson)]
    pub fn chart_json(&self) -> String {
        serde_json::to_string(&self.0.chart()).unwrap_or_else(|_| "{}".into())
    }

    pub fn metric(&self, expr: &str) -> Result<f64, JsError> {
        self.0.metric(expr).map_err(js)
    }
}

fn seed_of(seed: f64) -> Option<u64> {
    (seed >= 0.0 && seed.is_finite()).then_some(seed as u64)
}

#[cfg(test)]
mod tests;

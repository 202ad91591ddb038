//! TEMPORARY stub (replaced by the teach branch's lessons.rs at merge).
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct ToggleDef {
    pub id: String,
    pub label: String,
    pub section: String,
    pub mistake: Vec<(String, Value)>,
    pub fix: Vec<(String, Value)>,
}

pub fn toggles_for_scenario(_scenario_id: &str) -> Vec<ToggleDef> {
    Vec::new()
}

pub use sim_core::lesson::Lesson;
use sim_core::Report;

#[derive(Clone, Debug, PartialEq)]
pub struct ClaimLive {
    pub text: String,
    pub holds: Option<bool>,
    pub detail: String,
}

pub fn find(_id: &str) -> Option<&'static Lesson> {
    None
}

pub fn live_claims(_l: &Lesson, _mistake: &Report, _fix: &Report) -> Vec<ClaimLive> {
    Vec::new()
}

pub fn answer(_l: &Lesson, _r: &Report) -> Option<f64> {
    None
}

pub fn state_texts(_l: &Lesson) -> Result<(String, Option<String>), String> {
    Err("stub".into())
}

pub fn duration_s(l: &Lesson) -> f64 {
    l.duration_s.unwrap_or(300.0)
}

pub fn predicted_state_is_fix(l: &Lesson) -> bool {
    l.predict
        .as_ref()
        .is_some_and(|p| p.state == sim_core::lesson::State::Fix)
}

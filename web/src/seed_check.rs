//! Checking a lesson over its seeds from the page, the way `tailsim lessons
//! check` does at the lesson as written: every state on seeds 1..=n, each
//! part of a combined fix alone and left out, every claim judged seed by
//! seed, and the ablation table (which part does the work).
//!
//! The host side ([`SeedCheckRun`]) runs one seeded run per step, so the
//! engine host keeps answering between runs; the plan, the runs and the
//! judging are `sim_core::lesson::Plan`'s, the same code the CLI and the
//! test suite use. The page side ([`SeedCheckPanel`]) shows the result.
//!
//! Test ids: `seed-check-start`, `seed-check-progress`, `seed-check-claims`
//! with `seed-claim-<i>` (`data-status`), `seed-check-ablation` with
//! `ablation-<part>` rows and their `alone-share` cells.

use sim_core::lesson::{Checked, ClaimResult, Job, Lesson, Outcome, Plan};
use yew::prelude::*;

use crate::lessons::{self, fmt_num};
use crate::teach::status_of;

/// A check in progress in the engine host.
#[derive(Debug)]
pub struct SeedCheckRun {
    pub id: String,
    plan: Plan,
    jobs: Vec<Job>,
    outcomes: Vec<Outcome>,
}

impl SeedCheckRun {
    /// Plans the check of lesson `id` over its seeds.
    pub fn start(id: &str) -> Result<SeedCheckRun, String> {
        let l = lessons::find(id).ok_or_else(|| format!("no lesson called {id:?}"))?;
        let plan =
            Plan::as_written(l, lessons::file_text(l), l.seeds).map_err(|e| e.to_string())?;
        let jobs = plan.jobs();
        Ok(SeedCheckRun {
            id: id.to_string(),
            plan,
            outcomes: Vec::with_capacity(jobs.len()),
            jobs,
        })
    }

    /// Runs done, and runs in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.outcomes.len(), self.jobs.len())
    }

    /// Runs the next run; when it was the last, the judged result.
    pub fn step(&mut self) -> Option<Checked> {
        if let Some(&job) = self.jobs.get(self.outcomes.len()) {
            self.outcomes.push(self.plan.run(job));
        }
        (self.outcomes.len() == self.jobs.len()).then(|| self.plan.judge(&self.outcomes))
    }
}

/// Where the page is with a lesson's check.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum SeedCheckView {
    #[default]
    Idle,
    Running {
        done: usize,
        total: usize,
    },
    Done(std::rc::Rc<Checked>),
}

#[derive(Properties, PartialEq)]
pub struct SeedCheckPanelProps {
    pub lesson: &'static Lesson,
    pub view: SeedCheckView,
    pub on_check: Callback<()>,
}

/// "Check on 10 seeds": the button, its progress, then every claim's
/// verdict seed by seed and, for a fix in parts, the ablation table.
#[function_component(SeedCheckPanel)]
pub fn seed_check_panel(props: &SeedCheckPanelProps) -> Html {
    let l = props.lesson;
    let parts = if l.variants.is_empty() {
        ""
    } else {
        ", each part of the fix alone and left out,"
    };
    let body = match &props.view {
        SeedCheckView::Idle => html! {
            <>
                <p>{ format!(
                    "One run can be lucky. Run every state{parts} on seeds 1 to {} and judge each claim \
                     seed by seed, as `tailsim lessons check` does.", l.seeds) }</p>
                <button type="button" class="btn" data-testid="seed-check-start"
                    onclick={props.on_check.reform(|_: MouseEvent| ())}>
                    { format!("Check on {} seeds", l.seeds) }
                </button>
            </>
        },
        SeedCheckView::Running { done, total } => html! {
            <p>
                <label for="seed-check-progress">{ format!("Run {done} of {total}") }</label>{ " " }
                <progress id="seed-check-progress" data-testid="seed-check-progress"
                    max={total.to_string()} value={done.to_string()} />
            </p>
        },
        SeedCheckView::Done(c) => html! {
            <>
                <ol data-testid="seed-check-claims">
                    { for c.claims().iter().enumerate().map(|(i, r)| claim_row(i, r)) }
                </ol>
                { ablation_table(l, c) }
            </>
        },
    };
    html! {
        <section class="teach-claims seed-check" aria-labelledby="seed-check-title" aria-live="polite">
            <h3 id="seed-check-title">{ format!("Over {} seeds", l.seeds) }</h3>
            { body }
        </section>
    }
}

fn claim_row(i: usize, r: &ClaimResult) -> Html {
    let (status, icon, words) = status_of(Some(r.pass));
    let seeds = r.per_seed.len();
    let detail = match (&r.error, r.worst) {
        (Some(e), _) => e.clone(),
        (None, Some(w)) => format!(
            "mean over {seeds} seeds: {} (claim: {}); holds on {} of {seeds} seeds; worst seed {}: {}",
            fmt_num(r.measured),
            r.expected,
            r.held,
            w.seed,
            fmt_num(w.value)
        ),
        (None, None) => format!("mean over {seeds} seeds: {} (claim: {})", fmt_num(r.measured), r.expected),
    };
    html! {
        <li class={classes!("teach-claim", status)} data-testid={format!("seed-claim-{i}")} data-status={status}>
            <span class="teach-icon" aria-hidden="true">{ icon }</span>
            <span class="teach-status">{ words }{ ": " }</span>
            <span class="teach-claim-text">{ &r.text }</span>
            <small class="teach-detail">{ detail }</small>
        </li>
    }
}

/// Each part's share of the full fix's gain, alone and left out.
fn ablation_table(l: &Lesson, c: &Checked) -> Html {
    let Some(a) = &c.ablation else {
        return html! {};
    };
    let share = |x: f64| {
        if x.is_finite() {
            format!("{:.0}%", 100.0 * x)
        } else {
            "\u{2014}".to_string()
        }
    };
    html! {
        <table class="seed-check-ablation" data-testid="seed-check-ablation">
            <caption>{ format!(
                "Which part does the work: {} (mean over {} seeds) is {} with the mistake and {} with the full fix",
                a.metric, c.seeds, fmt_num(a.mistake), fmt_num(a.fix)) }</caption>
            <thead>
                <tr>
                    <th scope="col">{ "Part" }</th>
                    <th scope="col">{ "Alone" }</th>
                    <th scope="col">{ "Share of the gain" }</th>
                    <th scope="col">{ "All but it" }</th>
                    <th scope="col">{ "Share kept" }</th>
                </tr>
            </thead>
            <tbody>
                { for a.parts.iter().map(|p| html! {
                    <tr data-testid={format!("ablation-{}", p.part)}>
                        <th scope="row">{ l.variant_label(&p.part) }</th>
                        <td>{ fmt_num(p.alone) }</td>
                        <td data-testid="alone-share">{ share(p.alone_share) }</td>
                        <td>{ fmt_num(p.without) }</td>
                        <td>{ share(p.without_share) }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's check runs the CLI's plan at the lesson as written: for
    /// a lesson with a fix in parts, every claim judged on every seed and
    /// the ablation table, found by stepping one run at a time.
    #[test]
    fn a_check_steps_one_run_at_a_time_to_the_clis_verdict() {
        let id = "PLUS-DEADLINES";
        let mut run = SeedCheckRun::start(id).unwrap();
        let (done, total) = run.progress();
        // mistake, fix, and 2 parts alone and left out, on 10 seeds
        assert_eq!((done, total), (0, 60));
        let mut result = None;
        for i in 1..=total {
            result = run.step();
            assert_eq!(run.progress().0, i);
            assert_eq!(result.is_some(), i == total);
        }
        let c = result.unwrap();
        assert!(c.pass(), "{:?}", c.failures());
        let a = c.ablation.as_ref().expect("a fix in parts");
        let lifo = a.parts.iter().find(|p| p.part == "lifo").unwrap();
        // LIFO alone keeps the overload's goodput (the lesson's claim).
        assert!(lifo.alone_share > 0.9, "{a:?}");
        assert!(SeedCheckRun::start("NOPE").unwrap_err().contains("NOPE"));
    }
}

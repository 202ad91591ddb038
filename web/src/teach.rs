//! The teaching components: [`LessonBrowser`] (every lesson by article
//! section, filterable, keyboard operable) and [`LessonPanel`] (narrative,
//! question, the student's guess against the simulated answer, and the
//! article's claims with their live status).
//!
//! The components hold only UI-local state (the filter text, the guess
//! being typed); the page owns the lesson, the phase and the runs, and
//! hears back through callbacks. The pure parts ([`parse_guess`],
//! [`compare_guess`], [`status_of`]) are tested natively; the components
//! in a browser (`web/tests/teach.rs`).
//!
//! Test ids: `lesson-filter`, `lesson-<ID>`, `lesson-panel`, `lesson-close`,
//! `predict-input`, `predict-submit`, `predict-error`, `predict-skip`,
//! `predict-progress`, `predict-reveal`, `predict-result`, `predict-guess`,
//! `predict-answer`, `predict-error-rel`, `predict-verdict` (with
//! `data-verdict`),
//! `claim-<i>` (with `data-status="holds|fails|pending"`).

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement, KeyboardEvent};
use yew::prelude::*;

use crate::lessons::{self, fmt_num, ClaimLive};
use crate::seed_check::{SeedCheckPanel, SeedCheckView};

// ----- pure helpers -----------------------------------------------------------------

/// Reads the student's guess: a finite number, optionally followed by the
/// unit (`"120 ms"`, `"35%"`); a lone decimal comma is read as a point
/// (`"0,5"`). The error says what to type.
pub fn parse_guess(text: &str, unit: &str) -> Result<f64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("Type a number first.".into());
    }
    let mut body = t;
    if !unit.is_empty() {
        body = body.strip_suffix(unit).unwrap_or(body).trim_end();
    }
    body = body.strip_suffix('%').unwrap_or(body).trim_end();
    let normalised = if !body.contains('.') && body.matches(',').count() == 1 {
        body.replace(',', ".")
    } else {
        body.replace('_', "")
    };
    match normalised.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!(
            "\u{201c}{t}\u{201d} is not a number: type digits only, e.g. 0.25 or 120."
        )),
    }
}

/// How close a guess was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within 10%.
    SpotOn,
    /// Within 35%.
    Close,
    /// Within a factor of 3.
    Ballpark,
    TooLow,
    TooHigh,
}

impl Verdict {
    /// The `data-verdict` value.
    pub fn key(self) -> &'static str {
        match self {
            Verdict::SpotOn => "spot-on",
            Verdict::Close => "close",
            Verdict::Ballpark => "ballpark",
            Verdict::TooLow => "too-low",
            Verdict::TooHigh => "too-high",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Verdict::SpotOn => "Spot on: your model of the system matches the simulation.",
            Verdict::Close => "Close: right shape, slightly off in size.",
            Verdict::Ballpark => {
                "Right order of magnitude, but the effect is not the size you expected."
            }
            Verdict::TooLow => "Far too low: the effect is much bigger than intuition suggests.",
            Verdict::TooHigh => "Far too high: the effect is much smaller than you expected.",
        }
    }
}

/// A guess against the simulated answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// |guess - answer| / |answer|; `None` when the answer is 0.
    pub rel_error: Option<f64>,
    pub verdict: Verdict,
}

pub fn compare_guess(guess: f64, answer: f64) -> Comparison {
    let rel_error = (answer != 0.0).then(|| (guess - answer).abs() / answer.abs());
    let verdict = match rel_error {
        Some(e) if e <= 0.10 => Verdict::SpotOn,
        Some(e) if e <= 0.35 => Verdict::Close,
        Some(_) if guess / answer >= 1.0 / 3.0 && guess / answer <= 3.0 => Verdict::Ballpark,
        Some(_) => {
            if guess < answer {
                Verdict::TooLow
            } else {
                Verdict::TooHigh
            }
        }
        // answer 0: only an exact 0 (or a rounding hair off it) is right
        None if guess.abs() < 1e-9 => Verdict::SpotOn,
        None if guess < 0.0 => Verdict::TooLow,
        None => Verdict::TooHigh,
    };
    Comparison { rel_error, verdict }
}

/// How far off a guess was, in words a person reads at a glance: a
/// percentage within a factor of three, else the factor ("12× too high",
/// "30× too low").
pub fn off_by(c: Comparison, guess: Option<f64>, answer: Option<f64>) -> String {
    let Some(e) = c.rel_error else {
        return "\u{2014}".to_string();
    };
    match (guess, answer) {
        // Three times off or more, either way: a factor says it plainly.
        (Some(g), Some(a)) if g / a >= 3.0 => format!("{}\u{00d7} too high", fmt_num(g / a)),
        (Some(g), Some(a)) if g / a > 0.0 && g / a <= 1.0 / 3.0 => {
            format!("{}\u{00d7} too low", fmt_num(a / g))
        }
        _ => format!("{}%", fmt_num(e * 100.0)),
    }
}

/// (`data-status`, icon, words) of a claim's live status: never colour alone.
pub fn status_of(holds: Option<bool>) -> (&'static str, &'static str, &'static str) {
    match holds {
        Some(true) => ("holds", "\u{2714}", "Holds"),
        Some(false) => ("fails", "\u{2716}", "Does not hold"),
        None => ("pending", "\u{2026}", "Not judged yet"),
    }
}

/// The run towards a lesson's answer: how far it is (simulated seconds of
/// the lesson's duration), and that the answer comes at its end.
fn running_progress(progress: Option<(f64, f64)>, speed_hint: bool) -> Html {
    let Some((t, duration)) = progress.filter(|&(_, d)| d > 0.0) else {
        return html! { <p aria-live="polite">{ "Simulating\u{2026}" }</p> };
    };
    let t = t.clamp(0.0, duration);
    let hint = if speed_hint {
        " A faster speed gets there sooner."
    } else {
        ""
    };
    html! {
        <div class="teach-progress">
            <progress data-testid="predict-progress" max={format!("{duration}")} value={format!("{t}")}
                aria-label="simulated time towards the answer" />
            <p>{ format!("Simulating\u{2026} {t:.0} of {duration:.0} s: the answer comes at the end of the run.{hint}") }</p>
        </div>
    }
}

/// `"120 ms"`, `"35%"`, `"0.4"`.
pub fn with_unit(x: f64, unit: &str) -> String {
    match unit {
        "" => fmt_num(x),
        "%" => format!("{}%", fmt_num(x)),
        u => format!("{} {u}", fmt_num(x)),
    }
}

// ----- LessonBrowser ----------------------------------------------------------------

#[derive(Properties, PartialEq)]
pub struct LessonBrowserProps {
    /// Called with the lesson id when a lesson is chosen.
    pub on_open: Callback<String>,
    /// The open lesson (marked `aria-current`).
    #[prop_or_default]
    pub selected: Option<String>,
}

/// The lesson buttons of the browser under `root`, in page order.
fn lesson_buttons(root: &NodeRef) -> Vec<HtmlElement> {
    let Some(list) = root
        .cast::<web_sys::Element>()
        .and_then(|r| r.query_selector_all("button.teach-lesson").ok())
    else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .collect()
}

/// Focuses the lesson button `delta` away from the focused one (or the
/// last when `delta` is `i32::MAX`, the first when it is `i32::MIN`).
fn move_focus(root: &NodeRef, delta: i32) {
    let list = lesson_buttons(root);
    let Some(last) = list.len().checked_sub(1) else {
        return;
    };
    let active = gloo::utils::document().active_element();
    let current = list.iter().position(|b| {
        active
            .as_ref()
            .is_some_and(|a| b.is_same_node(Some(a.as_ref())))
    });
    let next = match (delta, current) {
        (i32::MIN, _) | (_, None) => 0,
        (i32::MAX, _) => last,
        (d, Some(i)) => (i as i64 + d as i64).clamp(0, last as i64) as usize,
    };
    let _ = list[next].focus();
}

/// Focuses the button of lesson `id` if the page shows it.
fn focus_lesson(root: &NodeRef, id: &str) {
    let testid = format!("lesson-{id}");
    if let Some(b) = lesson_buttons(root)
        .into_iter()
        .find(|b| b.get_attribute("data-testid").as_deref() == Some(testid.as_str()))
    {
        let _ = b.focus();
    }
}

/// The filter box's text as it is now (`None` if `e` is not from it).
fn typed_text(e: &KeyboardEvent) -> Option<String> {
    Some(e.target_dyn_into::<HtmlInputElement>()?.value())
}

/// The first lesson matching `text`. Key handlers pass the filter box's
/// text as it is now ([`typed_text`]), not the last render's: Yew renders
/// after the event, in slices of about 16 ms, so a fast typist's Enter or
/// Arrow Down can arrive before the list shows the last keystroke.
fn first_match(text: &str) -> Option<String> {
    let sections = lessons::filter_sections(text);
    Some(sections.first()?.lessons.first()?.id.clone())
}

/// Every lesson, grouped by article section, with a text filter.
/// Keyboard: Tab into the filter, type to filter, Enter opens the first
/// match, Escape clears; Arrow Down / Up move between lessons, Home / End
/// jump to the first / last; Enter or Space opens (they are buttons).
#[function_component(LessonBrowser)]
pub fn lesson_browser(props: &LessonBrowserProps) -> Html {
    let filter = use_state(String::new);
    let root = use_node_ref();
    // A lesson to focus once the list shows it (Arrow Down from the filter
    // box before the list caught up with the typing).
    let pending_focus = use_mut_ref(|| None::<String>);
    {
        let (root, pending_focus) = (root.clone(), pending_focus.clone());
        use_effect(move || {
            let id = pending_focus.borrow_mut().take();
            if let Some(id) = id {
                focus_lesson(&root, &id);
            }
        });
    }
    let sections = lessons::filter_sections(&filter);
    let count: usize = sections.iter().map(|s| s.lessons.len()).sum();

    let oninput = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| {
            filter.set(e.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let on_filter_key = {
        let filter = filter.clone();
        let on_open = props.on_open.clone();
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Enter" => {
                e.prevent_default();
                if let Some(id) = typed_text(&e).and_then(|t| first_match(&t)) {
                    on_open.emit(id);
                }
            }
            "Escape" => {
                // The box too, now: a key right after Escape reads it.
                if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                    input.set_value("");
                }
                filter.set(String::new());
            }
            _ => {}
        })
    };
    let on_list_key = {
        let (root, pending_focus) = (root.clone(), pending_focus.clone());
        let shown = (*filter).clone();
        Callback::from(move |e: KeyboardEvent| {
            let delta = match e.key().as_str() {
                "ArrowDown" => 1,
                "ArrowUp" => -1,
                "Home" => i32::MIN,
                "End" => i32::MAX,
                _ => return,
            };
            // From the filter box, Arrow Down / Up go to the first match;
            // Home / End stay with the text cursor.
            let in_input = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .is_some();
            if in_input && delta.abs() != 1 {
                return;
            }
            e.prevent_default();
            if !in_input {
                move_focus(&root, delta);
                return;
            }
            let Some(text) = typed_text(&e) else {
                return;
            };
            let Some(id) = first_match(&text) else {
                return;
            };
            if text == shown {
                focus_lesson(&root, &id);
            } else {
                // The list still shows an older filter: the render that
                // catches up may move or drop this lesson's button, so the
                // effect above focuses it once that render is done.
                *pending_focus.borrow_mut() = Some(id);
            }
        })
    };

    html! {
        <nav class="teach-browser" aria-label="Lessons" ref={root.clone()} onkeydown={on_list_key}>
            <label class="teach-filter-label" for="lesson-filter">{ "Find a lesson" }</label>
            <input id="lesson-filter" class="teach-filter" type="search" data-testid="lesson-filter"
                placeholder="cache, N+1, retry, p99\u{2026}" autocomplete="off"
                aria-describedby="lesson-count"
                value={(*filter).clone()} {oninput} onkeydown={on_filter_key} />
            <p id="lesson-count" class="teach-count" aria-live="polite">
                { if filter.trim().is_empty() {
                    format!("{count} lessons")
                } else {
                    format!("{count} of {} lessons match", lessons::all().len() + lessons::user_lessons().len())
                } }
            </p>
            <p class="teach-count">{ "Wrote a lesson of your own (a TOML file like those in assets/lessons)? Open it with “Open file…” or drop it onto the page: it joins “Your lessons”, and its share link carries it." }</p>
            // One wrapper for the changing part: Yew pairs unkeyed children
            // from the end, so a varying number of siblings would replace
            // the filter box (and lose its focus) on every keystroke.
            <div class="teach-sections">
            if sections.is_empty() {
                <p class="teach-empty">{ format!("No lesson matches \u{201c}{}\u{201d}.", filter.trim()) }</p>
            }
            { for sections.iter().map(|s| {
                let heading = format!("teach-h-{}", s.title.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
                html! {
                    <section key={s.key.clone()} class="teach-section" aria-labelledby={heading.clone()}>
                        <h3 id={heading}>{ &s.title }</h3>
                        <ul>
                            { for s.lessons.iter().map(|l| {
                                let id = l.id.clone();
                                let on_open = props.on_open.clone();
                                let onclick = Callback::from(move |_: MouseEvent| on_open.emit(id.clone()));
                                let current = props.selected.as_deref() == Some(l.id.as_str());
                                html! {
                                    <li key={l.id.clone()}>
                                        <button type="button" class="teach-lesson"
                                            data-testid={format!("lesson-{}", l.id)}
                                            aria-current={current.then_some("true")}
                                            {onclick}>
                                            <span class="teach-lesson-id">{ &l.id }</span>
                                            <span class="teach-lesson-title">{ &l.title }</span>
                                        </button>
                                    </li>
                                }
                            }) }
                        </ul>
                    </section>
                }
            }) }
            </div>
        </nav>
    }
}

// ----- LessonPanel ------------------------------------------------------------------

/// Where the student is in a lesson.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading and typing a guess.
    Predict,
    /// The guess is in; the page is simulating.
    Running,
    /// The simulated answer is shown beside the guess.
    Revealed,
}

#[derive(Properties, PartialEq)]
pub struct LessonPanelProps {
    /// The lesson id (see `lessons::find`).
    pub lesson: String,
    pub phase: Phase,
    /// The student's guess (after `on_guess`).
    #[prop_or_default]
    pub guess: Option<f64>,
    /// The simulated answer (`lessons::answer`), when the run has one.
    #[prop_or_default]
    pub answer: Option<f64>,
    /// While running: simulated seconds so far and the lesson's duration
    /// (the answer comes at its end).
    #[prop_or_default]
    pub progress: Option<(f64, f64)>,
    /// Say that a faster speed gets to the answer sooner (the page has a
    /// speed picker; an embed runs at full speed without one).
    #[prop_or_default]
    pub speed_hint: bool,
    /// The claims' live status (`lessons::live_claims`); before any run,
    /// pass an empty list and every claim shows as pending.
    #[prop_or_default]
    pub claims: Vec<ClaimLive>,
    /// The check over the lesson's seeds (shown once the answer is).
    #[prop_or_default]
    pub check: SeedCheckView,
    /// The student asks for the check over the lesson's seeds.
    #[prop_or_default]
    pub on_check: Callback<()>,
    /// A valid guess was submitted (in the lesson's unit).
    pub on_guess: Callback<f64>,
    /// The student asks for the answer (Running), or skips guessing
    /// (Predict, lessons without a number to guess).
    pub on_reveal: Callback<()>,
    pub on_close: Callback<()>,
}

fn paragraphs(text: &str) -> Html {
    let paras: Vec<String> = text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    paras.into_iter().map(|p| html! { <p>{ p }</p> }).collect()
}

/// A lesson: narrative, question and guess, answer, claims.
#[function_component(LessonPanel)]
pub fn lesson_panel(props: &LessonPanelProps) -> Html {
    // A guess kept from before a reload comes back into the field.
    let text = use_state(|| props.guess.map(fmt_num).unwrap_or_default());
    let error = use_state(|| None::<String>);
    let Some(lesson) = lessons::find(&props.lesson) else {
        return html! {
            <aside class="teach-panel" data-testid="lesson-panel">
                <p role="alert">{ format!("No lesson called \u{201c}{}\u{201d}.", props.lesson) }</p>
                <button type="button" class="btn small" data-testid="lesson-close"
                    onclick={props.on_close.reform(|_: MouseEvent| ())}>{ "Close" }</button>
            </aside>
        };
    };
    let unit = lesson
        .predict
        .as_ref()
        .map(|p| p.unit.clone())
        .unwrap_or_default();

    let oninput = {
        let text = text.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            text.set(e.target_unchecked_into::<HtmlInputElement>().value());
            error.set(None);
        })
    };
    let onsubmit = {
        let text = text.clone();
        let error = error.clone();
        let on_guess = props.on_guess.clone();
        let unit = unit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_guess(&text, &unit) {
                Ok(x) => {
                    error.set(None);
                    on_guess.emit(x);
                }
                Err(m) => error.set(Some(m)),
            }
        })
    };
    let on_reveal = props.on_reveal.reform(|_: MouseEvent| ());
    let on_close = props.on_close.reform(|_: MouseEvent| ());

    let prediction = match (props.phase, &lesson.predict) {
        (Phase::Predict, Some(_)) => html! {
            <form class="teach-guess" {onsubmit} novalidate=true>
                <label for="predict-input">{ "Your guess" }</label>
                <div class="teach-input">
                    <input id="predict-input" data-testid="predict-input" type="text"
                        inputmode="decimal" autocomplete="off"
                        value={(*text).clone()} {oninput}
                        aria-invalid={if error.is_some() { "true" } else { "false" }}
                        aria-describedby={error.is_some().then_some("predict-error")} />
                    if !unit.is_empty() {
                        <span class="teach-unit">{ &unit }</span>
                    }
                </div>
                <button type="submit" class="btn primary" data-testid="predict-submit">{ "Lock in my guess" }</button>
                <div class="teach-error-slot">
                    if let Some(m) = &*error {
                        <p id="predict-error" class="teach-error" role="alert" data-testid="predict-error">
                            <span aria-hidden="true">{ "\u{26a0} " }</span>{ m }
                        </p>
                    }
                </div>
            </form>
        },
        (Phase::Predict, None) => html! {
            <p>
                { "Nothing to guess in numbers here: run both states and compare. " }
                <button type="button" class="btn primary" data-testid="predict-skip" onclick={on_reveal}>{ "Run it" }</button>
            </p>
        },
        (Phase::Running, _) => html! {
            <div class="teach-running">
                if let Some(g) = props.guess {
                    <p>{ "Your guess: " }<strong data-testid="predict-guess">{ with_unit(g, &unit) }</strong></p>
                }
                if props.answer.is_some() {
                    <p aria-live="polite">{ "The simulation has an answer." }</p>
                    <button type="button" class="btn primary" data-testid="predict-reveal"
                        onclick={on_reveal}>{ "Reveal the answer" }</button>
                } else {
                    { running_progress(props.progress, props.speed_hint) }
                }
            </div>
        },
        (Phase::Revealed, _) => {
            let cmp = props
                .guess
                .zip(props.answer)
                .map(|(g, a)| compare_guess(g, a));
            html! {
                <div class="teach-result" data-testid="predict-result" aria-live="polite">
                    <dl>
                        if let Some(g) = props.guess {
                            <dt>{ "Your guess" }</dt>
                            <dd data-testid="predict-guess">{ with_unit(g, &unit) }</dd>
                        }
                        <dt>{ "Simulated" }</dt>
                        <dd data-testid="predict-answer">{
                            props.answer.map_or("no answer from this run".to_string(), |a| with_unit(a, &unit))
                        }</dd>
                        if let Some(c) = cmp {
                            <dt>{ "Off by" }</dt>
                            <dd data-testid="predict-error-rel">{ off_by(c, props.guess, props.answer) }</dd>
                        }
                    </dl>
                    if let Some(c) = cmp {
                        <p class="teach-verdict" data-testid="predict-verdict" data-verdict={c.verdict.key()}>
                            { c.verdict.text() }
                        </p>
                    }
                </div>
            }
        }
    };

    html! {
        <aside class="teach-panel" data-testid="lesson-panel" aria-labelledby="lesson-title">
            <header class="teach-head">
                <p class="teach-kicker">{ format!("{} \u{00b7} {}", lesson.section, lesson.id) }</p>
                <h2 id="lesson-title">{ &lesson.title }</h2>
                <button type="button" class="btn small teach-close" data-testid="lesson-close"
                    aria-label="Close the lesson" onclick={on_close}>{ "\u{2715}" }</button>
            </header>
            <div class="teach-narrative">{ paragraphs(&lesson.narrative) }</div>
            <section class="teach-question" aria-labelledby="lesson-question">
                <h3 id="lesson-question">{ "Predict first" }</h3>
                <p>{ &lesson.question }</p>
                { prediction }
            </section>
            <section class="teach-claims" aria-labelledby="lesson-claims">
                <h3 id="lesson-claims">{ "What the article claims, measured on your runs" }</h3>
                <ol>
                    { for lesson.claims.iter().enumerate().map(|(i, c)| {
                        let live = props.claims.get(i);
                        let holds = live.and_then(|l| l.holds);
                        let (status, icon, words) = status_of(holds);
                        // Judged on the run so far: it can still turn.
                        let so_far = props.phase == Phase::Running && holds.is_some();
                        let detail = live.map(|l| l.detail.clone()).unwrap_or_else(|| "run the lesson to measure it".into());
                        html! {
                            <li class={classes!("teach-claim", status)} data-testid={format!("claim-{i}")} data-status={status}>
                                <span class="teach-icon" aria-hidden="true">{ icon }</span>
                                <span class="teach-status">{ words }{ if so_far { " so far: " } else { ": " } }</span>
                                <span class="teach-claim-text">{ &c.text }</span>
                                <small class="teach-detail">{ detail }</small>
                            </li>
                        }
                    }) }
                </ol>
            </section>
            if props.phase == Phase::Revealed {
                <SeedCheckPanel lesson={lesson} view={props.check.clone()} on_check={props.on_check.clone()} />
            }
        </aside>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_is_a_percentage_then_a_factor() {
        let f = |g: f64, a: f64| off_by(compare_guess(g, a), Some(g), Some(a));
        assert_eq!(f(110.0, 100.0), "10%");
        assert_eq!(f(250.0, 100.0), "150%");
        // 66312% off reads as what it is: the guess was 663 times the answer
        assert_eq!(f(663.12, 1.0), "663\u{00d7} too high");
        assert_eq!(f(1.0, 30.0), "30\u{00d7} too low");
        assert_eq!(f(0.5, 1.0), "50%");
        assert_eq!(f(0.5, 300.0), "600\u{00d7} too low");
        assert_eq!(
            off_by(compare_guess(1.0, 0.0), Some(1.0), Some(0.0)),
            "\u{2014}"
        );
    }

    #[test]
    fn guesses_are_numbers_with_an_optional_unit() {
        assert_eq!(parse_guess(" 0.25 ", "s"), Ok(0.25));
        assert_eq!(parse_guess("120 ms", "ms"), Ok(120.0));
        assert_eq!(parse_guess("120ms", "ms"), Ok(120.0));
        assert_eq!(parse_guess("35%", "%"), Ok(35.0));
        assert_eq!(parse_guess("0,5", "s"), Ok(0.5));
        assert_eq!(parse_guess("1e3", ""), Ok(1000.0));
        assert_eq!(parse_guess("-2", "x"), Ok(-2.0));
        assert!(parse_guess("", "s").unwrap_err().contains("Type a number"));
        for bad in ["abc", "1.2.3", "NaN", "inf", "1,000,000", "12 s", "--1"] {
            let e = parse_guess(bad, "ms").unwrap_err();
            assert!(e.contains("not a number"), "{bad}: {e}");
        }
    }

    #[test]
    fn verdicts_by_relative_error() {
        let c = compare_guess(1.05, 1.0);
        assert!((c.rel_error.unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(c.verdict, Verdict::SpotOn);
        assert_eq!(compare_guess(0.7, 1.0).verdict, Verdict::Close);
        assert_eq!(compare_guess(2.5, 1.0).verdict, Verdict::Ballpark);
        assert_eq!(compare_guess(0.4, 1.0).verdict, Verdict::Ballpark);
        assert_eq!(compare_guess(0.2, 1.0).verdict, Verdict::TooLow);
        assert_eq!(compare_guess(5.0, 1.0).verdict, Verdict::TooHigh);
        // a negative answer: relative to its size
        assert_eq!(compare_guess(-1.0, -1.05).verdict, Verdict::SpotOn);
        assert_eq!(compare_guess(1.0, -1.0).verdict, Verdict::TooHigh);
        let z = compare_guess(0.0, 0.0);
        assert_eq!((z.rel_error, z.verdict), (None, Verdict::SpotOn));
        assert_eq!(compare_guess(3.0, 0.0).verdict, Verdict::TooHigh);
    }

    #[test]
    fn statuses_have_words_and_icons() {
        let all = [
            status_of(Some(true)),
            status_of(Some(false)),
            status_of(None),
        ];
        assert_eq!(all.map(|s| s.0), ["holds", "fails", "pending"]);
        // distinct icons and words: colour is never the only signal
        assert!(all[0].1 != all[1].1 && all[1].1 != all[2].1 && all[0].1 != all[2].1);
        assert!(all[0].2 != all[1].2 && all[1].2 != all[2].2);
        assert_eq!(with_unit(120.0, "ms"), "120 ms");
        assert_eq!(with_unit(35.0, "%"), "35%");
        assert_eq!(with_unit(0.25, ""), "0.25");
    }
}

//! Yew components of the live page. They are thin: read [`AppState`],
//! dispatch [`Action`]s. The animation loop and keyboard shortcut are effects.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo::events::{EventListener, EventListenerOptions};
use gloo::render::{request_animation_frame, AnimationFrame};
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

use crate::charts::css;
use crate::charts::ChartKind as DashKind;
use crate::dashboard::Dashboard;
use crate::editor::TopologyPanel;
use crate::lessons::LessonToggle;
use crate::model::{
    format_count, format_duration_human, format_percent, format_secs, format_sim_time, ChartData,
    NodeRow, Prediction, Speed, RECENT_WINDOWS,
};
use crate::protocol::{FromHost, Lane, ToHost};
use crate::scenarios::{self, FaultButton, Group, LiveControls};
use crate::state::{Action, AppState, Mode, Phase, ReportPurpose, Sender, ViewData};
use crate::teach::{LessonBrowser, LessonPanel, Phase as TeachPhase};
use crate::traces;
use crate::transport::Transport;
use sim_core::spec::SloSpec;

/// How the app reaches the engine: the transport once it exists, and the
/// commands sent before that.
#[derive(Default)]
struct Link {
    transport: Option<Transport>,
    queue: Vec<ToHost>,
    /// The host answered the hello.
    ready: bool,
}

/// How the page starts.
#[derive(Clone, Debug, PartialEq)]
pub struct StartOptions {
    /// Run the engine in a web worker (false: on the main thread).
    pub worker: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions { worker: true }
    }
}

#[derive(Properties, PartialEq)]
pub struct AppProps {
    #[prop_or_default]
    pub options: StartOptions,
}

/// How long the page waits for the worker's hello before running the
/// engine on the main thread instead.
const WORKER_HELLO_MS: u32 = 4_000;

/// How long the address waits for edits to settle before it follows them.
const ADDRESS_DEBOUNCE_MS: u32 = 400;

/// The whole live page.
#[component(App)]
pub fn app(props: &AppProps) -> Html {
    let link = use_mut_ref(Link::default);
    let state = {
        let link = link.clone();
        use_reducer_eq(move || {
            let sender = Sender(Rc::new(move |m: ToHost| {
                let mut l = link.borrow_mut();
                match &l.transport {
                    Some(t) => t.send(m),
                    None => l.queue.push(m),
                }
            }));
            let href = gloo::utils::window().location().href().unwrap_or_default();
            AppState::from_route(sender, crate::share::parse_route(&href))
        })
    };

    // Start the engine host once: a worker, or the main thread as a fallback.
    {
        let link = link.clone();
        let dispatcher = state.dispatcher();
        let use_worker = props.options.worker;
        use_effect_with((), move |_| {
            let on_reply: Rc<dyn Fn(FromHost)> = {
                let d = dispatcher.clone();
                Rc::new(move |m| {
                    if !crate::bench_bridge::take(&m) {
                        d.dispatch(Action::Host(m))
                    }
                })
            };
            crate::bench_bridge::connect({
                let link = link.clone();
                Rc::new(move |m: ToHost| {
                    let mut l = link.borrow_mut();
                    match &l.transport {
                        Some(t) => t.send(m),
                        None => l.queue.push(m),
                    }
                })
            });
            let transport = Transport::start(use_worker, on_reply.clone());
            transport.send(ToHost::Hello);
            {
                let mut l = link.borrow_mut();
                for m in l.queue.drain(..) {
                    transport.send(m);
                }
                l.transport = Some(transport);
            }
            // No hello from the worker in time: run on this thread and replay.
            let fallback = use_worker.then(|| {
                let link = link.clone();
                let d = dispatcher.clone();
                gloo::timers::callback::Timeout::new(WORKER_HELLO_MS, move || {
                    let ready = link.borrow().ready;
                    if ready {
                        return;
                    }
                    match Transport::fallback(on_reply) {
                        Some(local) => {
                            link.borrow_mut().transport = Some(local);
                            d.dispatch(Action::WorkerFallback(
                                "the web worker did not start".into(),
                            ));
                        }
                        // No engine on the page: keep waiting, and say so.
                        None => d.dispatch(Action::WorkerSlow),
                    }
                })
            });
            move || drop(fallback)
        });
    }
    if state.worker.is_some() {
        link.borrow_mut().ready = true;
    }

    // requestAnimationFrame loop, running only while playing.
    {
        let dispatcher = state.dispatcher();
        use_effect_with(state.playing, move |&playing| {
            let alive = Rc::new(Cell::new(true));
            let slot: Rc<RefCell<Option<AnimationFrame>>> = Rc::new(RefCell::new(None));
            if playing {
                schedule_frame(
                    slot.clone(),
                    alive.clone(),
                    Rc::new(Cell::new(None)),
                    dispatcher,
                );
            }
            move || {
                alive.set(false);
                slot.borrow_mut().take();
            }
        });
    }

    // Space toggles play/pause (unless a control that uses Space has focus).
    {
        let dispatcher = state.dispatcher();
        use_effect_with((), move |_| {
            let doc = gloo::utils::document();
            let listener = {
                EventListener::new_with_options(
                    &doc,
                    "keydown",
                    EventListenerOptions::enable_prevent_default(),
                    move |ev| {
                        let Some(ev) = ev.dyn_ref::<KeyboardEvent>() else {
                            return;
                        };
                        if ev.repeat() || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                            return;
                        }
                        if (ev.key() == " " || ev.code() == "Space") && !space_is_taken(ev) {
                            ev.prevent_default();
                            dispatcher.dispatch(Action::TogglePlay);
                        }
                    },
                )
            };
            move || drop(listener)
        });
    }

    // A scenario or lesson file dropped anywhere on the page opens.
    {
        let d = state.dispatcher();
        let dispatch = Callback::from(move |a: Action| d.dispatch(a));
        let embed = state.embed;
        use_effect_with((), move |_| {
            let listeners = (!embed).then(|| crate::files::watch_drops(dispatch));
            move || drop(listeners)
        });
    }

    // A link pasted into the address bar of the open page (or back and
    // forward): open it, or say why it cannot be opened.
    {
        let dispatcher = state.dispatcher();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
                let href = gloo::utils::window().location().href().unwrap_or_default();
                dispatcher.dispatch(Action::OpenAddress(href));
            });
            move || drop(listener)
        });
    }

    // The address follows the running scenario, seed and lesson (debounced:
    // a slider drag writes once), so a reload or a copied address reopens it.
    {
        let timer = use_mut_ref(|| None::<gloo::timers::callback::Timeout>);
        let writes = !state.embed && state.load_error.is_none() && state.lanes[0].is_some();
        let payload = writes.then(|| state.share_payload());
        use_effect_with(payload, move |payload| {
            if let Some(p) = payload.clone() {
                let t = gloo::timers::callback::Timeout::new(ADDRESS_DEBOUNCE_MS, move || {
                    let href = gloo::utils::window().location().href().unwrap_or_default();
                    crate::persist::replace_address(&crate::persist::address_for(&href, &p));
                });
                *timer.borrow_mut() = Some(t);
            }
            || ()
        });
    }

    // The embed plays while on screen and sizes its iframe (`embed::watch`).
    let embed_ref = use_node_ref();
    {
        let cells = use_state(|| (Rc::new(Cell::new(false)), Rc::new(Cell::new(true))));
        let (playing, may_autoplay) = (*cells).clone();
        playing.set(state.playing);
        may_autoplay.set(
            state
                .lesson
                .as_ref()
                .is_none_or(|l| l.phase != Phase::Predict),
        );
        let embed_ref = embed_ref.clone();
        let dispatch = {
            let d = state.dispatcher();
            Callback::from(move |a: Action| d.dispatch(a))
        };
        // Playing: the page's other embeds pause (see `share::RESIZE_SCRIPT`).
        use_effect_with(state.embed && state.playing, |&now| {
            if now {
                crate::embed::announce_playing();
            }
            || ()
        });
        let live = state.embed && state.lanes[0].is_some();
        use_effect_with(live, move |&live| {
            let watch = embed_ref
                .cast::<web_sys::Element>()
                .filter(|_| live)
                .map(|root| crate::embed::watch(&root, dispatch, playing, may_autoplay));
            move || drop(watch)
        });
    }

    // The presenter view (projector): `?present`, or the header's button.
    let presenting = use_state_eq(|| {
        let href = gloo::utils::window().location().href().unwrap_or_default();
        crate::persist::asks_present(&href)
    });
    let toggle_present = {
        let presenting = presenting.clone();
        Callback::from(move |_: MouseEvent| presenting.set(!*presenting))
    };
    // First visit: a way into the lessons, until dismissed or a lesson opens.
    let welcomed = use_state_eq(crate::persist::welcomed);
    {
        let welcomed = welcomed.clone();
        use_effect_with(state.lesson.is_some(), move |&lesson| {
            if lesson {
                crate::persist::set_welcomed();
                welcomed.set(true);
            }
            || ()
        });
    }

    // `_eq`: closing a closed dialog (Escape anywhere) renders nothing.
    let dialog = use_state_eq(|| Dialog::None);
    let open = {
        let dialog = dialog.clone();
        Callback::from(move |d: Dialog| dialog.set(d))
    };

    // Exports that needed the host's reports: save them when they arrive.
    {
        let reports = state.reports.clone();
        let name = state
            .controls()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "scenario".into());
        let seed = state.seed;
        let dispatch = state.dispatcher();
        use_effect_with(state.reports_version, move |_| {
            if let Some((purpose, reports)) = reports {
                if let Some((lane, r)) = reports.first() {
                    let _ = lane;
                    let mut f = match purpose {
                        ReportPurpose::ExportCsv => crate::export::report_csv(r),
                        _ => crate::export::report_json(r),
                    };
                    f.name = crate::export::file_name(
                        &name,
                        seed,
                        f.name.rsplit('.').next().unwrap_or("txt"),
                    );
                    if let Err(e) = crate::export::download_file(&f) {
                        dispatch.dispatch(Action::ShowError(format!("export: {e}")));
                    }
                }
            }
            || ()
        });
    }

    let dispatch = {
        let d = state.dispatcher();
        Callback::from(move |a: Action| d.dispatch(a))
    };

    let header = html! {
        <Header
            scenario_id={state.scenario_id.clone()}
            description={state.controls().map(|c| c.description.clone()).unwrap_or_default()}
            mode={state.mode}
            has_toggles={!state.toggles.is_empty()}
            failed={state.scenario_error.clone()}
            dispatch={dispatch.clone()}
            open={open.clone()}
            embed={state.embed || state.load_error.is_some()}
            full_link={full_link(&state)}
            title={page_title(&state)}
            presenting={*presenting}
            on_present={toggle_present}
        />
    };
    if let Some(err) = &state.load_error {
        return html! {
            <div class={classes!("app", state.embed.then_some("embed"))}>
                { header }
                <div class="load-error card" role="alert" id="load-error">
                    <h2>{ "This could not be opened" }</h2>
                    <pre>{ err }</pre>
                    <p>{ "Nothing was loaded from it. You can start from the default sandbox instead." }</p>
                    <a class="btn primary" id="load-error-reset" href={crate::share::page_base(&gloo::utils::window().location().href().unwrap_or_default()).to_string()}>
                        { "Open the default sandbox" }</a>
                </div>
            </div>
        };
    }
    let Some(a) = state.lane(Lane::A) else {
        return html! {
            <div class="app">
                { header }
                <div class="boot" role="status">{ "Starting the simulator…" }</div>
            </div>
        };
    };
    let b = state.lane(Lane::B);
    let controls = Rc::new(a.info.controls.clone());
    let on_apply = dispatch.reform(|text: String| Action::ApplyText {
        text,
        reason: "topology edit".into(),
    });
    let on_layout = dispatch.reform(|text: String| Action::ApplyText {
        text,
        reason: "moved nodes".into(),
    });
    let on_edit_error = dispatch.reform(Action::ShowError);
    let lesson_panel = state.lesson.as_ref().map(|l| {
        let phase = match l.phase {
            Phase::Predict => TeachPhase::Predict,
            Phase::Running => TeachPhase::Running,
            Phase::Revealed => TeachPhase::Revealed,
        };
        html! {
            <LessonPanel
                lesson={l.id.clone()}
                phase={phase}
                guess={l.guess}
                answer={l.answer}
                progress={Some((a.view.t_s, l.duration_s))}
                speed_hint={!state.embed}
                claims={(*l.claims).clone()}
                check={l.check.clone()}
                on_check={dispatch.reform(|_| Action::CheckLesson)}
                on_guess={dispatch.reform(Action::Guess)}
                on_reveal={dispatch.reform(|_| Action::Reveal)}
                on_close={dispatch.reform(|_| Action::CloseLesson)}
            />
        }
    });
    let dashboard = html! {
        <Dashboard
            windows={a.windows.clone()}
            compare={b.map(|b| b.windows.clone())}
            version={a.version + b.map_or(0, |b| b.version)}
            node_names={Rc::new(a.info.node_names.clone())}
            slo={a.info.slo.map(|(latency_s, target)| SloSpec { latency_s, target })}
            charts={dashboard_charts(&state)}
            compact={state.embed}
        />
    };
    let toggles = html! {
        <TogglePanel
            toggles={state.toggles.clone()}
            fixed={state.toggle_fixed.clone()}
            mode={state.mode}
            dispatch={dispatch.clone()}
        />
    };
    let errors = html! {
        <>
            if let Some(err) = &state.scenario_error {
                <div class="inline-error scenario-error" role="alert" id="scenario-error">
                    <div>
                        <strong>{ "This could not be opened; what was running keeps running." }</strong>
                        <pre>{ err }</pre>
                    </div>
                    <button class="btn small" onclick={dispatch.reform(|_| Action::DismissScenarioError)}>{ "Dismiss" }</button>
                </div>
            }
            if let Some(err) = &state.error {
                <div class="inline-error" role="alert" id="inline-error">
                    <span>{ err }</span>
                    <button class="btn small" onclick={dispatch.reform(|_| Action::DismissError)}>{ "Dismiss" }</button>
                </div>
            }
            if let Some(note) = &state.note {
                <div class="note-line" role="status" id="note">{ note }</div>
            }
        </>
    };
    if state.embed {
        return html! {
            <div class="app embed" ref={embed_ref}>
                { header }
                <EmbedBar playing={state.playing} t_s={a.view.t_s} p99={a.view.recent_p99_s}
                          p99_b={b.and_then(|b| b.view.recent_p99_s)} dispatch={dispatch.clone()} />
                { errors }
                { for lesson_panel }
                { toggles }
                { dashboard }
            </div>
        };
    }
    html! {
        <div class={classes!("app", (state.mode != Mode::Sandbox).then_some("two-lanes"),
                             state.lesson.is_some().then_some("in-lesson"), (*presenting).then_some("presenting"))}>
            { header }
            if !*welcomed && state.lesson.is_none() && state.mode == Mode::Sandbox {
                <Welcome open={open.clone()} dispatch={dispatch.clone()} on_dismiss={{
                    let welcomed = welcomed.clone();
                    Callback::from(move |_: MouseEvent| {
                        crate::persist::set_welcomed();
                        welcomed.set(true);
                    })
                }} />
            }
            <Controls
                key={state.scenario_id.clone()}
                playing={state.playing}
                speed={state.speed}
                seed={state.seed}
                rate={state.rate}
                workers={state.workers}
                controls={controls.clone()}
                prediction={state.prediction}
                dispatch={dispatch.clone()}
            />
            { errors }
            <main class="layout">
                <section class="main-col" aria-label="Topology and charts">
                    <TopologyPanel
                        scenario={state.scenario_text.clone()}
                        snapshot={Some(a.snapshot.clone())}
                        topology={Some(a.topology.clone())}
                        editable={state.mode == Mode::Sandbox}
                        on_apply={on_apply}
                        on_error={Some(on_edit_error)}
                        on_layout={Some(on_layout)}
                    />
                    if state.prediction.is_some() {
                        <ChartCard
                            id="chart-latency-theory"
                            kind={ChartKind::Latency}
                            title="p99 per 1-second window vs Erlang C"
                            data={a.chart.clone()}
                            version={a.version}
                            prediction={state.prediction.and_then(|p| p.p99_s())}
                            theory=true
                        />
                    }
                    { dashboard }
                    <NodeTable
                        rows={a.view.nodes.clone()}
                        targets={state.fault_targets.clone()}
                        target={state.fault_target.clone()}
                        target_kind={fault_target_kind(&state).map(AttrValue::from)}
                        dispatch={dispatch.clone()}
                    />
                    <WhySlow key={state.scenario_id.clone()} traces={a.traces.clone()} />
                </section>
                <div class="side-col">
                    { for lesson_panel }
                    if state.lesson.is_some() {
                        <p class="note lesson-note" id="lesson-note">{ format!(
                            "A runs the mistake, B the fix, both with seed {}. Claims are judged live on this one run;                              `tailsim lessons check` judges them over several seeds.", state.seed) }</p>
                    }
                    { toggles }
                    if let Some(b) = b {
                        <AbPanel a={a.view.clone()} b={b.view.clone()} mode={state.mode} />
                    }
                    <StatPanel
                        view={a.view.clone()}
                        prediction={state.prediction}
                        rate={state.rate}
                        workers={state.workers}
                        focus={controls.focus.clone()}
                        status={speed_status(&state, &a.view)}
                        worker={state.worker}
                        compute_ms={state.compute_ms}
                    />
                </div>
            </main>
            <Dialogs dialog={(*dialog).clone()} open={open} links={share_links(&state)}
                     lesson={state.lesson.as_ref().map(|l| l.id.clone())}
                     scenario={state.scenario_text.clone()} seed={state.seed}
                     name={controls.name.clone()} dispatch={dispatch.clone()} />
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct WelcomeProps {
    open: Callback<Dialog>,
    dispatch: Callback<Action>,
    on_dismiss: Callback<MouseEvent>,
}

/// The first visit's way in: start with a lesson.
#[component(Welcome)]
fn welcome(p: &WelcomeProps) -> Html {
    let first = crate::lessons::all().first().map(|l| l.id.clone());
    html! {
        <section class="card welcome" id="welcome" aria-label="Where to start">
            <p><strong>{ "New here? Start with a lesson." }</strong>{ " Each one shows a backend mistake:                 you guess what it does to latency, then watch the simulation answer.                 Or play with the live model below: drag the sliders and watch the tail." }</p>
            if let Some(id) = first {
                <button class="btn primary" id="welcome-first" onclick={p.dispatch.reform(move |_: MouseEvent| Action::OpenLesson(id.clone()))}>
                    { "Start the first lesson" }</button>
            }
            <button class="btn" id="welcome-lessons" onclick={p.open.reform(|_: MouseEvent| Dialog::Lessons)}>{ "Browse the lessons" }</button>
            <button class="btn small" id="welcome-dismiss" onclick={p.on_dismiss.clone()}>{ "Dismiss" }</button>
        </section>
    }
}

/// Which dialog is open.
#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    None,
    Lessons,
    Share,
}

/// The running lesson's title, else the scenario's name.
fn page_title(st: &AppState) -> AttrValue {
    if let Some(l) = st.lesson.as_ref().and_then(|l| crate::lessons::find(&l.id)) {
        return l.title.clone().into();
    }
    st.controls()
        .map(|c| c.name.clone())
        .unwrap_or_default()
        .into()
}

/// The full sandbox opening what the page runs now (the embed's link out):
/// the share link; the plain sandbox while nothing runs yet.
fn full_link(st: &AppState) -> AttrValue {
    let href = gloo::utils::window().location().href().unwrap_or_default();
    if st.lanes[0].is_none() {
        return crate::share::page_base(&href).to_string().into();
    }
    crate::share::share_link(&href, &st.share_payload()).into()
}

/// The page's share link and embed snippets: the light element (an open
/// lesson embeds as the lesson; anything else as the running state) and
/// the iframe of the compact sandbox (the running state).
fn share_links(st: &AppState) -> (String, String, String) {
    let href = gloo::utils::window().location().href().unwrap_or_default();
    let payload = st.share_payload();
    let link = crate::share::share_link(&href, &payload);
    let frag = crate::share::encode(&payload);
    // (A lesson the user wrote is not among the embed's files: its link
    // carries the scenario.)
    let element = match &st.lesson {
        Some(l) if crate::lessons::user_text(&l.id).is_none() => {
            crate::share::element_snippet(&href, &format!("?lesson={}", l.id))
        }
        _ => crate::share::element_snippet(&href, &frag),
    };
    let iframe = crate::share::embed_snippet(&href, &frag);
    (link, element, iframe)
}

/// Which dashboard charts the page shows: a lesson's focus, else all (the
/// latency chart moves to the Erlang C card for a single M/M/c).
fn dashboard_charts(st: &AppState) -> Vec<DashKind> {
    if let Some(l) = st.lesson.as_ref().and_then(|l| crate::lessons::find(&l.id)) {
        let mut v = DashKind::list(&l.focus.charts);
        if !v.contains(&DashKind::Latency) {
            v.insert(0, DashKind::Latency);
        }
        return v;
    }
    let mut v = DashKind::DEFAULT.to_vec();
    if st.prediction.is_some() {
        v.retain(|k| *k != DashKind::Latency);
    }
    v
}

/// The kind of the selected fault target.
fn fault_target_kind(st: &AppState) -> Option<String> {
    let t = st.fault_target.as_deref()?;
    st.fault_targets
        .iter()
        .find(|(n, _)| n == t)
        .map(|(_, k)| k.clone())
}

/// Keys whose Space press belongs to the focused control, not to play/pause.
fn space_is_taken(ev: &KeyboardEvent) -> bool {
    let Some(el) = ev.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else {
        return false;
    };
    match el.tag_name().to_ascii_uppercase().as_str() {
        "BUTTON" | "SELECT" | "TEXTAREA" | "A" => true,
        "INPUT" => el
            .dyn_ref::<HtmlInputElement>()
            .is_some_and(|i| i.type_() != "range"),
        _ => el.is_content_editable(),
    }
}

fn schedule_frame(
    slot: Rc<RefCell<Option<AnimationFrame>>>,
    alive: Rc<Cell<bool>>,
    last_ts: Rc<Cell<Option<f64>>>,
    dispatcher: UseReducerDispatcher<AppState>,
) {
    let slot2 = slot.clone();
    let handle = request_animation_frame(move |ts| {
        if !alive.get() || crate::panic::has_panicked() {
            return;
        }
        let dt = last_ts.get().map_or(16.0, |prev| (ts - prev).max(0.0));
        last_ts.set(Some(ts));
        dispatcher.dispatch(Action::Frame { wall_dt_ms: dt });
        if alive.get() {
            schedule_frame(slot2, alive, last_ts, dispatcher);
        }
    });
    *slot.borrow_mut() = Some(handle);
}

#[derive(Properties, PartialEq)]
struct HeaderProps {
    scenario_id: String,
    description: String,
    mode: Mode,
    has_toggles: bool,
    /// The last failed pick (the picker goes back to the running scenario).
    failed: Option<String>,
    dispatch: Callback<Action>,
    open: Callback<Dialog>,
    embed: bool,
    /// The full sandbox with this state (the embed's way out).
    full_link: AttrValue,
    /// What runs: the lesson's title or the scenario's name.
    title: AttrValue,
    presenting: bool,
    on_present: Callback<MouseEvent>,
}

#[component(Header)]
fn header(p: &HeaderProps) -> Html {
    let select = use_node_ref();
    // The picker shows the running scenario, also after a pick that failed.
    {
        let select = select.clone();
        use_effect_with((p.scenario_id.clone(), p.failed.clone()), move |(id, _)| {
            if let Some(el) = select.cast::<HtmlSelectElement>() {
                if el.value() != *id {
                    el.set_value(id);
                }
            }
            || ()
        });
    }
    let on_pick = emit_some(&p.dispatch, |e: Event| {
        let sel: HtmlSelectElement = e.target_unchecked_into();
        Some(Action::SelectScenario(sel.value()))
    });
    let tooltip = if p.description.is_empty() {
        format!("assets/scenarios/{}", p.scenario_id)
    } else {
        format!(
            "assets/scenarios/{}\n\n{}",
            p.scenario_id,
            p.description.trim()
        )
    };
    let known = scenarios::find(&p.scenario_id).is_some();
    let tab = |mode: Mode,
               label: &'static str,
               id: &'static str,
               enabled: bool,
               title: &'static str| {
        let selected = p.mode == mode;
        html! {
            <button id={id} role="tab" aria-selected={selected.to_string()} disabled={!enabled && !selected}
                    class={classes!("tab", selected.then_some("selected"))} title={title}
                    onclick={p.dispatch.reform(move |_: MouseEvent| Action::SetMode(mode))}>{ label }</button>
        }
    };
    if p.embed {
        let full = p.full_link.clone();
        return html! {
            <header class="topbar embed-top">
                <div class="brand">
                    <span class="logo" aria-hidden="true">{ "▟" }</span>
                    <h1>{ "tailsim" }</h1>
                </div>
                <span class="embed-title" id="embed-title" title={p.title.clone()}>{ p.title.clone() }</span>
                <a class="btn small" href={full} target="_blank" rel="noopener" id="open-full">{ "Open the full sandbox ↗" }</a>
            </header>
        };
    }
    html! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">{ "▟" }</span>
                <h1>{ "tailsim" }</h1>
                <span class="tagline">{ "why backends stop scaling" }</span>
            </div>
            <div class="top-actions">
                <button id="lessons-open" class="btn" onclick={p.open.reform(|_: MouseEvent| Dialog::Lessons)}
                        title="Guided lessons, one per mistake in the article">{ "Lessons" }</button>
                <button id="share-open" class="btn" onclick={p.open.reform(|_: MouseEvent| Dialog::Share)}
                        title="Link, embed snippet and exports of this run">{ "Share & export" }</button>
                <button id="present-toggle" class="btn" aria-pressed={p.presenting.to_string()} onclick={p.on_present.clone()}
                        title="Presenter view for a projector: large type, the lesson and the charts only">
                    { if p.presenting { "Exit presenter view" } else { "Present" } }</button>
            </div>
            <div class="picker">
                <label for="scenario">{ "Scenario" }</label>
                <select id="scenario" ref={select} onchange={on_pick} title={tooltip}>
                    if !known {
                        <option value={p.scenario_id.clone()} selected=true>{ format!("{} (edited)", if p.title.is_empty() { p.scenario_id.as_str() } else { p.title.as_str() }) }</option>
                    }
                    { for Group::ALL.iter().map(|g| html! {
                        <optgroup label={g.label()}>
                            { for scenarios::in_group(*g).map(|e| html! {
                                <option value={e.id} selected={e.id == p.scenario_id}>{ e.label() }</option>
                            }) }
                        </optgroup>
                    }) }
                </select>
                <crate::files::OpenFileButton dispatch={p.dispatch.clone()} />
            </div>
            <div class="tabs" role="tablist" aria-label="Mode">
                { tab(Mode::Sandbox, "Sandbox", "mode-sandbox", true, "One simulation: build, toggle, break things") }
                { tab(Mode::Ab, "A/B", "mode-ab", p.has_toggles, "The mistake (A) and the fix (B) side by side, same seed") }
                if p.mode == Mode::Lesson {
                    { tab(Mode::Lesson, "Lesson", "mode-lesson", true, "A guided lesson") }
                }
            </div>
        </header>
    }
}

#[derive(Properties, PartialEq)]
struct TogglePanelProps {
    toggles: Rc<Vec<LessonToggle>>,
    fixed: Rc<Vec<bool>>,
    mode: Mode,
    dispatch: Callback<Action>,
}

/// Every anti-pattern toggle the scenario offers, grouped by the article's
/// sections; flipping one applies it to the running simulation.
#[component(TogglePanel)]
fn toggle_panel(p: &TogglePanelProps) -> Html {
    if p.toggles.is_empty() {
        return html! {};
    }
    let mut sections: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, t) in p.toggles.iter().enumerate() {
        match sections.iter_mut().find(|(s, _)| *s == t.section) {
            Some((_, v)) => v.push(i),
            None => sections.push((&t.section, vec![i])),
        }
    }
    let lane = if p.mode == Mode::Sandbox {
        ""
    } else {
        " (applies to B)"
    };
    html! {
        <section class="card toggles" aria-label="Anti-patterns" id="toggles">
            <h2>{ "Anti-patterns" }<span class="dim">{ format!(" flip a mistake or its fix, live{lane}") }</span></h2>
            <p class="note toggle-carry" id="toggle-carry">{ "A flip changes the system from now on; what has already piled up carries over:                 the queue's backlog and the clients' pending retries drain first, so the tail falls over a while, not at once." }</p>
            { for sections.iter().map(|(section, idx)| html! {
                <fieldset class="toggle-group">
                    <legend>{ *section }</legend>
                    { for idx.iter().map(|&i| {
                        let t = &p.toggles[i];
                        let fixed = p.fixed.get(i).copied().unwrap_or(false);
                        // The label names the mistake, so the switch is on
                        // while the mistake is in (off: its fix).
                        let onchange = p.dispatch.reform(move |e: Event| {
                            let input: HtmlInputElement = e.target_unchecked_into();
                            Action::SetToggle { index: i, fixed: !input.checked() }
                        });
                        let id = format!("toggle-{i}");
                        html! {
                            <div class={classes!("toggle", if fixed { "is-fixed" } else { "is-mistake" })}>
                                <input type="checkbox" role="switch" id={id.clone()} checked={!fixed} {onchange}
                                       data-testid={format!("toggle-{}", t.id)} aria-describedby={format!("{id}-state")} />
                                <label for={id.clone()}>{ t.label() }</label>
                                <span class="toggle-state" id={format!("{id}-state")}>
                                    { if fixed { "✓ fixed" } else { "✗ mistake" } }</span>
                            </div>
                        }
                    }) }
                </fieldset>
            }) }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct AbPanelProps {
    a: ViewData,
    b: ViewData,
    mode: Mode,
}

/// The difference panel: A (mistake) vs B (fix) over the recent windows.
#[component(AbPanel)]
fn ab_panel(p: &AbPanelProps) -> Html {
    let (a, b) = (&p.a, &p.b);
    let ratio = |x: f64, y: f64| {
        if x > 0.0 && y > 0.0 {
            let r = x / y;
            if r >= 1.0 {
                format!("{r:.1}× lower")
            } else {
                format!("{:.1}× higher", 1.0 / r)
            }
        } else {
            "—".to_string()
        }
    };
    let opt = |x: Option<f64>| x.map_or_else(|| "—".to_string(), format_secs);
    let rows = [
        (
            "p99 (recent)",
            "ab-p99",
            opt(a.recent_p99_s),
            opt(b.recent_p99_s),
            match (a.recent_p99_s, b.recent_p99_s) {
                (Some(x), Some(y)) => ratio(x, y),
                _ => "—".into(),
            },
        ),
        (
            "throughput",
            "ab-throughput",
            format!("{:.1}/s", a.recent_throughput),
            format!("{:.1}/s", b.recent_throughput),
            format!("{:+.1}/s", b.recent_throughput - a.recent_throughput),
        ),
        (
            "errors",
            "ab-errors",
            format!("{:.2}/s", a.recent_errors),
            format!("{:.2}/s", b.recent_errors),
            format!("{:+.2}/s", b.recent_errors - a.recent_errors),
        ),
        (
            "busiest node",
            "ab-saturation",
            format!(
                "{} {}",
                a.busiest.as_deref().unwrap_or("—"),
                format_percent(a.max_utilisation)
            ),
            format!(
                "{} {}",
                b.busiest.as_deref().unwrap_or("—"),
                format_percent(b.max_utilisation)
            ),
            format!(
                "{:+.0} pts",
                100.0 * (b.max_utilisation - a.max_utilisation)
            ),
        ),
    ];
    html! {
        <section class="card ab" aria-label="A/B difference" id="ab-panel">
            <h2>{ "A: mistake · B: fix" }<span class="dim">{ format!(" same seed, same simulated time (t = {})", format_sim_time(a.t_s.min(b.t_s))) }</span></h2>
            <table class="ab-table">
                <thead><tr><th scope="col">{ "last 30 s" }</th><th scope="col" class="num">{ "A mistake" }</th>
                    <th scope="col" class="num">{ "B fix" }</th><th scope="col" class="num">{ "B vs A" }</th></tr></thead>
                <tbody>
                    { for rows.iter().map(|(label, id, x, y, d)| html! {
                        <tr id={*id}><th scope="row">{ *label }</th><td class="num a">{ x }</td>
                            <td class="num b">{ y }</td><td class="num d">{ d }</td></tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ControlsProps {
    playing: bool,
    speed: Speed,
    seed: u64,
    rate: f64,
    workers: u32,
    controls: Rc<LiveControls>,
    prediction: Option<Prediction>,
    dispatch: Callback<Action>,
}

#[component(Controls)]
fn controls(p: &ControlsProps) -> Html {
    let d = &p.dispatch;
    let on_play = d.reform(|_: MouseEvent| Action::TogglePlay);
    let on_reset = d.reform(|_: MouseEvent| Action::Reset);
    let on_step = d.reform(|_: MouseEvent| Action::Step);
    let seed_error = use_state(|| None::<String>);
    // What the user is typing: kept until Enter or blur, so the page's
    // refreshes while the run plays do not overwrite it.
    let seed_draft = use_state(|| None::<String>);
    let on_seed_input = {
        let seed_draft = seed_draft.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            seed_draft.set(Some(input.value()));
        })
    };
    let on_seed = {
        let d = d.clone();
        let seed_error = seed_error.clone();
        let seed_draft = seed_draft.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            match input.value().trim().parse::<u64>() {
                Ok(seed) => {
                    seed_error.set(None);
                    seed_draft.set(None);
                    d.emit(Action::SetSeed(seed));
                }
                Err(_) => seed_error.set(Some(format!(
                    "seed: {:?} is not a whole number from 0 to {}",
                    input.value(),
                    u64::MAX
                ))),
            }
        })
    };
    let on_speed = emit_some(d, |e: Event| {
        let sel: HtmlSelectElement = e.target_unchecked_into();
        Speed::parse(&sel.value()).map(Action::SetSpeed)
    });
    let on_rate = emit_some(d, |e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        input.value().parse::<f64>().ok().map(Action::SetRate)
    });
    let on_workers = emit_some(d, |e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        input
            .value()
            .parse::<f64>()
            .ok()
            .map(|v| Action::SetWorkers(v.round() as u32))
    });
    let load = p.prediction.map(|pred| {
        let rho = pred.rho();
        let class = if rho >= 1.0 {
            "load danger"
        } else if rho >= 0.85 {
            "load warn"
        } else {
            "load ok"
        };
        html! {
            <div class={class} id="load" title="Offered load per worker, ρ = λ / (c·μ): arrivals per second over what the workers can serve. At 1 or more the queue grows without bound.">
                <span class="rho-label">{ "Load per worker" }</span>
                <span class="rho-value">{ format!("{:.2}", rho) }</span>
            </div>
        }
    });
    let rate = p.controls.rate.as_ref().map(|c| html! {
        <div class="group slider">
            <label for="rate" title={format!("Arrival rate λ of source {} (0.1× to 3× the scenario's {})", c.source, c.format(c.base))}>
                { "Requests per second" }</label>
            <input id="rate" type="range" min={c.min.to_string()} max={c.max.to_string()}
                   step={c.step.to_string()} value={p.rate.to_string()} oninput={on_rate}
                   aria-describedby="rate-value" />
            <output id="rate-value" for="rate">{ c.format(p.rate) }</output>
        </div>
    });
    let workers = p.controls.workers.as_ref().map(|c| html! {
        <div class="group slider">
            <label for="workers" title={format!("Workers c per replica of {} (requests served at once)", c.node)}>
                { if p.controls.theory.is_some() { "Workers".to_string() } else { format!("{} workers", c.node) } }</label>
            <input id="workers" type="range" min={c.min.to_string()} max={c.max.to_string()}
                   step="1" value={p.workers.to_string()} oninput={on_workers}
                   aria-describedby="workers-value" />
            <output id="workers-value" for="workers">{ p.workers.to_string() }</output>
        </div>
    });
    html! {
        <section class="controls" aria-label="Simulation controls">
            <div class="group buttons">
                <button id="play" class={classes!("btn", "primary", p.playing.then_some("playing"))}
                        aria-pressed={p.playing.to_string()} title="Play / pause (Space)" onclick={on_play}>
                    <span class="icon" aria-hidden="true">{ if p.playing { "❚❚" } else { "▶" } }</span>
                    { if p.playing { "Pause" } else { "Play" } }
                </button>
                <button id="step" class="btn" title="Advance one window of simulated time (pauses)" onclick={on_step}>
                    <span class="icon" aria-hidden="true">{ "⇥" }</span>{ "Step" }
                </button>
                <button id="reset" class="btn" title="Restart from t = 0 with the same seed and the current settings" onclick={on_reset}>
                    <span class="icon" aria-hidden="true">{ "↺" }</span>{ "Reset" }
                </button>
            </div>
            <div class="group seed">
                <label for="seed">{ "Seed" }</label>
                <input id="seed" type="number" min="0" step="1" inputmode="numeric"
                       value={(*seed_draft).clone().unwrap_or_else(|| p.seed.to_string())}
                       oninput={on_seed_input} onchange={on_seed} aria-invalid={seed_error.is_some().to_string()}
                       aria-describedby="seed-error" title="Root seed of every random stream: Enter restarts with it" />
                if let Some(e) = &*seed_error {
                    <span class="field-error" id="seed-error" role="alert">{ e }</span>
                }
            </div>
            <div class="group speed">
                <label for="speed">{ "Speed" }</label>
                <select id="speed" onchange={on_speed}>
                    { for Speed::ALL.iter().map(|s| html! {
                        <option value={s.value()} selected={*s == p.speed}>{ s.label() }</option>
                    }) }
                </select>
            </div>
            { for rate }
            { for workers }
            if p.controls.rate.is_none() && p.controls.workers.is_none() {
                <div class="group note-inline">{ "no rate or worker controls for this topology" }</div>
            }
            { for load }
        </section>
    }
}

/// A callback that dispatches the action `f` returns, if any.
fn emit_some<E: 'static>(
    d: &Callback<Action>,
    f: impl Fn(E) -> Option<Action> + 'static,
) -> Callback<E> {
    let d = d.clone();
    Callback::from(move |e: E| {
        if let Some(a) = f(e) {
            d.emit(a);
        }
    })
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ChartKind {
    Latency,
    Utilisation,
}

#[derive(Properties)]
struct ChartCardProps {
    id: AttrValue,
    kind: ChartKind,
    title: AttrValue,
    data: Rc<ChartData>,
    version: u64,
    prediction: Option<f64>,
    /// The Erlang C overlay applies (a single M/M/c).
    theory: bool,
}

impl PartialEq for ChartCardProps {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
            && self.kind == o.kind
            && self.title == o.title
            && self.version == o.version
            && self.theory == o.theory
            && self.prediction.map(f64::to_bits) == o.prediction.map(f64::to_bits)
    }
}

#[component(ChartCard)]
fn chart_card(p: &ChartCardProps) -> Html {
    let canvas = use_node_ref();
    let resized = use_state(|| 0u32);
    let draw_error = use_state(|| None::<String>);

    // Redraw when the window is resized.
    {
        let resized = resized.clone();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::window(), "resize", move |_| {
                resized.set(*resized + 1);
            });
            move || drop(listener)
        });
    }

    // Draw after render, outside `view`.
    {
        let canvas = canvas.clone();
        let data = p.data.clone();
        let kind = p.kind;
        let prediction = p.prediction;
        let draw_error = draw_error.clone();
        let deps = (p.version, p.prediction.map(f64::to_bits), *resized);
        use_effect_with(deps, move |_| {
            if let Some(el) = canvas.cast::<web_sys::HtmlCanvasElement>() {
                let res = crate::charts::canvas::draw_on(&el, |root, scale| {
                    match kind {
                        ChartKind::Latency => {
                            crate::charts::draw_latency(root, &data, prediction, scale)
                        }
                        ChartKind::Utilisation => {
                            crate::charts::draw_utilisation(root, &data, scale)
                        }
                    }
                    .map_err(|e| e.to_string())
                });
                if res.as_ref().err() != draw_error.as_ref() {
                    draw_error.set(res.err());
                }
            }
            || ()
        });
    }

    let legend = match p.kind {
        ChartKind::Latency => html! {
            <ul class="legend">
                <li><span class="swatch" style={format!("background:{}", css::P50)}></span>{ "p50" }</li>
                <li><span class="swatch" style={format!("background:{}", css::P95)}></span>{ "p95" }</li>
                <li><span class="swatch thick" style={format!("background:{}", css::P99)}></span>{ "p99" }</li>
                if let Some(note) = pooling_note(&p.data) {
                    <li class="legend-note" id="latency-pooling">{ note }</li>
                }
                if p.theory {
                    <li><span class="swatch dashed" style={format!("border-color:{}", css::THEORY)}></span>
                        { if p.prediction.is_some() { "Erlang C p99 (theory)" } else { "Erlang C p99: unstable" } }</li>
                }
            </ul>
        },
        ChartKind::Utilisation => html! {
            <ul class="legend">
                <li><span class="swatch thick" style={format!("background:{}", css::UTIL)}></span>{ "utilisation (left)" }</li>
                <li><span class="swatch" style={format!("background:{}", css::QUEUE)}></span>{ "queue length, time-average (right)" }</li>
            </ul>
        },
    };
    html! {
        <figure class="card chart">
            <figcaption>
                <h2>{ p.title.clone() }</h2>
                { legend }
            </figcaption>
            <div class="canvas-wrap">
                <canvas id={p.id.clone()} ref={canvas} role="img" aria-label={p.title.clone()}></canvas>
            </div>
            if let Some(err) = &*draw_error {
                <p class="chart-error" role="alert">{ format!("chart failed: {err}") }</p>
            }
        </figure>
    }
}

/// What the latency chart says about windows too small for their
/// percentiles (see `model::honest_quantiles`).
fn pooling_note(d: &ChartData) -> Option<String> {
    let mut parts = Vec::new();
    if d.pooled > 1 {
        parts.push(format!(
            "a window with under 100 answers (20 for p95) is pooled with the ones before it, up to {} s",
            crate::model::format_count(d.pooled_s.round() as u64)
        ));
    }
    if d.withheld {
        parts.push("not drawn where the last 30 s hold fewer".to_string());
    }
    (!parts.is_empty()).then(|| format!("p95/p99: {}", parts.join("; ")))
}

fn speed_status(st: &AppState, v: &ViewData) -> String {
    if !st.playing {
        "paused".to_string()
    } else if v.behind {
        format!(
            "{}× · behind",
            format_count(v.effective_speed.round() as u64)
        )
    } else if st.speed == Speed::Max && v.effective_speed > 0.0 {
        format!("max ≈ {}×", format_count(v.effective_speed.round() as u64))
    } else {
        st.speed.label()
    }
}

#[derive(Properties, PartialEq)]
struct StatPanelProps {
    view: ViewData,
    prediction: Option<Prediction>,
    rate: f64,
    workers: u32,
    focus: Option<String>,
    status: String,
    worker: Option<bool>,
    compute_ms: f64,
}

#[component(StatPanel)]
fn stat_panel(p: &StatPanelProps) -> Html {
    let v = &p.view;
    let recent = v.recent_p99_s.map_or_else(|| "—".to_string(), format_secs);
    let recent_title = match v.recent_p99_s {
        Some(_) => String::new(),
        None => format!(
            "fewer than {} answers in these windows: a p99 of them would only be their largest value",
            sim_core::metrics::min_samples(0.99)
        ),
    };
    let recent_span = if v.recent_span_s > 0.0 && v.recent_span_s < RECENT_WINDOWS as f64 - 0.5 {
        format!("last {:.0} s", v.recent_span_s)
    } else {
        format!("last {RECENT_WINDOWS} s")
    };
    let (theory_class, theory_text, theory_label, theory_note) = match p.prediction {
        Some(pred @ Prediction::Stable { p_wait, lq, .. }) => (
            "value",
            pred.p99_text(),
            format!("λ = {:.1}, c = {}", p.rate, p.workers),
            format!(
                "P(wait) = {} · mean queue Lq = {:.1}",
                format_percent(p_wait),
                lq
            ),
        ),
        Some(pred @ Prediction::Unstable { rho }) => (
            "value unstable",
            pred.p99_text(),
            format!("λ = {:.1}, c = {}", p.rate, p.workers),
            format!("ρ = {rho:.2}: arrivals outpace {} workers", p.workers),
        ),
        None => (
            "value na",
            "theory: n/a for this topology".to_string(),
            "single M/M/c only".to_string(),
            "Erlang C needs one Poisson source into one exponential service".to_string(),
        ),
    };
    let focus = p.focus.clone().unwrap_or_else(|| "node".into());
    let ratio = match (v.recent_p99_s, p.prediction.and_then(|p| p.p99_s())) {
        (Some(s), Some(t)) if t > 0.0 && s > 0.0 => Some(s / t),
        _ => None,
    };
    let engine = match p.worker {
        Some(true) => "web worker",
        Some(false) => "main thread",
        None => "starting…",
    };
    html! {
        <aside class="stats" aria-label="Statistics">
            <section class="card tail">
                // No theory for this topology: the card shows the run alone
                // (an empty "n/a" half explains nothing).
                <h2>{ if p.prediction.is_some() { "Tail latency vs theory" } else { "Tail latency" } }</h2>
                <div class={classes!("compare", p.prediction.is_none().then_some("alone"))}>
                    <div class="metric big sim">
                        <div class="label">{ "simulated p99" }<br />{ recent_span }</div>
                        <div class="value" id="p99-sim" title={recent_title}>{ recent }</div>
                        <div class="sub">{ ratio.map(|r| format!("{r:.2}× the prediction")).unwrap_or_default() }</div>
                    </div>
                    if p.prediction.is_some() {
                        <div class="metric big theory">
                            <div class="label" title="Erlang C: the M/M/c queue's exact answer">{ "Theory p99" }<br />{ theory_label }</div>
                            <div class={theory_class} id="p99-theory">{ theory_text }</div>
                            <div class="sub">{ theory_note }</div>
                        </div>
                    }
                </div>
            </section>
            <section class="card">
                <h2>{ "Run" }</h2>
                <dl class="kv">
                    <div class="wide"><dt>{ "sim time" }</dt><dd><span id="sim-time">{ format_sim_time(v.t_s) }</span>
                        <span class="dim">{ if v.t_s >= 60.0 { format!(" ({})", format_duration_human(v.t_s)) } else { String::new() } }</span></dd></div>
                    <div class="wide"><dt>{ "speed" }</dt><dd id="speed-status">{ &p.status }</dd></div>
                    <div><dt>{ "events" }</dt><dd id="events">{ format_count(v.events) }</dd></div>
                    <div><dt>{ "arrived" }</dt><dd id="arrived">{ format_count(v.arrived) }</dd></div>
                    <div><dt>{ "completed" }</dt><dd id="completed">{ format_count(v.completed) }</dd></div>
                    <div><dt>{ "failed" }</dt><dd id="failed">{ format_count(v.failed + v.rejected) }</dd></div>
                    <div><dt>{ "in flight" }</dt><dd id="in-flight">{ format_count(v.in_flight) }</dd></div>
                    <div><dt>{ "requests/s" }</dt><dd id="req-rate" data-total={v.requests.to_string()} title="simulated requests handled per wall second, every node counted">{ format_count(v.requests_per_s.round() as u64) }</dd></div>
                    <div class="wide"><dt>{ "engine" }</dt><dd id="engine-where">{ format!("{engine} · {:.1} ms per frame", p.compute_ms) }</dd></div>
                </dl>
            </section>
            <section class="card">
                <h2>{ format!("Node {focus} (whole run)") }</h2>
                <dl class="kv">
                    <div><dt>{ "utilisation" }</dt><dd id="utilisation">{ format_percent(v.utilisation) }</dd></div>
                    <div><dt>{ "mean queue" }</dt><dd id="queue-mean">{ format!("{:.2}", v.queue_len_mean) }</dd></div>
                    <div><dt>{ "queue now" }</dt><dd id="queue-now">{ format_count(v.queue_len) }</dd></div>
                    <div><dt>{ "busy workers" }</dt><dd id="busy">{ if v.slots > 0 { format!("{} / {}", v.busy, v.slots) } else { v.busy.to_string() } }</dd></div>
                </dl>
            </section>
            <section class="card">
                <h2>{ "Latency (whole run)" }</h2>
                <dl class="kv three">
                    <div><dt>{ "p50" }</dt><dd id="p50-run">{ run_quantile(v, 0.50, v.p50_s) }</dd></div>
                    <div><dt>{ "p95" }</dt><dd id="p95-run">{ run_quantile(v, 0.95, v.p95_s) }</dd></div>
                    <div><dt>{ "p99" }</dt><dd id="p99-run">{ run_quantile(v, 0.99, v.p99_s) }</dd></div>
                </dl>
                <p class="note">{ "After a live change the whole run mixes regimes: compare the windowed p99 above." }</p>
            </section>
        </aside>
    }
}

/// A whole-run percentile, or a dash when the run has answered too few
/// requests for it to be more than its largest value (`sim_core::metrics::min_samples`).
fn run_quantile(v: &ViewData, q: f64, value: f64) -> Html {
    if v.latency_n >= sim_core::metrics::min_samples(q) {
        html! { format_secs(value) }
    } else {
        let title = format!(
            "{} answered so far: a p{} needs at least {}",
            v.latency_n,
            (q * 100.0).round(),
            sim_core::metrics::min_samples(q)
        );
        html! { <span {title}>{ "\u{2014}" }</span> }
    }
}

#[derive(Properties, PartialEq)]
struct NodeTableProps {
    rows: Rc<Vec<NodeRow>>,
    targets: Rc<Vec<(String, String)>>,
    target: Option<String>,
    target_kind: Option<AttrValue>,
    dispatch: Callback<Action>,
}

/// One row per node (from the snapshot), with the live fault buttons.
#[component(NodeTable)]
fn node_table(p: &NodeTableProps) -> Html {
    let on_target = emit_some(&p.dispatch, |e: Event| {
        let sel: HtmlSelectElement = e.target_unchecked_into();
        Some(Action::SetFaultTarget(sel.value()))
    });
    let has_cache = p.targets.iter().any(|(_, k)| k == "cache");
    let kind = p.target_kind.as_deref().unwrap_or("");
    let buttons = FaultButton::ALL
        .iter()
        .filter(|b| **b != FaultButton::Flush || has_cache)
        .map(|&b| {
            let enabled = !b.targeted() || (p.target.is_some() && b.applies_to(kind));
            html! {
                <button id={b.dom_id()} class="btn small fault" disabled={!enabled} title={b.help()}
                        onclick={p.dispatch.reform(move |_: MouseEvent| Action::InjectFault(b))}>
                    { b.label() }
                </button>
            }
        });
    html! {
        <section class="card nodes-card" aria-label="Nodes">
            <div class="nodes-head">
                <h2>{ "Nodes" }<span class="dim">{ " (whole run; queue and in flight now)" }</span></h2>
                if !p.targets.is_empty() {
                    <div class="faults">
                        <label for="fault-target">{ "Fault on" }</label>
                        <select id="fault-target" onchange={on_target}>
                            { for p.targets.iter().map(|(n, k)| html! {
                                <option value={n.clone()} selected={p.target.as_deref() == Some(n.as_str())}>
                                    { format!("{n} ({})", k.replace('_', " ")) }</option>
                            }) }
                        </select>
                        { for buttons }
                    </div>
                }
            </div>
            <div class="table-wrap">
                <table id="nodes">
                    <thead>
                        <tr>
                            <th scope="col">{ "node" }</th>
                            <th scope="col">{ "kind" }</th>
                            <th scope="col" class="num">{ "replicas up" }</th>
                            <th scope="col" class="num">{ "utilisation" }</th>
                            <th scope="col" class="num">{ "queue" }</th>
                            <th scope="col" class="num">{ "in flight" }</th>
                            <th scope="col">{ "cache · broker · pool" }</th>
                        </tr>
                    </thead>
                    <tbody>
                        { for p.rows.iter().map(|r| html! {
                            <tr data-node={r.name.clone()} class={classes!(r.is_down().then_some("down"))}>
                                <th scope="row">{ &r.name }</th>
                                <td class="kind">{ &r.kind }</td>
                                <td class="num">{ if r.is_down() { "0 · down".to_string() } else { r.replicas.to_string() } }</td>
                                <td class="num">{ r.utilisation.map_or_else(|| "—".to_string(), format_percent) }</td>
                                <td class="num">{ format_count(r.queue_len) }</td>
                                <td class="num">{ format_count(r.in_flight) }</td>
                                <td class="detail">{ if r.detail.is_empty() { "—".to_string() } else { r.detail.clone() } }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct WhySlowProps {
    /// The slowest recent traces, slowest first.
    traces: Rc<Vec<sim_core::Trace>>,
}

/// "Why is it slow?": the slowest recent traced requests and, for the one
/// clicked, its waterfall of spans. The clicked trace is kept (a copy), so
/// the waterfall stays put while the list refreshes.
#[component(WhySlow)]
fn why_slow(p: &WhySlowProps) -> Html {
    let selected = use_state(|| None::<Rc<sim_core::Trace>>);
    let same = |a: &sim_core::Trace, b: &sim_core::Trace| {
        a.id == b.id && a.source == b.source && a.start_s == b.start_s
    };
    let items = p.traces.iter().map(|t| {
        let pressed = selected.as_ref().is_some_and(|s| same(s, t));
        let onclick = {
            let selected = selected.clone();
            let t = Rc::new(t.clone());
            Callback::from(move |_: MouseEvent| selected.set(Some(t.clone())))
        };
        let bad = t.outcome != "ok";
        html! {
            <li>
                <button class="slow-item" type="button" aria-pressed={pressed.to_string()}
                        title={format!("request #{} of {}, started at t = {:.2} s{}", t.id, t.source, t.start_s,
                                       if t.truncated { " (spans truncated)" } else { "" })}
                        {onclick}>
                    <span class="lat">{ traces::format_duration(t.latency_s) }</span>
                    <span class="src">{ &t.source }</span>
                    <span class={classes!("out", bad.then_some("bad"))}>{ &t.outcome }</span>
                </button>
            </li>
        }
    });
    let waterfall = match selected.as_ref() {
        None => html! {
            <p class="why-empty">{ "Click a request to see where its time went: one bar per span (network, queue, pool and lock waits, compute, backoff), indented by call depth." }</p>
        },
        Some(t) => {
            let rows = traces::layout(t);
            let breakdown = traces::breakdown(t);
            html! {
                <>
                    <div class="waterfall-head">
                        <strong>{ format!("#{} from {} · {} · {}", t.id, t.source, traces::format_duration(t.latency_s), t.outcome) }</strong>
                        <span>{ format!("started at t = {:.2} s", t.start_s) }</span>
                        if let Some((k, d)) = breakdown.first() {
                            <span>{ format!("most time: {} ({})", traces::kind_label(*k), traces::format_duration(*d)) }</span>
                        }
                        if t.truncated { <span>{ "spans truncated" }</span> }
                    </div>
                    <div id="waterfall" role="list" aria-label="Spans of the selected request">
                        { for rows.iter().map(|r| html! {
                            <div class={classes!("wf-row", traces::kind_class(r.kind))} role="listitem"
                                 data-node={r.node.clone()} data-kind={traces::kind_label(r.kind)} title={r.title.clone()}>
                                <span class="wf-label" style={format!("padding-left:{}px", 10 * u32::from(r.depth))}>{ &r.label }</span>
                                <span class="wf-track">
                                    <span class="wf-bar" style={format!("left:{:.3}%;width:{:.3}%;background:{}",
                                        r.left_pct, r.width_pct, traces::kind_color(r.kind))}></span>
                                </span>
                            </div>
                        }) }
                    </div>
                </>
            }
        }
    };
    html! {
        <section class="card" id="why-slow" aria-label="Why is it slow?">
            <div class="why-head">
                <h2>{ "Why is it slow?" }<span class="dim">{ " slowest recent traced requests (a sample of all requests)" }</span></h2>
            </div>
            <div class="why-body">
                <ul id="slow-list" aria-label="Slowest recent requests">
                    if p.traces.is_empty() {
                        <li class="why-empty">{ "no traced request has finished yet" }</li>
                    }
                    { for items }
                </ul>
                <div class="waterfall-wrap">
                    { waterfall }
                </div>
            </div>
            <ul class="wf-legend" aria-label="Span kinds">
                { for traces::KINDS.iter().map(|k| html! {
                    <li><span class="swatch" style={format!("background:{}", traces::kind_color(*k))}></span>{ traces::kind_label(*k) }</li>
                }) }
            </ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct EmbedBarProps {
    playing: bool,
    t_s: f64,
    p99: Option<f64>,
    p99_b: Option<f64>,
    dispatch: Callback<Action>,
}

/// The embed's one-line control: play/pause, the clock, the windowed p99.
#[component(EmbedBar)]
fn embed_bar(p: &EmbedBarProps) -> Html {
    let fmt = |x: Option<f64>| x.map_or_else(|| "—".to_string(), format_secs);
    html! {
        <section class="controls embed-bar" aria-label="Simulation controls">
            <button id="play" class={classes!("btn", "primary", p.playing.then_some("playing"))}
                    aria-pressed={p.playing.to_string()} title="Play / pause (Space)"
                    onclick={p.dispatch.reform(|_: MouseEvent| Action::TogglePlay)}>
                <span class="icon" aria-hidden="true">{ if p.playing { "❚❚" } else { "▶" } }</span>
                { if p.playing { "Pause" } else { "Play" } }
            </button>
            <button id="reset" class="btn" onclick={p.dispatch.reform(|_: MouseEvent| Action::Reset)}>{ "↺ Reset" }</button>
            <span class="embed-stat">{ "t = " }<span id="sim-time">{ format_sim_time(p.t_s) }</span></span>
            <span class="embed-stat">{ "p99 " }<strong id="p99-sim">{ fmt(p.p99) }</strong></span>
            if p.p99_b.is_some() {
                <span class="embed-stat">{ "fix p99 " }<strong id="p99-sim-b">{ fmt(p.p99_b) }</strong></span>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct DialogsProps {
    dialog: Dialog,
    open: Callback<Dialog>,
    /// (share link, iframe snippet).
    links: (String, String, String),
    lesson: Option<String>,
    scenario: Rc<String>,
    seed: u64,
    name: String,
    dispatch: Callback<Action>,
}

/// The lesson browser and the share-and-export dialog.
#[component(Dialogs)]
fn dialogs(p: &DialogsProps) -> Html {
    let close = p.open.reform(|_: MouseEvent| Dialog::None);
    // Escape closes. One listener for the page's life, not one per open
    // dialog: an effect runs after the render that shows the dialog, maybe
    // a slice later (Yew yields every ~16 ms), and an Escape pressed in
    // between would be lost. With no dialog open it is a no-op.
    {
        let open = p.open.clone();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::document(), "keydown", move |ev| {
                if ev
                    .dyn_ref::<KeyboardEvent>()
                    .is_some_and(|k| k.key() == "Escape")
                {
                    open.emit(Dialog::None);
                }
            });
            move || drop(listener)
        });
    }
    let dialog_ref = use_node_ref();
    // An open dialog takes the focus (its first control) and gives it back
    // to what had it (the button that opened it) when it closes.
    {
        let dialog_ref = dialog_ref.clone();
        let opener = use_mut_ref(|| None::<HtmlElement>);
        use_effect_with(p.dialog.clone(), move |d| {
            if *d == Dialog::None {
                if let Some(el) = opener.borrow_mut().take() {
                    let _ = el.focus();
                }
            } else {
                if opener.borrow().is_none() {
                    *opener.borrow_mut() = gloo::utils::document()
                        .active_element()
                        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
                }
                if let Some(d) = dialog_ref.cast::<web_sys::Element>() {
                    // (unless a control of the dialog took it already)
                    let active = gloo::utils::document().active_element();
                    let inside = active
                        .as_ref()
                        .is_some_and(|a| d.contains(Some(a.as_ref())));
                    if let Some(first) = focusables(&d).into_iter().next().filter(|_| !inside) {
                        let _ = first.focus();
                    }
                }
            }
            || ()
        });
    }
    // Tab and Shift+Tab go round the dialog's controls, never behind it.
    let trap = {
        let dialog_ref = dialog_ref.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() != "Tab" {
                return;
            }
            let Some(d) = dialog_ref.cast::<web_sys::Element>() else {
                return;
            };
            let items = focusables(&d);
            let (Some(first), Some(last)) = (items.first(), items.last()) else {
                e.prevent_default();
                return;
            };
            let active = gloo::utils::document().active_element();
            let at = |el: &HtmlElement| {
                let el: &web_sys::Element = el;
                active.as_ref().is_some_and(|a| a == el)
            };
            let inside = active
                .as_ref()
                .is_some_and(|a| d.contains(Some(a.as_ref())));
            if e.shift_key() && (at(first) || !inside) {
                e.prevent_default();
                let _ = last.focus();
            } else if !e.shift_key() && (at(last) || !inside) {
                e.prevent_default();
                let _ = first.focus();
            }
        })
    };
    match p.dialog {
        Dialog::None => html! {},
        Dialog::Lessons => {
            let on_open = {
                let d = p.dispatch.clone();
                let open = p.open.clone();
                Callback::from(move |id: String| {
                    open.emit(Dialog::None);
                    d.emit(Action::OpenLesson(id));
                })
            };
            html! {
                <div class="dialog-backdrop">
                    <div class="dialog card" role="dialog" aria-modal="true" aria-labelledby="lessons-title" id="lesson-dialog"
                         ref={dialog_ref.clone()} onkeydown={trap.clone()}>
                        <div class="dialog-head">
                            <h2 id="lessons-title">{ "Lessons" }<span class="dim">{ " one per mistake in the article, grouped by section" }</span></h2>
                            <button class="btn small" id="dialog-close" onclick={close}>{ "Close" }</button>
                        </div>
                        <LessonBrowser on_open={on_open} selected={p.lesson.clone()} />
                    </div>
                </div>
            }
        }
        Dialog::Share => {
            let d = p.dispatch.clone();
            let (scenario, seed, name) = (p.scenario.clone(), p.seed, p.name.clone());
            let export_toml = Callback::from(move |_: MouseEvent| {
                let res = sim_core::Scenario::from_str_any(&scenario)
                    .map_err(|e| e.to_string())
                    .and_then(|sc| {
                        crate::export::download_file(&crate::export::scenario_toml(&sc, seed))
                    });
                if let Err(e) = res {
                    d.emit(Action::ShowError(format!("export: {e}")));
                }
            });
            let d = p.dispatch.clone();
            let export_png = Callback::from(move |_: MouseEvent| {
                if let Err(e) = export_charts_png(&name, seed) {
                    d.emit(Action::ShowError(format!("export: {e}")));
                }
            });
            let lesson_link = p.lesson.as_ref().map(|id| {
                let href = gloo::utils::window().location().href().unwrap_or_default();
                crate::share::lesson_link(&href, id)
            });
            let copy = |id: &'static str| Callback::from(move |_: MouseEvent| copy_field(id));
            html! {
                <div class="dialog-backdrop">
                    <div class="dialog card" role="dialog" aria-modal="true" aria-labelledby="share-title" id="share-dialog"
                         ref={dialog_ref.clone()} onkeydown={trap.clone()}>
                        <div class="dialog-head">
                            <h2 id="share-title">{ "Share & export" }</h2>
                            <button class="btn small" id="dialog-close" onclick={close}>{ "Close" }</button>
                        </div>
                        <label for="share-link">{ "Link to this scenario and seed (compressed into the address; old links keep opening)" }</label>
                        <div class="copy-row">
                            <input id="share-link" type="text" readonly=true value={p.links.0.clone()} />
                            <button class="btn small" id="share-copy" onclick={copy("share-link")}>{ "Copy" }</button>
                        </div>
                        if let Some(l) = lesson_link {
                            <label for="lesson-link">{ "Link to the lesson" }</label>
                            <div class="copy-row">
                                <input id="lesson-link" type="text" readonly=true value={l} />
                                <button class="btn small" onclick={copy("lesson-link")}>{ "Copy" }</button>
                            </div>
                        }
                        <label for="embed-snippet">{ "Embed in a blog post: one script and one element (light: the engine and a chart, about 450 KB; sizes itself, plays when scrolled into view)" }</label>
                        <div class="copy-row">
                            <textarea id="embed-snippet" readonly=true rows="3" value={p.links.1.clone()} />
                            <button class="btn small" id="embed-copy" onclick={copy("embed-snippet")}>{ "Copy" }</button>
                        </div>
                        <label for="iframe-snippet">{ "Or the compact sandbox in an iframe (every chart and toggle; 600 px and up, heavier)" }</label>
                        <div class="copy-row">
                            <textarea id="iframe-snippet" readonly=true rows="3" value={p.links.2.clone()} />
                            <button class="btn small" id="iframe-copy" onclick={copy("iframe-snippet")}>{ "Copy" }</button>
                        </div>
                        <h3>{ "Export" }</h3>
                        <div class="export-row">
                            <button class="btn" id="export-csv" onclick={p.dispatch.reform(|_: MouseEvent| Action::RequestReports(ReportPurpose::ExportCsv))}>{ "Run as CSV" }</button>
                            <button class="btn" id="export-json" onclick={p.dispatch.reform(|_: MouseEvent| Action::RequestReports(ReportPurpose::ExportJson))}>{ "Run as JSON" }</button>
                            <button class="btn" id="export-png" onclick={export_png}>{ "Charts as PNG" }</button>
                            <button class="btn" id="export-toml" onclick={export_toml}>{ "Scenario as TOML" }</button>
                        </div>
                    </div>
                </div>
            }
        }
    }
}

/// The controls of `root` that take the focus with Tab, in page order.
fn focusables(root: &web_sys::Element) -> Vec<HtmlElement> {
    const SELECTOR: &str = "a[href], button:not([disabled]), input:not([disabled]), \
        select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
    let Ok(list) = root.query_selector_all(SELECTOR) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
        .filter(|e| e.offset_parent().is_some())
        .collect()
}

/// Selects the text of input/textarea `id` and copies it to the clipboard.
fn copy_field(id: &str) {
    let Some(el) = gloo::utils::document().get_element_by_id(id) else {
        return;
    };
    let text = if let Some(i) = el.dyn_ref::<HtmlInputElement>() {
        i.select();
        i.value()
    } else if let Some(t) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        t.select();
        t.value()
    } else {
        return;
    };
    let clipboard = gloo::utils::window().navigator().clipboard();
    let _ = clipboard.write_text(&text);
}

/// Every dashboard chart stacked into one PNG.
fn export_charts_png(name: &str, seed: u64) -> Result<(), String> {
    let doc = gloo::utils::document();
    let list = doc
        .query_selector_all(".dashboard canvas, #chart-latency-theory")
        .map_err(|e| format!("{e:?}"))?;
    let canvases: Vec<web_sys::HtmlCanvasElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into().ok())
        .collect();
    if canvases.is_empty() {
        return Err("no chart to export".into());
    }
    let width = canvases.iter().map(|c| c.width()).max().unwrap_or(0);
    let height: u32 = canvases.iter().map(|c| c.height()).sum();
    let out: web_sys::HtmlCanvasElement = doc
        .create_element("canvas")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "not a canvas".to_string())?;
    out.set_width(width);
    out.set_height(height);
    let ctx: web_sys::CanvasRenderingContext2d = out
        .get_context("2d")
        .map_err(|e| format!("{e:?}"))?
        .ok_or("no 2d context")?
        .dyn_into()
        .map_err(|_| "not a 2d context".to_string())?;
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, width as f64, height as f64);
    let mut y = 0.0;
    for c in &canvases {
        ctx.draw_image_with_html_canvas_element(c, 0.0, y)
            .map_err(|e| format!("{e:?}"))?;
        y += c.height() as f64;
    }
    crate::export::download_canvas_png(&out, &crate::export::chart_png_name(name, seed, "charts"))
}

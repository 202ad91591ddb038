//! The teacher's presenter view: a workshop pack, one lesson at a time
//! (next/previous, progress, the teacher's notes), made for a projector.
//! With the classroom server it also runs the class: a room with a join
//! code and a QR code, "Ask the class" opens the lesson's question on every
//! student's page, the distribution of their predictions fills in live,
//! "Reveal" puts the simulated answer beside it, "Run the lesson for all"
//! opens the lesson's simulation on every page, and the answers export as
//! CSV. Without a server (a static host) it steps through the pack and runs
//! each lesson on this page only.
//!
//! Keys: Right/PageDown next, Left/PageUp previous, N notes.
//!
//! Test ids: `presenter`, `deck-title`, `deck-progress`, `deck-prev`,
//! `deck-next`, `deck-step-<i>`, `toggle-notes`, `teacher-notes`, `slide`,
//! `slide-title`, `slide-question`, `live-start`, `live-status`,
//! `join-card`, `join-code-big`, `join-qr`, `join-url`, `lan-hint`,
//! `joined-count`, `roster`, `roster-toggle`, `kick-<id>`, `ask`,
//! `close-answers`, `reveal`, `run-all`, `stop-run`, `run-local`,
//! `class-panel`, `answered-count`, `class-answer`, `presenter-run`,
//! `export-csv`, `end-class`, `pack-link`, `pack-picker`, `pack-file`,
//! `pack-error`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use classroom::protocol::{AnswerStatus, ClientMsg, CloseReason, Phase, ServerMsg, TeacherView};
use gloo::events::EventListener;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, KeyboardEvent};
use yew::prelude::*;

use super::chart::ClassHistogram;
use super::net::{self, Socket, SocketEvent};
use super::packs::{self, Deck};
use crate::teach::with_unit;

/// Where the pack comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A shipped pack by name (`None`: the picker).
    Shipped(Option<String>),
    /// `w=1.<data>` from the address.
    Link(String),
}

#[derive(Properties, PartialEq)]
pub struct PresenterProps {
    pub source: Source,
}

/// The room as `POST /api/rooms` opened it (kept in the tab's session, so
/// a reload gets back to it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub code: String,
    pub display_code: String,
    pub token: String,
    pub join_url: String,
    pub qr_svg: String,
    pub lan: bool,
}

const ROOM_KEY: &str = "tailsim-teacher-room";

#[derive(Clone, Debug, PartialEq)]
pub enum Live {
    Off,
    Checking,
    /// No classroom server serves this page.
    NoServer(String),
    Open {
        room: Rc<RoomInfo>,
        view: Option<Rc<TeacherView>>,
        connected: bool,
    },
    Ended(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PresState {
    pub deck: Option<Rc<Deck>>,
    pub load_error: Option<String>,
    pub index: usize,
    pub notes: bool,
    pub names: bool,
    /// The lesson runs on this page (without a room, or while it runs for all).
    pub run_here: bool,
    pub live: Live,
    pub error: Option<String>,
    pub link_copied: bool,
}

pub enum Action {
    Loaded(Result<Deck, String>),
    Go(isize),
    GoTo(usize),
    ToggleNotes,
    ToggleNames,
    RunHere(bool),
    Live(Live),
    Socket(SocketEvent),
    Error(Option<String>),
    LinkCopied,
}

impl Reducible for PresState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Loaded(Ok(d)) => {
                s.deck = Some(Rc::new(d));
                s.load_error = None;
                s.index = 0;
            }
            Action::Loaded(Err(e)) => s.load_error = Some(e),
            Action::Go(d) => {
                let n = s.deck.as_ref().map_or(0, |d| d.slides.len());
                let i = (s.index as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
                if i != s.index {
                    s.index = i;
                    s.run_here = false;
                }
            }
            Action::GoTo(i) => {
                if s.deck.as_ref().is_some_and(|d| i < d.slides.len()) && i != s.index {
                    s.index = i;
                    s.run_here = false;
                }
            }
            Action::ToggleNotes => s.notes = !s.notes,
            Action::ToggleNames => s.names = !s.names,
            Action::RunHere(on) => s.run_here = on,
            Action::Live(l) => s.live = l,
            Action::Error(e) => s.error = e,
            Action::LinkCopied => s.link_copied = true,
            Action::Socket(ev) => s.on_socket(ev),
        }
        Rc::new(s)
    }
}

impl PresState {
    fn on_socket(&mut self, ev: SocketEvent) {
        let Live::Open {
            view, connected, ..
        } = &mut self.live
        else {
            return;
        };
        match ev {
            SocketEvent::Open => {}
            SocketEvent::Closed => *connected = false,
            SocketEvent::Msg(ServerMsg::Welcome { .. }) => {
                *connected = true;
                self.error = None;
            }
            SocketEvent::Msg(ServerMsg::Teacher { view: v }) => *view = Some(Rc::new(v)),
            SocketEvent::Msg(ServerMsg::Error { message, .. }) => self.error = Some(message),
            SocketEvent::Msg(ServerMsg::Closed { reason, message }) => {
                // A refused hello (the room expired): say why, not "refused".
                let why = match reason {
                    CloseReason::Refused => self.error.take().unwrap_or(message),
                    _ => message,
                };
                self.live = Live::Ended(why);
            }
            SocketEvent::Msg(_) => {}
        }
    }

    fn view(&self) -> Option<&TeacherView> {
        match &self.live {
            Live::Open { view, .. } => view.as_deref(),
            _ => None,
        }
    }

    fn room(&self) -> Option<&RoomInfo> {
        match &self.live {
            Live::Open { room, .. } => Some(room),
            _ => None,
        }
    }
}

type Handle = UseReducerHandle<PresState>;
type Sock = Rc<RefCell<Option<Socket>>>;

fn connect_teacher(sock: &Sock, state: &Handle, room: &RoomInfo) {
    let hello = ClientMsg::Teacher {
        code: room.code.clone(),
        token: room.token.clone(),
    };
    let on_event = {
        let sock = sock.clone();
        let d = state.dispatcher();
        Callback::from(move |ev: SocketEvent| {
            if ev == SocketEvent::Open {
                if let Some(s) = sock.borrow().as_ref() {
                    s.send(&hello);
                }
            }
            d.dispatch(Action::Socket(ev));
        })
    };
    let opened = Socket::open(on_event);
    match opened {
        Ok(s) => *sock.borrow_mut() = Some(s),
        Err(e) => state.dispatch(Action::Error(Some(format!("cannot connect: {e}")))),
    }
}

fn send(sock: &Sock, m: ClientMsg) {
    if let Some(s) = sock.borrow().as_ref() {
        s.send(&m);
    }
}

/// Opens a room: is there a classroom server, then `POST /api/rooms`.
fn start_live(state: Handle, sock: Sock) {
    state.dispatch(Action::Live(Live::Checking));
    yew::platform::spawn_local(async move {
        if net::classroom_info().await.is_err() {
            state.dispatch(Action::Live(Live::NoServer(
                "A live class needs the classroom server: start it with \
                 `cargo xtask serve --classroom` and open this page from it. \
                 Without it you can still step through the pack and run each lesson."
                    .into(),
            )));
            return;
        }
        let opened = net::fetch("POST", "/api/rooms", None).await;
        let room = match opened {
            Ok((201, body)) => serde_json::from_str::<RoomInfo>(&body).map_err(|e| e.to_string()),
            Ok((status, body)) => Err(net::api_error(status, &body)),
            Err(e) => Err(e),
        };
        match room {
            Ok(room) => {
                let json = serde_json::to_string(&room).unwrap_or_default();
                super::session_set(ROOM_KEY, Some(&json));
                state.dispatch(Action::Live(Live::Open {
                    room: Rc::new(room.clone()),
                    view: None,
                    connected: false,
                }));
                connect_teacher(&sock, &state, &room);
            }
            Err(e) => state.dispatch(Action::Live(Live::NoServer(format!(
                "The room could not be opened: {e}"
            )))),
        }
    });
}

fn load(source: &Source) -> Option<Result<Deck, String>> {
    match source {
        Source::Shipped(Some(name)) => Some(packs::shipped(name)),
        Source::Shipped(None) => None,
        Source::Link(data) => Some(packs::from_link(data)),
    }
}

#[component(Presenter)]
pub fn presenter(p: &PresenterProps) -> Html {
    let state = {
        let loaded = load(&p.source);
        use_reducer_eq(move || {
            let (deck, load_error) = match loaded {
                Some(Ok(d)) => (Some(Rc::new(d)), None),
                Some(Err(e)) => (None, Some(e)),
                None => (None, None),
            };
            PresState {
                deck,
                load_error,
                index: 0,
                notes: true,
                names: false,
                run_here: false,
                live: Live::Off,
                error: None,
                link_copied: false,
            }
        })
    };
    let sock: Sock = use_mut_ref(|| None);
    use_keys(&state);
    use_room_resume(&state, &sock);
    use_reconnect(&state, &sock);
    let Some(deck) = state.deck.clone() else {
        return picker(&state);
    };
    let slide = &deck.slides[state.index];
    html! {
        <div class="classroom presenter" data-testid="presenter">
            { topbar(&state, &sock, &deck) }
            { steps(&state, &deck) }
            <main class="presenter-main">
                <section class="card slide" data-testid="slide">
                    <p class="slide-section">{ &slide.lesson.section }</p>
                    <h1 data-testid="slide-title">{ &slide.lesson.title }</h1>
                    <div class="slide-narrative">{ paragraphs(&slide.lesson.narrative) }</div>
                    <p class="slide-question" data-testid="slide-question">
                        <strong>{ "Predict: " }</strong>{ &slide.lesson.question }
                        if !slide.unit().is_empty() { <span class="unit">{ format!(" (in {})", slide.unit()) }</span> }
                    </p>
                    { controls(&state, &sock, &deck) }
                    { class_panel(&state, &deck) }
                    if let Some(e) = &state.error {
                        <p class="inline-error" role="alert" data-testid="presenter-error">{ e }</p>
                    }
                    { run_frame(&state, &deck) }
                </section>
                <aside class="presenter-side">
                    if state.notes {
                        <section class="card teacher-notes" data-testid="teacher-notes" aria-label="Teacher notes">
                            <h2>{ "Teacher notes (N hides them before projecting)" }</h2>
                            if slide.notes.trim().is_empty() { <p class="note">{ "No notes for this lesson." }</p> }
                            else { { paragraphs(&slide.notes) } }
                        </section>
                    }
                    { live_card(&state, &sock) }
                    { pack_card(&state, &deck) }
                </aside>
            </main>
        </div>
    }
}

fn paragraphs(text: &str) -> Html {
    let paras = text.split("\n\n").filter(|p| !p.trim().is_empty());
    html! { <>{ for paras.map(|p| html! { <p>{ p.trim() }</p> }) }</> }
}

/// Arrow keys and PageUp/PageDown step (presentation clickers send those), N toggles the notes.
#[hook]
fn use_keys(state: &Handle) {
    let d = state.dispatcher();
    use_effect_with((), move |_| {
        let l = EventListener::new(&gloo::utils::document(), "keydown", move |ev| {
            let Some(ev) = ev.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            let typing = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                });
            if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            match ev.key().as_str() {
                "ArrowRight" | "PageDown" => d.dispatch(Action::Go(1)),
                "ArrowLeft" | "PageUp" => d.dispatch(Action::Go(-1)),
                "n" | "N" => d.dispatch(Action::ToggleNotes),
                _ => {}
            }
        });
        move || drop(l)
    });
}

/// A room opened before a reload: connect to it again.
#[hook]
fn use_room_resume(state: &Handle, sock: &Sock) {
    let (state, sock) = (state.clone(), sock.clone());
    use_effect_with((), move |_| {
        let saved =
            super::session_get(ROOM_KEY).and_then(|j| serde_json::from_str::<RoomInfo>(&j).ok());
        if let Some(room) = saved {
            state.dispatch(Action::Live(Live::Open {
                room: Rc::new(room.clone()),
                view: None,
                connected: false,
            }));
            connect_teacher(&sock, &state, &room);
        }
        || ()
    });
}

/// The teacher's connection dropped (laptop asleep, Wi-Fi): try again
/// every two seconds; the room and its answers wait on the server.
#[hook]
fn use_reconnect(state: &Handle, sock: &Sock) {
    let connected = matches!(
        state.live,
        Live::Open {
            connected: true,
            ..
        }
    );
    let open = matches!(state.live, Live::Open { .. });
    let (state2, sock) = (state.clone(), sock.clone());
    use_effect_with((open, connected), move |&(open, connected)| {
        if !open {
            sock.borrow_mut().take();
            if matches!(state2.live, Live::Ended(_)) {
                super::session_set(ROOM_KEY, None);
            }
        }
        let timer = (open && !connected).then(|| {
            gloo::timers::callback::Interval::new(2_000, move || {
                let idle = sock.borrow().as_ref().map_or(true, Socket::is_closed);
                if let (true, Some(room)) = (idle, state2.room().cloned()) {
                    connect_teacher(&sock, &state2, &room);
                }
            })
        });
        move || drop(timer)
    });
}

fn topbar(state: &Handle, sock: &Sock, deck: &Deck) -> Html {
    let n = deck.slides.len();
    let go = |d: isize| {
        let state = state.clone();
        Callback::from(move |_| state.dispatch(Action::Go(d)))
    };
    let notes = {
        let state = state.clone();
        Callback::from(move |_| state.dispatch(Action::ToggleNotes))
    };
    let live = match &state.live {
        Live::Off | Live::NoServer(_) | Live::Ended(_) => {
            let (state, sock) = (state.clone(), sock.clone());
            let start = Callback::from(move |_| start_live(state.clone(), sock.clone()));
            html! { <button class="btn primary" data-testid="live-start" onclick={start}>{ "Start a live class" }</button> }
        }
        Live::Checking => {
            html! { <span data-testid="live-status" role="status">{ "Opening a room\u{2026}" }</span> }
        }
        Live::Open {
            room,
            view,
            connected,
        } => html! {
            <span class="live-status" data-testid="live-status" role="status">
                <span class={classes!("dot", connected.then_some("on"))} aria-hidden="true"></span>
                { format!("Live: {} \u{00B7} {} joined{}", room.display_code,
                          view.as_ref().map_or(0, |v| v.students.len()),
                          if *connected { "" } else { " (reconnecting\u{2026})" }) }
            </span>
        },
    };
    html! {
        <header class="class-top presenter-top">
            <span class="logo" aria-hidden="true">{ "\u{25E2}" }</span>
            <strong data-testid="deck-title">{ &deck.title }</strong>
            <span class="deck-progress" data-testid="deck-progress">{ format!("Lesson {} of {n}", state.index + 1) }</span>
            <button class="btn" data-testid="deck-prev" disabled={state.index == 0} onclick={go(-1)}>{ "\u{25C0} Previous" }</button>
            <button class="btn" data-testid="deck-next" disabled={state.index + 1 >= n} onclick={go(1)}>{ "Next \u{25B6}" }</button>
            <button class="btn" data-testid="toggle-notes" aria-pressed={state.notes.to_string()} onclick={notes}>{ "Notes (N)" }</button>
            <span class="spacer"></span>
            { live }
        </header>
    }
}

fn steps(state: &Handle, deck: &Deck) -> Html {
    html! {
        <ol class="deck-steps" aria-label="Lessons of this workshop">
            { for deck.slides.iter().enumerate().map(|(i, s)| {
                let state2 = state.clone();
                let onclick = Callback::from(move |_| state2.dispatch(Action::GoTo(i)));
                html! {
                    <li class={classes!((i == state.index).then_some("current"), (i < state.index).then_some("done"))}>
                        <button data-testid={format!("deck-step-{i}")} aria-current={(i == state.index).then_some("step")}
                                {onclick}>{ format!("{}. {}", i + 1, s.lesson.title) }</button>
                    </li>
                }
            }) }
        </ol>
    }
}

/// The question open on the server is this slide's.
fn asked_here(state: &PresState, deck: &Deck) -> bool {
    let slide = &deck.slides[state.index];
    state
        .view()
        .and_then(|v| v.question.as_ref())
        .is_some_and(|q| q.index as usize == state.index + 1 && q.lesson_id == slide.lesson.id)
}

fn controls(state: &Handle, sock: &Sock, deck: &Deck) -> Html {
    let slide = &deck.slides[state.index];
    let msg = |m: ClientMsg| {
        let sock = sock.clone();
        Callback::from(move |_| send(&sock, m.clone()))
    };
    let run_here = |on: bool| {
        let state = state.clone();
        Callback::from(move |_| state.dispatch(Action::RunHere(on)))
    };
    let Some(view) = state.view() else {
        return html! {
            <div class="slide-controls">
                if state.run_here {
                    <button class="btn" data-testid="run-local" onclick={run_here(false)}>{ "Hide the run" }</button>
                } else {
                    <button class="btn primary" data-testid="run-local" onclick={run_here(true)}>{ "Run the lesson" }</button>
                }
            </div>
        };
    };
    let here = asked_here(state, deck);
    let phase = if here { view.phase } else { Phase::Lobby };
    let ask = msg(ClientMsg::Open {
        question: slide.question(state.index, deck.slides.len()),
    });
    html! {
        <div class="slide-controls">
            <button class={classes!("btn", (phase == Phase::Lobby).then_some("primary"))} data-testid="ask"
                    disabled={!slide.asks()} onclick={ask}
                    title="Opens this lesson's question on every student's page (again: a second round)">
                { if here { "Ask again" } else { "Ask the class" } }</button>
            <button class="btn" data-testid="close-answers" disabled={phase != Phase::Asking}
                    onclick={msg(ClientMsg::Close {})}>{ "Close answers" }</button>
            <button class={classes!("btn", matches!(phase, Phase::Asking | Phase::Closed).then_some("primary"))}
                    data-testid="reveal" disabled={!matches!(phase, Phase::Asking | Phase::Closed)}
                    onclick={msg(ClientMsg::Reveal {})}>{ "Reveal" }</button>
            if here && view.run_link.is_some() {
                <button class="btn" data-testid="stop-run" onclick={msg(ClientMsg::StopRun {})}>{ "Stop the run" }</button>
            } else {
                <button class="btn" data-testid="run-all" disabled={!here} onclick={msg(ClientMsg::Run {})}>
                    { "Run the lesson for all" }</button>
            }
        </div>
    }
}

fn answer_text(status: &AnswerStatus, unit: &str) -> String {
    match status {
        AnswerStatus::Ready { answer: a } => format!(
            "Simulated answer: {} (mean of {} seeded runs, from {} to {})",
            with_unit(a.mean, unit),
            a.seeds,
            with_unit(a.min, unit),
            with_unit(a.max, unit)
        ),
        AnswerStatus::Failed { message } => format!("The simulation could not answer: {message}"),
        AnswerStatus::Computing => {
            "Measuring the answer (the simulation runs on the server)\u{2026}".into()
        }
        AnswerStatus::None => String::new(),
    }
}

fn class_panel(state: &Handle, deck: &Deck) -> Html {
    let Some(view) = state.view() else {
        return html! {};
    };
    if !asked_here(state, deck) {
        let other = view.question.as_ref().map(|q| format!(
            "The class last answered lesson {} ({}). \u{201c}Ask the class\u{201d} opens this one's question.",
            q.index, q.title));
        return html! { if let Some(o) = other { <p class="note" data-testid="class-elsewhere">{ o }</p> } };
    }
    let unit = deck.slides[state.index].unit();
    let revealed = view.phase == Phase::Revealed;
    let answer = match (&view.answer, revealed) {
        (AnswerStatus::Ready { answer }, true) => Some(answer.mean),
        _ => None,
    };
    let phase = match view.phase {
        Phase::Asking => "taking answers",
        Phase::Closed => "answers closed",
        Phase::Revealed => "revealed",
        Phase::Lobby => "",
    };
    html! {
        <div class="class-panel" data-testid="class-panel" data-phase={phase}>
            <p class="class-count">
                <strong data-testid="answered-count">{ view.answered }</strong>
                { format!(" of {} answered \u{00B7} {phase}", view.students.len()) }
            </p>
            <ClassHistogram histogram={view.histogram.clone()} unit={unit.clone()} answer={answer}
                            of={Some(view.students.len() as u32)} />
            if revealed {
                <p class="class-answer" data-testid="class-answer"><strong>{ answer_text(&view.answer, &unit) }</strong></p>
            } else if matches!(view.answer, AnswerStatus::Ready { .. }) {
                <p class="note" data-testid="answer-ready">{ "The simulated answer is ready: reveal it when the class has committed." }</p>
            } else {
                <p class="note">{ answer_text(&view.answer, &unit) }</p>
            }
        </div>
    }
}

fn run_frame(state: &Handle, deck: &Deck) -> Html {
    let slide = &deck.slides[state.index];
    let for_all = asked_here(state, deck) && state.view().is_some_and(|v| v.run_link.is_some());
    if !(state.run_here || for_all) {
        return html! {};
    }
    html! {
        <div class="presenter-run">
            <iframe data-testid="presenter-run" src={slide.run_link(false)}
                    title="The lesson, running in the simulator"></iframe>
            <a class="note" href={slide.run_link(false)} target="_blank" rel="noopener">{ "Open the full sandbox in a new tab" }</a>
        </div>
    }
}

fn live_card(state: &Handle, sock: &Sock) -> Html {
    match &state.live {
        Live::NoServer(msg) | Live::Ended(msg) => html! {
            <section class="card" data-testid="live-note" role="status"><p>{ msg }</p></section>
        },
        Live::Open { room, view, .. } => {
            let qr = format!(
                "data:image/svg+xml;charset=utf-8,{}",
                super::percent_encode(&room.qr_svg)
            );
            html! {
                <>
                    <section class="card join-card" data-testid="join-card">
                        <h2>{ "Join the class" }</h2>
                        <p class="join-code-big" data-testid="join-code-big">{ &room.display_code }</p>
                        if !room.qr_svg.is_empty() {
                            <img data-testid="join-qr" src={qr} alt={format!("QR code of {}", room.join_url)} width="220" height="220" />
                        }
                        <p class="join-url" data-testid="join-url">{ &room.join_url }</p>
                        if !room.lan {
                            <p class="note" data-testid="lan-hint">{ "Only this computer can reach this server. For phones on this network, restart it with `cargo xtask serve --classroom --host 0.0.0.0`." }</p>
                        }
                        <p data-testid="joined-count">{ format!("{} joined", view.as_ref().map_or(0, |v| v.students.len())) }</p>
                    </section>
                    { roster(state, sock) }
                    { room_actions(state, sock, room) }
                </>
            }
        }
        Live::Off | Live::Checking => html! {},
    }
}

fn roster(state: &Handle, sock: &Sock) -> Html {
    let Some(view) = state.view() else {
        return html! {};
    };
    let toggle = {
        let state = state.clone();
        Callback::from(move |_| state.dispatch(Action::ToggleNames))
    };
    html! {
        <section class="card roster" data-testid="roster">
            <button class="btn small" data-testid="roster-toggle" aria-expanded={state.names.to_string()} onclick={toggle}>
                { if state.names { "Hide names" } else { "Show names" } }</button>
            if state.names {
                <ul>
                    { for view.students.iter().map(|s| {
                        let sock = sock.clone();
                        let id = s.id;
                        let kick = Callback::from(move |_| send(&sock, ClientMsg::Kick { student: id }));
                        html! {
                            <li class={classes!((!s.online).then_some("away"))} data-testid="roster-entry">
                                <span class="nick">{ &s.nickname }</span>
                                if s.answered { <span class="tick" aria-label="answered">{ "\u{2714}" }</span> }
                                <button class="btn small" data-testid={format!("kick-{id}")}
                                        title="Remove from the room (a rude nickname)" onclick={kick}>{ "Remove" }</button>
                            </li>
                        }
                    }) }
                </ul>
            }
        </section>
    }
}

fn room_actions(state: &Handle, sock: &Sock, room: &RoomInfo) -> Html {
    let export = {
        let (state, room) = (state.clone(), room.clone());
        Callback::from(move |_| {
            let (state, room) = (state.clone(), room.clone());
            yew::platform::spawn_local(async move {
                let path = format!("/api/rooms/{}/answers.csv", room.code);
                match net::fetch("GET", &path, Some(&room.token)).await {
                    Ok((200, csv)) => {
                        let name = format!("tailsim-class-{}.csv", room.code);
                        if let Err(e) = save(&name, &csv) {
                            state.dispatch(Action::Error(Some(format!("export: {e}"))));
                        }
                    }
                    Ok((status, body)) => {
                        state.dispatch(Action::Error(Some(net::api_error(status, &body))))
                    }
                    Err(e) => state.dispatch(Action::Error(Some(e))),
                }
            });
        })
    };
    let end = {
        let sock = sock.clone();
        Callback::from(move |_| {
            let sure = gloo::utils::window()
                .confirm_with_message("End the class? Its answers are deleted (export them first).")
                .unwrap_or(false);
            if sure {
                send(&sock, ClientMsg::End {});
            }
        })
    };
    html! {
        <section class="card room-actions">
            <button class="btn" data-testid="export-csv" onclick={export}>{ "Export answers (CSV)" }</button>
            <button class="btn danger" data-testid="end-class" onclick={end}>{ "End the class" }</button>
            <p class="note">{ "Rooms live in the server's memory only and expire; nothing is kept after." }</p>
        </section>
    }
}

/// Saves a download (in the browser; natively there is nowhere to save).
fn save(name: &str, text: &str) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    return crate::export::download(name, "text/csv", text.as_bytes());
    #[cfg(not(target_arch = "wasm32"))]
    return Err(format!(
        "{name}: downloads need a browser ({} bytes)",
        text.len()
    ));
}

fn pack_card(state: &Handle, deck: &Deck) -> Html {
    let copy = {
        let (state, fragment) = (state.clone(), packs::link_fragment(deck));
        Callback::from(move |_| {
            let href = gloo::utils::window().location().href().unwrap_or_default();
            let base = href.split(['?', '#']).next().unwrap_or("").to_string();
            let link = format!("{base}{fragment}");
            let _ = gloo::utils::window()
                .navigator()
                .clipboard()
                .write_text(&link);
            state.dispatch(Action::LinkCopied);
        })
    };
    html! {
        <section class="card pack-card">
            <p class="note">{ &deck.description }</p>
            <button class="btn small" data-testid="pack-link" onclick={copy}>
                { if state.link_copied { "Link copied" } else { "Copy this workshop's link" } }</button>
        </section>
    }
}

/// No pack yet: the shipped ones, or files from this computer.
fn picker(state: &Handle) -> Html {
    let onchange = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(list) = input.files() else { return };
            let files: Vec<web_sys::File> =
                (0..list.length()).filter_map(|i| list.item(i)).collect();
            let state = state.clone();
            yew::platform::spawn_local(async move {
                state.dispatch(Action::Loaded(read_files(files).await));
            });
        })
    };
    html! {
        <div class="classroom presenter" data-testid="presenter">
            <header class="class-top"><span class="logo" aria-hidden="true">{ "\u{25E2}" }</span>
                <strong>{ "tailsim workshops" }</strong></header>
            <section class="card class-card pack-picker" data-testid="pack-picker">
                <h1>{ "Choose a workshop" }</h1>
                <ul>
                    { for packs::SHIPPED.iter().map(|(name, text)| {
                        let title = sim_core::workshop::Pack::from_toml_str(text).map(|p| p.title).unwrap_or_default();
                        html! { <li><a href={format!("?workshop={name}")}>{ title }</a></li> }
                    }) }
                </ul>
                <label for="pack-file">{ "Or open a pack file (choose its lesson files with it)" }</label>
                <input id="pack-file" data-testid="pack-file" type="file" accept=".toml" multiple=true {onchange} />
                if let Some(e) = &state.load_error {
                    <pre class="inline-error" role="alert" data-testid="pack-error">{ e }</pre>
                }
            </section>
        </div>
    }
}

/// Reads the chosen files: the one that is a pack, and the rest as its
/// lesson files (matched by file name, wherever the pack says they are).
async fn read_files(files: Vec<web_sys::File>) -> Result<Deck, String> {
    let mut texts = Vec::new();
    for f in files {
        if f.size() > 1_000_000.0 {
            return Err(format!(
                "{}: larger than 1 MB, not a workshop file",
                f.name()
            ));
        }
        let t = wasm_bindgen_futures::JsFuture::from(f.text())
            .await
            .map_err(|_| format!("{}: cannot be read", f.name()))?;
        texts.push((f.name(), t.as_string().unwrap_or_default()));
    }
    let (pack_name, pack) = texts
        .iter()
        .find(|(_, t)| sim_core::workshop::Pack::from_toml_str(t).is_ok())
        .cloned()
        .ok_or_else(|| match texts.first() {
            Some((name, t)) => match sim_core::workshop::Pack::from_toml_str(t) {
                Err(e) => format!("{name}: {e}"),
                Ok(_) => unreachable!(),
            },
            None => "choose a workshop pack file".into(),
        })?;
    let wanted = sim_core::workshop::Pack::from_toml_str(&pack)
        .map(|p| {
            p.lessons
                .into_iter()
                .filter_map(|l| l.file)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut files = BTreeMap::new();
    for path in wanted {
        let base = path.rsplit('/').next().unwrap_or(&path).to_string();
        if let Some((_, t)) = texts.iter().find(|(n, _)| *n == base && *n != pack_name) {
            files.insert(path, t.clone());
        }
    }
    packs::deck(&pack, files)
}

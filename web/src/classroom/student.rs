//! The student's page (`?join=CODE`): join with the code and a nickname,
//! wait for the teacher's question, commit a prediction (changeable until
//! the answers close), then see the simulated answer beside the class's
//! distribution, and the lesson running when the teacher runs it for all.
//! A phone that sleeps comes back to the same seat (the seat's token is in
//! the tab's session storage).
//!
//! Test ids: `student-page`, `join-form`, `join-code`, `join-nickname`,
//! `join-submit`, `join-error`, `student-status`, `student-waiting`,
//! `student-question`, `student-input`, `student-submit`, `student-error`,
//! `student-mine`, `student-closed`, `student-answer`, `student-verdict`
//! (with `data-verdict`), `student-run`, `student-gone`, `student-rejoin`.

use std::cell::RefCell;
use std::rc::Rc;

use classroom::protocol::{
    check_nickname, format_code, normalise_code, AnswerStatus, ClientMsg, Phase, Role, RoomView,
    ServerMsg,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::chart::ClassHistogram;
use super::net::{Socket, SocketEvent};
use crate::teach::{compare_guess, parse_guess, with_unit};

#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    Form,
    Connecting { again: bool },
    In,
    Gone(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StudentState {
    pub stage: Stage,
    pub error: Option<String>,
    pub code: String,
    pub nickname: String,
    pub token: Option<String>,
    pub view: Option<RoomView>,
    /// The student's recorded prediction: (question seq, value).
    pub mine: Option<(u32, f64)>,
}

pub enum Action {
    Joining {
        code: String,
        nickname: String,
        again: bool,
    },
    Socket(SocketEvent),
    Error(String),
    Reset,
}

fn seat_key(code: &str) -> String {
    format!("tailsim-seat-{code}")
}

impl Reducible for StudentState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Joining {
                code,
                nickname,
                again,
            } => {
                s.code = code;
                s.nickname = nickname;
                s.error = None;
                s.stage = Stage::Connecting { again };
            }
            Action::Error(e) => {
                s.error = Some(e);
                if !matches!(s.stage, Stage::In) {
                    s.stage = Stage::Form;
                }
            }
            Action::Reset => {
                s.stage = Stage::Form;
                s.view = None;
                s.mine = None;
                s.token = None;
            }
            Action::Socket(ev) => s.on_socket(ev),
        }
        Rc::new(s)
    }
}

impl StudentState {
    fn new(code: Option<String>) -> StudentState {
        StudentState {
            stage: Stage::Form,
            error: None,
            code: code.unwrap_or_default(),
            nickname: String::new(),
            token: None,
            view: None,
            mine: None,
        }
    }

    fn on_socket(&mut self, ev: SocketEvent) {
        match ev {
            SocketEvent::Open => {}
            SocketEvent::Msg(m) => self.on_message(m),
            SocketEvent::Closed => {
                if matches!(self.stage, Stage::In) {
                    self.stage = Stage::Connecting { again: true };
                } else if matches!(self.stage, Stage::Connecting { again: false }) {
                    self.stage = Stage::Form;
                    self.error
                        .get_or_insert_with(|| "the classroom server cannot be reached".into());
                }
            }
        }
    }

    fn on_message(&mut self, m: ServerMsg) {
        match m {
            ServerMsg::Welcome {
                role: Role::Student,
                nickname,
                token,
                ..
            } => {
                self.stage = Stage::In;
                self.error = None;
                self.nickname = nickname.unwrap_or_default();
                self.token = token;
            }
            ServerMsg::Room { view } => {
                if self
                    .mine
                    .is_some_and(|(seq, _)| view.question.as_ref().map(|q| q.seq) != Some(seq))
                {
                    self.mine = None;
                }
                self.view = Some(view);
            }
            ServerMsg::Ack { seq, value } => self.mine = Some((seq, value)),
            ServerMsg::Error { message, .. } => self.error = Some(message),
            ServerMsg::Closed { message, .. } => {
                if matches!(self.stage, Stage::In) {
                    self.stage = Stage::Gone(message);
                } else {
                    self.stage = Stage::Form;
                }
                self.token = None;
            }
            _ => {}
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct StudentProps {
    /// The code from the link, if it had one.
    pub code: Option<String>,
}

/// The socket and the hello it sends once open.
#[derive(Default)]
struct Link {
    socket: Option<Socket>,
    hello: Option<ClientMsg>,
}

fn connect(link: &Rc<RefCell<Link>>, state: &UseReducerHandle<StudentState>, hello: ClientMsg) {
    let on_event = {
        let link = link.clone();
        let d = state.dispatcher();
        Callback::from(move |ev: SocketEvent| {
            if ev == SocketEvent::Open {
                let l = link.borrow();
                if let (Some(s), Some(h)) = (&l.socket, &l.hello) {
                    s.send(h);
                }
            }
            d.dispatch(Action::Socket(ev));
        })
    };
    let mut l = link.borrow_mut();
    l.hello = Some(hello);
    l.socket = None;
    match Socket::open(on_event) {
        Ok(s) => l.socket = Some(s),
        Err(e) => state.dispatch(Action::Error(format!("cannot connect: {e}"))),
    }
}

#[component(StudentPage)]
pub fn student_page(p: &StudentProps) -> Html {
    let state = {
        let code = p.code.clone();
        use_reducer_eq(move || StudentState::new(code))
    };
    let link = use_mut_ref(Link::default);
    // A seat kept from before a reload: rejoin it at once.
    {
        let (state, link) = (state.clone(), link.clone());
        let code = p.code.as_deref().and_then(|c| normalise_code(c).ok());
        use_effect_with((), move |_| {
            if let Some(code) = code {
                if let Some(token) = super::session_get(&seat_key(&code)) {
                    state.dispatch(Action::Joining {
                        code: code.clone(),
                        nickname: String::new(),
                        again: true,
                    });
                    connect(&link, &state, ClientMsg::Rejoin { code, token });
                }
            }
            || ()
        });
    }
    // Keep the seat's token; on a lost connection, come back.
    {
        let (state2, link) = (state.clone(), link.clone());
        use_effect_with(
            (state.stage.clone(), state.token.clone()),
            move |(stage, token)| {
                let code = state2.code.clone();
                if let Some(t) = token {
                    super::session_set(&seat_key(&code), Some(t));
                }
                if let Stage::Gone(_) = stage {
                    super::session_set(&seat_key(&code), None);
                    link.borrow_mut().socket = None;
                }
                let retry = match stage {
                    Stage::Connecting { again: true } => super::session_get(&seat_key(&code)),
                    _ => None,
                };
                let timer = retry.map(|token| {
                    let (state, link) = (state2.clone(), link.clone());
                    gloo::timers::callback::Interval::new(1_500, move || {
                        // Dropping a socket that is still connecting logs an error.
                        let idle = link
                            .borrow()
                            .socket
                            .as_ref()
                            .map_or(true, Socket::is_closed);
                        if idle {
                            let (code, token) = (code.clone(), token.clone());
                            connect(&link, &state, ClientMsg::Rejoin { code, token });
                        }
                    })
                });
                move || drop(timer)
            },
        );
    }
    let body = match &state.stage {
        Stage::Form => join_form(&state, &link),
        Stage::Connecting { again } => html! {
            <p class="class-status" data-testid="student-status" role="status">
                { if *again { "Connection lost: coming back to your seat\u{2026}" } else { "Joining\u{2026}" } }
            </p>
        },
        Stage::In => in_room(&state, &link),
        Stage::Gone(msg) => {
            let reset = {
                let state = state.clone();
                Callback::from(move |_| state.dispatch(Action::Reset))
            };
            html! {
                <section class="card class-card" data-testid="student-gone" role="status">
                    <p>{ msg }</p>
                    <button class="btn primary" data-testid="student-rejoin" onclick={reset}>{ "Join a class" }</button>
                </section>
            }
        }
    };
    html! {
        <div class="classroom student-page" data-testid="student-page">
            <header class="class-top">
                <span class="logo" aria-hidden="true">{ "\u{25E2}" }</span>
                <strong>{ "tailsim class" }</strong>
                if matches!(state.stage, Stage::In) {
                    <span class="class-who">{ format!("{} \u{00B7} you are ", format_code(&state.code)) }
                        <strong data-testid="student-nickname">{ &state.nickname }</strong></span>
                }
            </header>
            { body }
        </div>
    }
}

fn join_form(state: &UseReducerHandle<StudentState>, link: &Rc<RefCell<Link>>) -> Html {
    let code_ref = NodeRef::default();
    let nick_ref = NodeRef::default();
    let onsubmit = {
        let (state, link) = (state.clone(), link.clone());
        let (code_ref, nick_ref) = (code_ref.clone(), nick_ref.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let read = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let checked = normalise_code(&read(&code_ref))
                .and_then(|c| check_nickname(&read(&nick_ref)).map(|n| (c, n)));
            match checked {
                Ok((code, nickname)) => {
                    state.dispatch(Action::Joining {
                        code: code.clone(),
                        nickname: nickname.clone(),
                        again: false,
                    });
                    connect(&link, &state, ClientMsg::Join { code, nickname });
                }
                Err(m) => state.dispatch(Action::Error(m)),
            }
        })
    };
    html! {
        <form class="card class-card join-form" data-testid="join-form" {onsubmit}>
            <h1>{ "Join the class" }</h1>
            <label for="join-code">{ "Code (on the projector)" }</label>
            <input id="join-code" data-testid="join-code" ref={code_ref} value={format_code(&state.code)}
                   autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="ABCD-EFGH" />
            <label for="join-nickname">{ "Your nickname (the class sees it)" }</label>
            <input id="join-nickname" data-testid="join-nickname" ref={nick_ref} maxlength="24"
                   autocomplete="nickname" placeholder="e.g. Ada" />
            if let Some(e) = &state.error {
                <p class="inline-error" role="alert" data-testid="join-error">{ e }</p>
            }
            <button class="btn primary" type="submit" data-testid="join-submit">{ "Join" }</button>
        </form>
    }
}

fn in_room(state: &UseReducerHandle<StudentState>, link: &Rc<RefCell<Link>>) -> Html {
    let Some(view) = &state.view else {
        return html! { <p class="class-status" role="status">{ "In the room\u{2026}" }</p> };
    };
    let question = match (&view.question, view.phase) {
        (None, _) | (_, Phase::Lobby) => html! {
            <section class="card class-card" data-testid="student-waiting" role="status">
                <p>{ "You are in. The teacher's first question will appear here." }</p>
                <p class="note">{ format!("{} in the room", view.students) }</p>
            </section>
        },
        (Some(q), phase) => {
            let mine = state.mine.filter(|(seq, _)| *seq == q.seq).map(|(_, v)| v);
            html! {
                <section class="card class-card" data-testid="student-question">
                    <p class="class-progress">{ format!("Lesson {} of {}", q.index, q.of) }</p>
                    <h1>{ &q.title }</h1>
                    <p class="class-question">{ &q.question }</p>
                    if phase == Phase::Asking {
                        { predict_form(state, link, q.seq, &q.unit, mine) }
                    } else if phase == Phase::Closed {
                        <p data-testid="student-closed" role="status">{ "Answers are closed: the reveal is next." }</p>
                    }
                    if let Some(v) = mine {
                        <p class="class-mine" data-testid="student-mine">
                            { "Your prediction: " }<strong>{ with_unit(v, &q.unit) }</strong>
                            if phase == Phase::Asking { { " (you can change it until the answers close)" } }
                        </p>
                    }
                    if phase == Phase::Revealed { { revealed(view, &q.unit, mine) } }
                </section>
            }
        }
    };
    html! {
        <>
            { question }
            if let Some(e) = &state.error {
                <p class="inline-error" role="alert" data-testid="student-error">{ e }</p>
            }
            if let Some(src) = &view.run_link {
                <iframe class="class-run" data-testid="student-run" src={src.clone()}
                        title="The lesson, running in the simulator" loading="lazy"></iframe>
            }
        </>
    }
}

fn predict_form(
    state: &UseReducerHandle<StudentState>,
    link: &Rc<RefCell<Link>>,
    seq: u32,
    unit: &str,
    mine: Option<f64>,
) -> Html {
    let input = NodeRef::default();
    let onsubmit = {
        let (state, link, input, unit) =
            (state.clone(), link.clone(), input.clone(), unit.to_string());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            match parse_guess(&text, &unit) {
                Ok(value) => {
                    if let Some(s) = &link.borrow().socket {
                        s.send(&ClientMsg::Predict { seq, value });
                    }
                }
                Err(m) => state.dispatch(Action::Error(m)),
            }
        })
    };
    html! {
        <form class="class-predict" {onsubmit}>
            <label for="student-input">{ "Your prediction" }</label>
            <div class="class-predict-row">
                <input id="student-input" data-testid="student-input" ref={input} inputmode="decimal"
                       autocomplete="off" placeholder={if mine.is_some() { "change it" } else { "a number" }} />
                if !unit.is_empty() { <span class="unit">{ unit }</span> }
                <button class="btn primary" type="submit" data-testid="student-submit">
                    { if mine.is_some() { "Change" } else { "Commit" } }</button>
            </div>
        </form>
    }
}

fn revealed(view: &RoomView, unit: &str, mine: Option<f64>) -> Html {
    let answer = match &view.answer {
        Some(AnswerStatus::Ready { answer }) => Some(answer),
        _ => None,
    };
    let text = match &view.answer {
        Some(AnswerStatus::Ready { answer: a }) => format!(
            "Simulated answer: {} (mean of {} seeded runs, from {} to {})",
            with_unit(a.mean, unit),
            a.seeds,
            with_unit(a.min, unit),
            with_unit(a.max, unit)
        ),
        Some(AnswerStatus::Failed { message }) => {
            format!("The simulation could not answer: {message}")
        }
        _ => "The simulation is still measuring the answer\u{2026}".into(),
    };
    let verdict = match (mine, answer) {
        (Some(g), Some(a)) => Some(compare_guess(g, a.mean).verdict),
        _ => None,
    };
    html! {
        <div class="class-reveal">
            <p class="class-answer" data-testid="student-answer"><strong>{ text }</strong></p>
            if let Some(v) = verdict {
                <p data-testid="student-verdict" data-verdict={v.key()}>{ v.text() }</p>
            }
            if let Some(h) = &view.histogram {
                <ClassHistogram histogram={h.clone()} unit={unit.to_string()}
                                answer={answer.map(|a| a.mean)} mine={mine} of={Some(view.students)} />
            }
        </div>
    }
}

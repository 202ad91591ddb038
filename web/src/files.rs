//! Files the user opens or drops onto the page: a scenario (TOML or JSON)
//! or a lesson they wrote (TOML), read in the browser and handed to the
//! reducer as `Action::OpenFile`, which validates it with the CLI's own
//! messages (the scenario's field path, the lesson's field). What a file
//! is, is read from the text, not its name: a lesson has a `question`.
//!
//! The choice is pure and tested natively; reading a `File` and watching
//! drops are browser-only.

/// Files over this size are refused before they are read (the CLI's cap).
pub const MAX_FILE_BYTES: f64 = 4.0 * 1024.0 * 1024.0;

/// What an opened file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Scenario,
    Lesson,
}

/// A lesson is TOML with a top-level `question` or `claims` (or, when the
/// TOML does not parse, a line that starts one, so its syntax error is
/// reported as the lesson's); anything else is read as a scenario (and
/// errors, if any, are the scenario's).
pub fn kind_of(text: &str) -> FileKind {
    let lesson = match toml::from_str::<toml::Table>(text) {
        Ok(t) => t.contains_key("question") || t.contains_key("claims"),
        Err(_) => text.lines().map(str::trim_start).any(|l| {
            l.starts_with("[[claims]]")
                || l.strip_prefix("question")
                    .is_some_and(|r| r.trim_start().starts_with('='))
        }),
    };
    if lesson {
        FileKind::Lesson
    } else {
        FileKind::Scenario
    }
}

#[cfg(target_arch = "wasm32")]
pub use browser::{watch_drops, OpenFileButton};

#[cfg(target_arch = "wasm32")]
mod browser {
    use gloo::events::{EventListener, EventListenerOptions};
    use wasm_bindgen::JsCast;
    use yew::prelude::*;

    use super::MAX_FILE_BYTES;
    use crate::state::Action;

    /// Reads `file` and hands it to the reducer (or why it cannot be read).
    pub fn read(file: web_sys::File, dispatch: Callback<Action>) {
        let name = file.name();
        if file.size() > MAX_FILE_BYTES {
            let mib = file.size() / 1024.0 / 1024.0;
            dispatch.emit(Action::OpenFile {
                name,
                text: Err(format!("{mib:.1} MiB: files are read up to 4 MiB")),
            });
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|t| t.as_string())
                .ok_or_else(|| "not readable as text (UTF-8)".to_string());
            dispatch.emit(Action::OpenFile { name, text });
        });
    }

    /// A file dropped anywhere on the page opens (the browser would
    /// otherwise navigate away to it). Keep the listeners alive while the
    /// page is.
    pub fn watch_drops(dispatch: Callback<Action>) -> [EventListener; 2] {
        let win = gloo::utils::window();
        let opts = EventListenerOptions::enable_prevent_default();
        // Only drags that carry files: text dragged within the page (the
        // editor's) keeps its default behaviour.
        let files = |ev: &Event| {
            ev.dyn_ref::<web_sys::DragEvent>()
                .and_then(|d| d.data_transfer())
                .filter(|t| t.types().includes(&"Files".into(), 0))
        };
        let over = EventListener::new_with_options(&win, "dragover", opts, move |ev| {
            if files(ev).is_some() {
                ev.prevent_default();
            }
        });
        let drop = EventListener::new_with_options(&win, "drop", opts, move |ev| {
            let Some(t) = files(ev) else {
                return;
            };
            ev.prevent_default();
            if let Some(f) = t.files().and_then(|f| f.get(0)) {
                read(f, dispatch.clone());
            }
        });
        [over, drop]
    }

    #[derive(Properties, PartialEq)]
    pub struct OpenFileProps {
        pub dispatch: Callback<Action>,
    }

    /// "Open file…": a button and its hidden file input.
    #[component(OpenFileButton)]
    pub fn open_file_button(p: &OpenFileProps) -> Html {
        let input = use_node_ref();
        let onclick = {
            let input = input.clone();
            Callback::from(move |_: MouseEvent| {
                if let Some(i) = input.cast::<web_sys::HtmlInputElement>() {
                    i.click();
                }
            })
        };
        let onchange = {
            let dispatch = p.dispatch.clone();
            Callback::from(move |e: Event| {
                let i: web_sys::HtmlInputElement = e.target_unchecked_into();
                if let Some(f) = i.files().and_then(|f| f.get(0)) {
                    read(f, dispatch.clone());
                }
                // The same file chosen again opens again.
                i.set_value("");
            })
        };
        html! {
            <>
                <button type="button" class="btn small" id="open-file-button" {onclick}
                    title="Open a scenario (TOML or JSON) or a lesson you wrote (TOML) from a file; you can also drop one onto the page">
                    { "Open file…" }</button>
                <input ref={input} id="open-file" data-testid="open-file" type="file" hidden=true
                    accept=".toml,.json,application/json,application/toml,text/plain" {onchange} />
            </>
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lesson_has_a_question_everything_else_is_a_scenario() {
        let lesson = "id = \"MINE\"\ntitle = \"t\"\nquestion = \"q?\"\nnarrative = \"n\"\n";
        assert_eq!(kind_of(lesson), FileKind::Lesson);
        assert_eq!(kind_of("claims = []\n"), FileKind::Lesson);
        let mm1 = include_str!("../../assets/scenarios/mm1.toml");
        assert_eq!(kind_of(mm1), FileKind::Scenario);
        // JSON and broken text are scenarios: their errors are the scenario's,
        assert_eq!(kind_of("{\"version\": 1}"), FileKind::Scenario);
        assert_eq!(kind_of("nodes = ["), FileKind::Scenario);
        // unless the broken text is plainly a lesson.
        assert_eq!(kind_of("question = \"q?\nclaims = "), FileKind::Lesson);
        assert_eq!(kind_of("id = 1\n[[claims]]\ntext = \""), FileKind::Lesson);
    }
}

/// The reducer's side: what opening a file does to the running page.
#[cfg(test)]
mod opening {
    use crate::share::{self, Route};
    use crate::state::harness::Harness;
    use crate::state::Action;

    /// A lesson written by a user (the README's example, which the
    /// end-to-end test opens too): the N+1 toggle on a shipped scenario,
    /// with a question and a claim of its own.
    const MINE: &str = include_str!("../../docs/examples/MY-N+1.toml");

    /// Leaves the page's registry of user lessons as it found it (the
    /// registry is per thread; tests may share one).
    struct Clean;
    impl Drop for Clean {
        fn drop(&mut self) {
            crate::lessons::forget_user_lessons();
        }
    }

    fn open(h: &mut Harness, name: &str, text: &str) {
        h.act(Action::OpenFile {
            name: name.into(),
            text: Ok(text.into()),
        });
    }

    #[test]
    fn a_lesson_file_opens_as_a_lesson_listed_under_your_lessons() {
        let _clean = Clean;
        let mut h = Harness::default();
        open(&mut h, "mine.toml", MINE);
        assert_eq!(h.st.scenario_error, None);
        assert_eq!(h.st.lesson.as_ref().map(|l| l.id.as_str()), Some("MY-N+1"));
        let sections = crate::lessons::sections();
        let last = sections.last().unwrap();
        assert_eq!(last.title, crate::lessons::USER_SECTION);
        assert!(last.lessons.iter().any(|l| l.id == "MY-N+1"));
        // Its link carries its text, and reopens it in a fresh page.
        let p = h.st.share_payload();
        assert_eq!(p.lesson_text.as_deref(), Some(MINE));
        let address = crate::persist::address_for("http://h/", &p);
        assert!(address.starts_with("http://h/#s=1."), "{address}");
        match share::parse_route(&address).route {
            Route::Shared(back) => assert_eq!(back, p),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn a_shipped_lesson_keeps_its_short_link() {
        let mut h = Harness::default();
        h.act(Action::OpenLesson("DATA-N+1".into()));
        let p = h.st.share_payload();
        assert_eq!(p.lesson_text, None);
        assert_eq!(
            crate::persist::address_for("http://h/", &p),
            "http://h/?lesson=DATA-N%2B1"
        );
    }

    #[test]
    fn a_bad_lesson_names_the_file_and_the_field_and_changes_nothing() {
        let _clean = Clean;
        let mut h = Harness::default();
        let bad = MINE.replace("seeds = 10", "seeds = \"ten\"");
        open(&mut h, "mine.toml", &bad);
        let e = h.st.scenario_error.clone().unwrap();
        assert!(e.starts_with("mine.toml: lesson: seeds"), "{e}");
        assert_eq!(h.st.lesson, None);
        assert_eq!(h.st.scenario_id, "mmc.toml");
        // A shipped lesson's id is not the user's to take.
        open(&mut h, "n1.toml", &MINE.replace("MY-N+1", "DATA-N+1"));
        let e = h.st.scenario_error.clone().unwrap();
        assert!(e.contains("id: \"DATA-N+1\" is a shipped lesson"), "{e}");
        // A toggle path the scenario does not have.
        open(&mut h, "x.toml", &MINE.replace("steps[1]", "steps[9]"));
        let e = h.st.scenario_error.clone().unwrap();
        assert!(e.starts_with("x.toml: lesson: scenario: "), "{e}");
    }

    #[test]
    fn a_scenario_file_runs_and_a_broken_one_says_where() {
        let mut h = Harness::default();
        let json = r#"{"version": 1, "name": "from a file", "nodes": {
            "c": {"kind": "source", "target": "s", "arrival": {"process": "poisson", "rate": 5}},
            "s": {"kind": "service", "workers": 2, "service": {"dist": "exponential", "mean_s": 0.1}}}}"#;
        open(&mut h, "mine.json", json);
        assert_eq!(h.st.scenario_error, None);
        assert_eq!(h.st.scenario_id, "file/mine.json");
        h.frames(3, 50.0);
        assert!(h.a().view.arrived > 0);
        open(
            &mut h,
            "bad.toml",
            "version = 1\n[nodes.s]\nkind = \"service\"\nworkers = -2\n",
        );
        let e = h.st.scenario_error.clone().unwrap();
        assert!(e.starts_with("bad.toml: scenario: nodes.s"), "{e}");
        assert_eq!(h.st.scenario_id, "file/mine.json", "the running one stays");
        // A file named like a shipped scenario is not that scenario (it
        // brings none of its toggles).
        let mm1 = include_str!("../../assets/scenarios/mm1.toml");
        open(&mut h, "chain.toml", mm1);
        assert_eq!(h.st.scenario_id, "file/chain.toml");
        assert!(h.st.toggles.is_empty());
        h.act(Action::OpenFile {
            name: "huge.toml".into(),
            text: Err("5.0 MiB: files are read up to 4 MiB".into()),
        });
        let e = h.st.scenario_error.clone().unwrap();
        assert_eq!(e, "huge.toml: 5.0 MiB: files are read up to 4 MiB");
    }
}

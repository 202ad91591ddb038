//! The teaching components in a real browser: the lesson browser opens the
//! lesson that is clicked, filters and moves focus with the keyboard; the
//! lesson panel rejects a guess that is not a number with an inline error,
//! passes a good one up, and shows the answer and claim statuses it is given.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};
use yew::Callback;

use web::lessons::ClaimLive;
use web::teach::{LessonBrowser, LessonBrowserProps, LessonPanel, LessonPanelProps, Phase};

wasm_bindgen_test_configure!(run_in_browser);

fn doc() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh container for one component.
fn root(id: &str) -> Element {
    if let Some(old) = doc().get_element_by_id(id) {
        old.remove();
    }
    let div = doc().create_element("div").unwrap();
    div.set_id(id);
    doc().body().unwrap().append_child(&div).unwrap();
    div
}

fn find(root: &Element, testid: &str) -> Option<HtmlElement> {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .unwrap()
        .map(|e| e.dyn_into().unwrap())
}

fn get(root: &Element, testid: &str) -> HtmlElement {
    find(root, testid).unwrap_or_else(|| panic!("[data-testid={testid}] is missing"))
}

async fn tick() {
    TimeoutFuture::new(30).await;
}

fn type_into(input: &HtmlElement, value: &str) {
    let input: &HtmlInputElement = input.dyn_ref().unwrap();
    input.set_value(value);
    let ev = web_sys::Event::new_with_event_init_dict("input", &{
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        init
    })
    .unwrap();
    input.dispatch_event(&ev).unwrap();
}

fn key(target: &HtmlElement, k: &str) {
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &{
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(k);
        init.set_bubbles(true);
        init.set_cancelable(true);
        init
    })
    .unwrap();
    target.dispatch_event(&ev).unwrap();
}

fn active_testid() -> Option<String> {
    doc().active_element()?.get_attribute("data-testid")
}

/// A lesson browser in a fresh container; the ids it opens are collected.
async fn mount_browser(id: &str) -> (Element, Rc<RefCell<Vec<String>>>) {
    let el = root(id);
    let opened: Rc<RefCell<Vec<String>>> = Rc::default();
    let o = opened.clone();
    yew::Renderer::<LessonBrowser>::with_root_and_props(
        el.clone(),
        LessonBrowserProps {
            on_open: Callback::from(move |id: String| o.borrow_mut().push(id)),
            selected: None,
        },
    )
    .render();
    tick().await;
    (el, opened)
}

#[wasm_bindgen_test]
async fn browser_lists_filters_and_opens_lessons() {
    let (el, opened) = mount_browser("teach-browser-test").await;

    // every lesson is a button, grouped under section headings
    let buttons = el
        .query_selector_all("button.teach-lesson")
        .unwrap()
        .length();
    assert_eq!(buttons as usize, web::lessons::all().len());
    let headings: Vec<String> = {
        let hs = el.query_selector_all("section h3").unwrap();
        (0..hs.length())
            .map(|i| hs.item(i).unwrap().text_content().unwrap())
            .collect()
    };
    assert_eq!(headings.first().map(String::as_str), Some("Theory"));
    assert!(
        headings.contains(&"2. Data layer".to_string()),
        "{headings:?}"
    );

    // a click opens that lesson
    get(&el, "lesson-DATA-N+1").click();
    assert_eq!(*opened.borrow(), vec!["DATA-N+1".to_string()]);

    // the filter narrows the list; Enter opens the first match
    let filter = get(&el, "lesson-filter");
    filter.focus().unwrap();
    type_into(&filter, "stampede");
    tick().await;
    // the box is patched, not replaced: it keeps the focus while typing
    assert!(filter.is_connected(), "the filter box was re-created");
    assert_eq!(active_testid().as_deref(), Some("lesson-filter"));
    assert_eq!(
        el.query_selector_all("button.teach-lesson")
            .unwrap()
            .length(),
        1
    );
    assert!(find(&el, "lesson-CACHE-STAMPEDE").is_some());
    assert!(find(&el, "lesson-DATA-N+1").is_none());
    key(&filter, "Enter");
    assert_eq!(opened.borrow().last().unwrap(), "CACHE-STAMPEDE");

    // nothing matches: says so
    type_into(&filter, "zzz-no-such-lesson");
    tick().await;
    assert_eq!(
        el.query_selector_all("button.teach-lesson")
            .unwrap()
            .length(),
        0
    );
    assert!(el.text_content().unwrap().contains("No lesson matches"));

    // Escape clears; Arrow Down from the filter focuses the first lesson,
    // then moves down; Enter on a button is the browser's click.
    key(&filter, "Escape");
    tick().await;
    assert_eq!(
        buttons,
        el.query_selector_all("button.teach-lesson")
            .unwrap()
            .length()
    );
    filter.focus().unwrap();
    key(&filter, "ArrowDown");
    let first = web::lessons::sections()[0].lessons[0].id.clone();
    let second = web::lessons::sections()[0].lessons[1].id.clone();
    assert_eq!(active_testid(), Some(format!("lesson-{first}")));
    let focused: HtmlElement = doc().active_element().unwrap().dyn_into().unwrap();
    key(&focused, "ArrowDown");
    assert_eq!(active_testid(), Some(format!("lesson-{second}")));
    let focused: HtmlElement = doc().active_element().unwrap().dyn_into().unwrap();
    key(&focused, "ArrowUp");
    assert_eq!(active_testid(), Some(format!("lesson-{first}")));
    el.remove();
}

/// Keys that arrive before the list has caught up with the typing (Yew
/// renders after the event, in slices of about 16 ms; a fast typist, or a
/// busy page, can press Arrow Down or Enter first). Both act on what the
/// box says, and the focus lands on a lesson the list keeps.
#[wasm_bindgen_test]
async fn browser_keys_act_on_the_typed_text_before_the_list_renders() {
    let (el, opened) = mount_browser("teach-browser-fast").await;
    let first_of_all = web::lessons::sections()[0].lessons[0].id.clone();
    let first_retry = web::lessons::filter_sections("retry")[0].lessons[0]
        .id
        .clone();
    // Otherwise the test could not tell a stale list from the right one.
    assert_ne!(first_of_all, first_retry);

    let filter = get(&el, "lesson-filter");
    filter.focus().unwrap();
    // Type and press Arrow Down in the same task: no render in between.
    type_into(&filter, "retry");
    key(&filter, "ArrowDown");
    tick().await;
    assert_eq!(active_testid(), Some(format!("lesson-{first_retry}")));
    assert_eq!(
        el.query_selector("button.teach-lesson")
            .unwrap()
            .and_then(|b| b.get_attribute("data-testid")),
        Some(format!("lesson-{first_retry}"))
    );

    // Escape, then at once Arrow Down: the first of every lesson.
    filter.focus().unwrap();
    key(&filter, "Escape");
    key(&filter, "ArrowDown");
    tick().await;
    assert_eq!(active_testid(), Some(format!("lesson-{first_of_all}")));

    // Type and press Enter in the same task: the typed text's first match.
    filter.focus().unwrap();
    type_into(&filter, "stampede");
    key(&filter, "Enter");
    assert_eq!(
        opened.borrow().last().map(String::as_str),
        Some("CACHE-STAMPEDE")
    );
    el.remove();
}

struct Calls {
    guesses: Rc<RefCell<Vec<f64>>>,
    reveals: Rc<RefCell<u32>>,
    closes: Rc<RefCell<u32>>,
}

fn panel_props(
    phase: Phase,
    guess: Option<f64>,
    answer: Option<f64>,
    claims: Vec<ClaimLive>,
) -> (LessonPanelProps, Calls) {
    let calls = Calls {
        guesses: Rc::default(),
        reveals: Rc::default(),
        closes: Rc::default(),
    };
    let (g, r, c) = (
        calls.guesses.clone(),
        calls.reveals.clone(),
        calls.closes.clone(),
    );
    (
        LessonPanelProps {
            lesson: "DATA-N+1".into(),
            phase,
            guess,
            answer,
            progress: None,
            speed_hint: false,
            claims,
            check: Default::default(),
            on_check: Callback::noop(),
            on_guess: Callback::from(move |x: f64| g.borrow_mut().push(x)),
            on_reveal: Callback::from(move |_| *r.borrow_mut() += 1),
            on_close: Callback::from(move |_| *c.borrow_mut() += 1),
        },
        calls,
    )
}

#[wasm_bindgen_test]
async fn panel_validates_the_guess_and_passes_a_good_one_up() {
    let el = root("teach-panel-test");
    let (props, calls) = panel_props(Phase::Predict, None, None, vec![]);
    yew::Renderer::<LessonPanel>::with_root_and_props(el.clone(), props).render();
    tick().await;

    let lesson = web::lessons::find("DATA-N+1").unwrap();
    assert!(el.text_content().unwrap().contains(&lesson.question));
    // no check over seeds before the answer is out
    assert!(find(&el, "seed-check-start").is_none());
    // the unit is shown beside the labelled input
    let label = el
        .query_selector("label[for=predict-input]")
        .unwrap()
        .unwrap();
    assert_eq!(label.text_content().unwrap(), "Your guess");
    assert!(
        el.query_selector(".teach-unit")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
            == "ms"
    );

    let input = get(&el, "predict-input");
    type_into(&input, "fast");
    tick().await;
    get(&el, "predict-submit").click();
    tick().await;
    let err = get(&el, "predict-error");
    assert!(
        err.text_content().unwrap().contains("not a number"),
        "{:?}",
        err.text_content()
    );
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert!(input.is_connected(), "the input was re-created");
    assert!(calls.guesses.borrow().is_empty());

    // typing clears the error; a number with its unit is accepted
    type_into(&input, "120 ms");
    tick().await;
    assert!(find(&el, "predict-error").is_none());
    get(&el, "predict-submit").click();
    tick().await;
    assert_eq!(*calls.guesses.borrow(), vec![120.0]);

    // typed and submitted in one task (no render in between): what was
    // typed counts, not the last render's text
    type_into(&input, "95");
    get(&el, "predict-submit").click();
    tick().await;
    assert_eq!(*calls.guesses.borrow(), vec![120.0, 95.0]);

    // every claim is listed, pending before any run
    for i in 0..lesson.claims.len() {
        let c = get(&el, &format!("claim-{i}"));
        assert_eq!(c.get_attribute("data-status").as_deref(), Some("pending"));
    }
    get(&el, "lesson-close").click();
    assert_eq!(*calls.closes.borrow(), 1);
    el.remove();
}

#[wasm_bindgen_test]
async fn panel_reveals_the_answer_and_claim_statuses() {
    // Running without an answer yet: how far the run is, and no button
    // that could not do anything yet
    let el = root("teach-panel-running");
    let so_far = vec![ClaimLive {
        text: "a".into(),
        holds: Some(false),
        detail: "measured 2.1 (needs >= 3)".into(),
    }];
    let (mut props, calls) = panel_props(Phase::Running, Some(100.0), None, so_far);
    props.progress = Some((120.4, 300.0));
    props.speed_hint = true;
    yew::Renderer::<LessonPanel>::with_root_and_props(el.clone(), props).render();
    tick().await;
    assert!(find(&el, "predict-input").is_none());
    assert!(find(&el, "predict-reveal").is_none());
    let bar = get(&el, "predict-progress");
    assert_eq!(bar.get_attribute("max").as_deref(), Some("300"));
    assert_eq!(bar.get_attribute("value").as_deref(), Some("120.4"));
    let text = el.text_content().unwrap_or_default();
    assert!(text.contains("120 of 300 s"), "{text}");
    assert!(text.contains("A faster speed gets there sooner"), "{text}");
    // a claim judged on the run so far says so: it can still turn
    let c = get(&el, "claim-0").text_content().unwrap_or_default();
    assert!(c.contains("Does not hold so far:"), "{c}");
    el.remove();

    let el = root("teach-panel-running2");
    let (props, calls2) = panel_props(Phase::Running, Some(100.0), Some(80.0), vec![]);
    yew::Renderer::<LessonPanel>::with_root_and_props(el.clone(), props).render();
    tick().await;
    get(&el, "predict-reveal").click();
    assert_eq!(*calls2.reveals.borrow(), 1);
    assert_eq!(*calls.reveals.borrow(), 0);
    el.remove();

    // Revealed: guess 100 ms vs 80 ms simulated: 25% off, "close"
    let claims = vec![
        ClaimLive {
            text: "a".into(),
            holds: Some(true),
            detail: "measured 10.4 (needs >= 5)".into(),
        },
        ClaimLive {
            text: "b".into(),
            holds: Some(false),
            detail: "measured 2.1 (needs >= 3)".into(),
        },
        ClaimLive {
            text: "c".into(),
            holds: None,
            detail: "waiting for requests".into(),
        },
    ];
    let el = root("teach-panel-revealed");
    let (props, _calls) = panel_props(Phase::Revealed, Some(100.0), Some(80.0), claims);
    yew::Renderer::<LessonPanel>::with_root_and_props(el.clone(), props).render();
    tick().await;
    // Once revealed, the lesson can be checked over its seeds.
    assert_eq!(
        get(&el, "seed-check-start").text_content().unwrap(),
        "Check on 10 seeds"
    );
    assert_eq!(get(&el, "predict-guess").text_content().unwrap(), "100 ms");
    assert_eq!(get(&el, "predict-answer").text_content().unwrap(), "80 ms");
    assert_eq!(get(&el, "predict-error-rel").text_content().unwrap(), "25%");
    let verdict = get(&el, "predict-verdict");
    assert_eq!(
        verdict.get_attribute("data-verdict").as_deref(),
        Some("close")
    );
    for (i, (status, words)) in [
        ("holds", "Holds"),
        ("fails", "Does not hold"),
        ("pending", "Not judged yet"),
    ]
    .iter()
    .enumerate()
    {
        let c = get(&el, &format!("claim-{i}"));
        assert_eq!(c.get_attribute("data-status").as_deref(), Some(*status));
        // words, not colour only
        assert!(
            c.text_content().unwrap().contains(words),
            "{:?}",
            c.text_content()
        );
    }
    assert!(get(&el, "claim-0")
        .text_content()
        .unwrap()
        .contains("measured 10.4"));
    el.remove();
}

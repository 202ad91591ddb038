//! In a real browser: what the page shares is the scenario that runs. Move
//! the sliders, open the share dialog, and the link's scenario carries the
//! sliders' values (before the document edits, a slider never reached the
//! scenario text and the link carried the file's values).
#![cfg(target_arch = "wasm32")]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlInputElement};

use sim_core::scenario::ArrivalSpec;
use sim_core::{NodeSpec, Scenario};
use web::share::{parse_route, Route};

wasm_bindgen_test_configure!(run_in_browser);

fn doc() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn text(id: &str) -> String {
    doc()
        .get_element_by_id(id)
        .map(|e| e.text_content().unwrap_or_default())
        .unwrap_or_default()
}

async fn wait_for(mut cond: impl FnMut() -> bool, ms: u32) -> bool {
    let mut waited = 0;
    while waited < ms {
        if cond() {
            return true;
        }
        TimeoutFuture::new(50).await;
        waited += 50;
    }
    cond()
}

fn set_range(id: &str, value: &str) {
    let input: HtmlInputElement = doc().get_element_by_id(id).unwrap().dyn_into().unwrap();
    input.set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let ev = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&ev).unwrap();
}

/// (arrival rate, workers) of the M/M/c scenario in `text`.
fn values(text: &str) -> (f64, u32) {
    let sc = Scenario::from_str_any(text).unwrap();
    let rate = match &sc.nodes["clients"] {
        NodeSpec::Source(s) => match s.arrival {
            ArrivalSpec::Poisson { rate } => rate,
            _ => panic!("not poisson"),
        },
        _ => panic!("not a source"),
    };
    let workers = match &sc.nodes["server"] {
        NodeSpec::Service(s) => s.workers,
        _ => panic!("not a service"),
    };
    (rate, workers)
}

/// The scenario of the link in the share dialog (opened and closed here).
async fn shared_values() -> (f64, u32) {
    let open: HtmlElement = doc()
        .get_element_by_id("share-open")
        .unwrap()
        .dyn_into()
        .unwrap();
    open.click();
    assert!(
        wait_for(|| doc().get_element_by_id("share-link").is_some(), 3_000).await,
        "the share dialog did not open"
    );
    let link: HtmlInputElement = doc()
        .get_element_by_id("share-link")
        .unwrap()
        .dyn_into()
        .unwrap();
    let route = parse_route(&link.value());
    let Route::Shared(payload) = route.route else {
        panic!("not a share link: {}", link.value())
    };
    let close: HtmlElement = doc()
        .get_element_by_id("dialog-close")
        .unwrap()
        .dyn_into()
        .unwrap();
    close.click();
    values(&payload.scenario)
}

#[wasm_bindgen_test]
async fn the_share_link_carries_the_sliders_values() {
    let div = doc().create_element("div").unwrap();
    div.set_id("app");
    doc().body().unwrap().append_child(&div).unwrap();
    // The test harness serves no worker script: run the engine here.
    web::start_with(web::app::StartOptions { worker: false });
    assert!(
        wait_for(|| doc().get_element_by_id("rate").is_some(), 5_000).await,
        "app did not mount"
    );
    assert_eq!(shared_values().await, (9.0, 10));

    set_range("rate", "9.8");
    set_range("workers", "12");
    assert!(
        wait_for(
            || text("rate-value") == "9.8 req/s" && text("workers-value") == "12",
            3_000
        )
        .await,
        "{} / {}",
        text("rate-value"),
        text("workers-value")
    );
    // The edit reaches the engine's document; the link is made from it.
    let mut got = (0.0, 0);
    for _ in 0..40 {
        got = shared_values().await;
        if got == (9.8, 12) {
            break;
        }
        TimeoutFuture::new(100).await;
    }
    assert_eq!(got, (9.8, 12), "the link carries the values on screen");
}

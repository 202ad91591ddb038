//! The live page in a real browser: mount the app, check that it runs, that
//! the read-outs show numbers, that controls act through the reducer, and
//! that the charts draw.
#![cfg(target_arch = "wasm32")]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement};

use web::model::{Speed, UNSTABLE_TEXT};

wasm_bindgen_test_configure!(run_in_browser);

fn doc() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn text(id: &str) -> String {
    doc()
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("#{id} is missing"))
        .text_content()
        .unwrap_or_default()
}

/// "12.3 s" -> 12.3
fn secs(id: &str) -> f64 {
    let t = text(id);
    t.trim_end_matches(" s")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("#{id} = {t:?} is not seconds"))
}

fn mount_once() {
    if doc().get_element_by_id("app").is_none() {
        let div = doc().create_element("div").unwrap();
        div.set_id("app");
        doc().body().unwrap().append_child(&div).unwrap();
        // The test harness serves no worker script: run the engine here.
        web::start_with(web::app::StartOptions { worker: false });
    }
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
    let ev = web_sys::Event::new_with_event_init_dict("input", &{
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        init
    })
    .unwrap();
    input.dispatch_event(&ev).unwrap();
}

#[wasm_bindgen_test]
async fn live_page_runs_and_responds_to_controls() {
    mount_once();
    // It mounts and the clock runs.
    assert!(
        wait_for(|| doc().get_element_by_id("sim-time").is_some(), 5_000).await,
        "app did not mount"
    );
    assert!(
        wait_for(|| secs("sim-time") > 1.0, 5_000).await,
        "clock did not move: {}",
        text("sim-time")
    );
    assert!(text("arrived").chars().any(|c| c.is_ascii_digit()));

    // The theory read-out for M/M/10 at 9 req/s.
    let theory = secs("p99-theory");
    assert!(theory > 4.0 && theory < 10.0, "{theory}");

    // Max speed fills the windows; the windowed p99 becomes a number.
    let speed: HtmlSelectElement = doc()
        .get_element_by_id("speed")
        .unwrap()
        .dyn_into()
        .unwrap();
    speed.set_value("max");
    speed
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    assert!(
        wait_for(|| secs("sim-time") > 100.0, 10_000).await,
        "max speed is slow: {}",
        text("sim-time")
    );
    assert!(
        wait_for(|| text("p99-sim").ends_with(" s"), 3_000).await,
        "p99-sim = {:?}",
        text("p99-sim")
    );

    // The latency canvas has been drawn on.
    let canvas: HtmlCanvasElement = doc()
        .get_element_by_id("chart-latency-theory")
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(
        canvas.width() > 100 && canvas.height() > 100,
        "{}x{}",
        canvas.width(),
        canvas.height()
    );
    let url = canvas.to_data_url().unwrap();
    assert!(
        url.len() > 5_000,
        "canvas looks blank ({} bytes)",
        url.len()
    );

    // Sliders act live: rate 9.8 raises the prediction; 5 workers is unstable.
    set_range("rate", "9.8");
    assert!(
        wait_for(|| text("rate-value") == "9.8 req/s", 2_000).await,
        "{}",
        text("rate-value")
    );
    assert!(secs("p99-theory") > theory * 2.0, "{}", text("p99-theory"));
    set_range("workers", "5");
    assert!(
        wait_for(|| text("p99-theory") == UNSTABLE_TEXT, 2_000).await,
        "{}",
        text("p99-theory")
    );
    set_range("workers", "10");
    set_range("rate", "9");

    // Pause freezes the clock; the button says Play.
    let play: HtmlElement = doc().get_element_by_id("play").unwrap().dyn_into().unwrap();
    play.click();
    assert!(wait_for(|| text("play").contains("Play"), 2_000).await);
    // Frames the worker was already computing (two at max speed) still land.
    TimeoutFuture::new(300).await;
    let t = text("sim-time");
    TimeoutFuture::new(600).await;
    assert_eq!(text("sim-time"), t, "clock moved while paused");

    // Space resumes.
    let key = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &{
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(" ");
        init.set_code("Space");
        init.set_bubbles(true);
        init
    })
    .unwrap();
    doc().body().unwrap().dispatch_event(&key).unwrap();
    assert!(
        wait_for(|| text("sim-time") != t, 3_000).await,
        "Space did not resume"
    );

    // Reset goes back to zero.
    play.click();
    let reset: HtmlElement = doc()
        .get_element_by_id("reset")
        .unwrap()
        .dyn_into()
        .unwrap();
    reset.click();
    assert!(
        wait_for(|| text("sim-time") == "0.0 s", 2_000).await,
        "{}",
        text("sim-time")
    );
}

#[wasm_bindgen_test]
fn engine_host_runs_in_the_browser() {
    use web::protocol::{FromHost, Lane, ToHost};
    let mut host = web::host::Host::new();
    let out = host.handle(ToHost::Load {
        lane: Lane::A,
        id: "mmc.toml".into(),
        text: web::engine::MMC_TOML.into(),
        seed: None,
    });
    assert!(matches!(out[0], FromHost::Loaded(_)), "{out:?}");
    let out = host.handle(ToHost::Advance {
        wall_dt_ms: 1_500.0,
        speed: Speed::X(100),
        budget_ms: 10_000.0,
        traces: true,
        until_s: None,
    });
    let FromHost::Frame { lanes, reached, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert!(reached);
    assert_eq!(lanes[0].snapshot.t_s, 150.0);
    assert_eq!(lanes[0].windows.len(), 150);
    assert!(lanes[0].snapshot.end_to_end.completed > 1_000);
    // Messages survive the worker codec (NaN included).
    let back: FromHost = {
        use gloo::worker::Codec;
        web::transport::JsCodec::decode(web::transport::JsCodec::encode(out[0].clone()))
    };
    assert_eq!(back, out[0]);
    // Document edits (JSON values, integers included) cross it unchanged:
    // a slider's whole number must stay a whole number for the scenario.
    let edit = ToHost::Edit {
        lane: None,
        edits: vec![
            sim_core::Edit::set("nodes.server.workers", 12.into()),
            sim_core::Edit::number("nodes.clients.arrival.rate", 9.8).unwrap(),
            sim_core::Edit::set("nodes.server.queue", serde_json::json!({"capacity": 50})),
            sim_core::Edit::remove("nodes.server.steps[0]"),
        ],
        reason: "sliders".into(),
    };
    let back: ToHost = {
        use gloo::worker::Codec;
        web::transport::JsCodec::decode(web::transport::JsCodec::encode(edit.clone()))
    };
    assert_eq!(back, edit);
}

#[wasm_bindgen_test]
fn bench_export_returns_json() {
    let out = web::bench_run(web::engine::MMC_TOML, 100.0);
    assert!(out.contains("\"events_per_s\""), "{out}");
    assert!(out.contains("\"arrivals_departures\""), "{out}");
}

//! The dashboard in a real browser: mount it with synthetic windows and
//! check that every requested chart has a labelled canvas that was drawn on
//! (non-white pixels counted with getImageData), in full, compact, A/B and
//! no-SLO forms, and that a version bump redraws.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use sim_core::metrics::HEAT_BUCKETS;
use sim_core::spec::SloSpec;
use sim_core::{NodeWindow, Window};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement};

use web::dashboard::{ChartKind, Dashboard, DashboardProps};

wasm_bindgen_test_configure!(run_in_browser);

fn doc() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// 1-second windows with a fast and a slow latency mode, three nodes.
fn windows(n: usize, slow: f64) -> Vec<Window> {
    (0..n)
        .map(|i| {
            let mut heat = vec![0u32; HEAT_BUCKETS];
            heat[5] = 50;
            heat[9] = (i % 5) as u32;
            let completed: u64 = heat.iter().map(|&c| c as u64).sum();
            Window {
                t_start_s: i as f64,
                t_end_s: i as f64 + 1.0,
                arrived: completed + 2,
                attempts: completed + 2,
                completed,
                failed: (i % 3) as u64,
                in_flight: 3,
                throughput_rps: completed as f64,
                p50_s: Some(0.02),
                p95_s: Some(0.03 * slow),
                p99_s: Some(0.15 * slow),
                heat,
                slo_good: Some(completed - (i % 4) as u64),
                nodes: [0.4 + 0.5 * i as f64 / n as f64, 0.3, 0.1]
                    .iter()
                    .map(|&u| NodeWindow {
                        utilisation: u,
                        queue_len: u * 4.0,
                        in_flight: u * 5.0,
                        throughput_rps: 20.0,
                        arrival_rate_rps: 20.0,
                        failed: 0,
                        rejected: 0,
                        replicas: 2,
                    })
                    .collect(),
            }
        })
        .collect()
}

fn props(n: usize) -> DashboardProps {
    DashboardProps {
        windows: Rc::new(windows(n, 1.0)),
        compare: None,
        version: 1,
        node_names: Rc::new(vec!["api".into(), "db".into(), "cache".into()]),
        slo: Some(SloSpec {
            latency_s: 0.1,
            target: 0.99,
        }),
        charts: ChartKind::DEFAULT.to_vec(),
        compact: false,
    }
}

/// A fresh container `width_px` wide.
fn container(width_px: u32) -> Element {
    let div = doc().create_element("div").unwrap();
    div.set_attribute("style", &format!("width:{width_px}px"))
        .unwrap();
    doc().body().unwrap().append_child(&div).unwrap();
    div
}

fn canvases(root: &Element) -> Vec<HtmlCanvasElement> {
    let list = root.query_selector_all("canvas").unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().dyn_into().unwrap())
        .collect()
}

/// Pixels that are neither white nor transparent.
fn inked(c: &HtmlCanvasElement) -> usize {
    let (w, h) = (c.width(), c.height());
    if w == 0 || h == 0 {
        return 0;
    }
    let ctx: CanvasRenderingContext2d = c.get_context("2d").unwrap().unwrap().dyn_into().unwrap();
    let data = ctx
        .get_image_data(0.0, 0.0, w as f64, h as f64)
        .unwrap()
        .data();
    data.chunks_exact(4)
        .filter(|p| p[3] > 0 && !(p[0] > 245 && p[1] > 245 && p[2] > 245))
        .count()
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

fn test_ids(root: &Element) -> Vec<String> {
    canvases(root)
        .iter()
        .map(|c| c.get_attribute("data-testid").unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn every_chart_draws_and_is_labelled() {
    let root = container(900);
    let _app = yew::Renderer::<Dashboard>::with_root_and_props(root.clone(), props(60)).render();
    assert!(wait_for(|| canvases(&root).len() == 5, 2_000).await);
    assert_eq!(
        test_ids(&root),
        [
            "chart-latency",
            "chart-throughput",
            "chart-utilisation",
            "chart-heatmap",
            "chart-burn"
        ]
    );
    assert!(
        wait_for(|| canvases(&root).iter().all(|c| inked(c) > 5_000), 3_000).await,
        "blank canvas: {:?}",
        canvases(&root)
            .iter()
            .map(|c| (c.get_attribute("data-testid"), inked(c)))
            .collect::<Vec<_>>()
    );
    let dpr = web_sys::window().unwrap().device_pixel_ratio();
    for c in canvases(&root) {
        let id = c.get_attribute("data-testid").unwrap();
        // sized from its box's CSS width × devicePixelRatio (the box fills
        // the figure, which the UA stylesheet indents by 40 px a side)
        let bx = c.parent_element().unwrap().client_width();
        assert!(bx > 700 && bx <= 900, "{id}: {bx}");
        assert_eq!(c.client_width(), bx, "{id}");
        assert_eq!(c.width(), (bx as f64 * dpr).round() as u32, "{id}");
        assert!(c.height() >= (260.0 * dpr) as u32, "{id}: {}", c.height());
        let label = c.get_attribute("aria-label").unwrap_or_default();
        assert!(label.len() > 20, "{id}: {label:?}");
        assert_eq!(c.get_attribute("role").as_deref(), Some("img"));
        // the caption saying what to read is referenced and present
        let cap = c.get_attribute("aria-describedby").unwrap();
        let text = doc()
            .get_element_by_id(&cap)
            .unwrap()
            .text_content()
            .unwrap();
        assert!(text.len() > 40, "{id}: {text:?}");
    }
    let burn = root
        .query_selector("[data-testid=chart-burn]")
        .unwrap()
        .unwrap();
    assert!(
        burn.get_attribute("aria-label")
            .unwrap()
            .contains("burn rate over the run so far"),
        "{:?}",
        burn.get_attribute("aria-label")
    );
    root.remove();
}

#[wasm_bindgen_test]
async fn lesson_subset_compact_ab_and_no_slo() {
    let root = container(600);
    let mut p = props(40);
    p.charts = ChartKind::list(&["errors", "throughput", "cache", "queue", "latency", "burn"]);
    p.compact = true;
    p.slo = None;
    p.compare = Some(Rc::new(windows(30, 2.0)));
    let _app = yew::Renderer::<Dashboard>::with_root_and_props(root.clone(), p).render();
    assert!(wait_for(|| canvases(&root).len() == 4, 2_000).await);
    assert_eq!(
        test_ids(&root),
        [
            "chart-throughput",
            "chart-queue",
            "chart-latency",
            "chart-burn"
        ]
    );
    assert!(
        wait_for(|| canvases(&root).iter().all(|c| inked(c) > 1_500), 3_000).await,
        "blank canvas: {:?}",
        canvases(&root)
            .iter()
            .map(|c| (c.get_attribute("data-testid"), inked(c)))
            .collect::<Vec<_>>()
    );
    for c in canvases(&root) {
        let bx = c.parent_element().unwrap().client_width();
        assert!(bx > 400 && bx <= 600, "{bx}");
        assert_eq!(c.client_width(), bx);
        assert!(c.client_height() <= 280, "{}", c.client_height());
    }
    // without an SLO the burn chart says so rather than plotting
    let burn = root
        .query_selector("[data-testid=chart-burn]")
        .unwrap()
        .unwrap();
    assert!(burn.get_attribute("aria-label").unwrap().contains("no SLO"));
    assert!(root.text_content().unwrap().contains("A solid, B dashed"));
    root.remove();
}

#[wasm_bindgen_test]
async fn a_version_bump_redraws() {
    let root = container(700);
    let mut p = props(0);
    p.charts = vec![ChartKind::Latency];
    let mut app = yew::Renderer::<Dashboard>::with_root_and_props(root.clone(), p.clone()).render();
    assert!(wait_for(|| canvases(&root).len() == 1, 2_000).await);
    let c = canvases(&root).remove(0);
    assert!(wait_for(|| inked(&c) > 500, 2_000).await); // axes and "No request..."
    TimeoutFuture::new(200).await;
    let empty = inked(&c);
    p.windows = Rc::new(windows(60, 3.0));
    p.version = 2;
    app.update(p);
    assert!(
        wait_for(|| inked(&c) > empty + 3_000, 3_000).await,
        "{} -> {}",
        empty,
        inked(&c)
    );
    assert!(c
        .get_attribute("aria-label")
        .unwrap()
        .contains("p99 0.450 s"));
    root.remove();
}

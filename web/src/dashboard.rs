//! The dashboard: one `<figure>` per chart over the simulation's windows
//! (what each draws: [`crate::charts::draw_chart`]). Each canvas is sized
//! from its container's CSS width × devicePixelRatio, follows container
//! resizes, and is redrawn in an effect keyed on `version` (never in `view`).
//!
//! ```text
//! html! { <Dashboard windows={w} version={v} node_names={names} slo={slo}
//!                    charts={ChartKind::list(&lesson.focus.charts)} /> }
//! ```

pub use crate::charts::ChartKind;

#[cfg(target_arch = "wasm32")]
pub use component::*;

#[cfg(target_arch = "wasm32")]
mod component {
    use std::rc::Rc;

    use sim_core::spec::SloSpec;
    use sim_core::Window;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{HtmlCanvasElement, HtmlElement, ResizeObserver};
    use yew::prelude::*;

    use crate::charts::{self, ChartKind, Dash};

    #[derive(Properties, Clone)]
    pub struct DashboardProps {
        /// The run's windows, oldest first ("A" in A/B mode).
        pub windows: Rc<Vec<Window>>,
        /// A second run drawn dashed on the same axes ("B").
        #[prop_or_default]
        pub compare: Option<Rc<Vec<Window>>>,
        /// Bump whenever `windows` or `compare` change: charts redraw on it.
        pub version: u64,
        /// Names of the non-source nodes, in the order of `Window::nodes`.
        #[prop_or_default]
        pub node_names: Rc<Vec<String>>,
        /// The scenario's SLO (SLO line, goodput, error-budget chart).
        #[prop_or_default]
        pub slo: Option<SloSpec>,
        /// Which charts, in order (see [`ChartKind::list`] for lesson names).
        #[prop_or_else(|| ChartKind::DEFAULT.to_vec())]
        pub charts: Vec<ChartKind>,
        /// Smaller charts for a ~600 px embed.
        #[prop_or_default]
        pub compact: bool,
    }

    impl PartialEq for DashboardProps {
        fn eq(&self, o: &Self) -> bool {
            self.version == o.version
                && Rc::ptr_eq(&self.windows, &o.windows)
                && match (&self.compare, &o.compare) {
                    (None, None) => true,
                    (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                    _ => false,
                }
                && self.node_names == o.node_names
                && self.slo == o.slo
                && self.charts == o.charts
                && self.compact == o.compact
        }
    }

    #[function_component(Dashboard)]
    pub fn dashboard(p: &DashboardProps) -> Html {
        let class = classes!("dashboard", p.compact.then_some("compact"));
        html! {
            <section {class} aria-label="Charts">
                { for p.charts.iter().map(|&kind| html! {
                    <DashChart
                        key={kind.slug()}
                        {kind}
                        windows={p.windows.clone()}
                        compare={p.compare.clone()}
                        version={p.version}
                        node_names={p.node_names.clone()}
                        slo={p.slo.clone()}
                        compact={p.compact}
                    />
                }) }
            </section>
        }
    }

    #[derive(Properties, Clone)]
    struct DashChartProps {
        kind: ChartKind,
        windows: Rc<Vec<Window>>,
        compare: Option<Rc<Vec<Window>>>,
        version: u64,
        node_names: Rc<Vec<String>>,
        slo: Option<SloSpec>,
        compact: bool,
    }

    impl PartialEq for DashChartProps {
        fn eq(&self, o: &Self) -> bool {
            self.kind == o.kind
                && self.version == o.version
                && self.compare.is_some() == o.compare.is_some()
                && self.node_names == o.node_names
                && self.slo == o.slo
                && self.compact == o.compact
        }
    }

    /// CSS height of a chart for a container `width` CSS px wide.
    fn css_height(width: f64, compact: bool) -> f64 {
        if compact {
            (width * 0.5).clamp(200.0, 280.0)
        } else {
            (width * 0.5).clamp(240.0, 340.0)
        }
    }

    #[function_component(DashChart)]
    fn dash_chart(p: &DashChartProps) -> Html {
        let boxref = use_node_ref();
        let canvas = use_node_ref();
        let width = use_state(|| 0i32);
        let draw_error = use_state(|| None::<String>);

        // Follow the container's width (layout changes as well as window resizes).
        {
            let boxref = boxref.clone();
            let width = width.clone();
            use_effect_with((), move |_| {
                let observer = boxref.cast::<HtmlElement>().and_then(|el| {
                    let cb = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries| {
                        if let Some(el) = boxref.cast::<HtmlElement>() {
                            let w = el.client_width();
                            if w > 0 {
                                width.set(w);
                            }
                        }
                    });
                    let obs = ResizeObserver::new(cb.as_ref().unchecked_ref()).ok()?;
                    obs.observe(&el);
                    Some((obs, cb))
                });
                move || {
                    if let Some((obs, _cb)) = observer {
                        obs.disconnect();
                    }
                }
            });
        }

        // Draw after render, keyed on the data version and the size.
        {
            let boxref = boxref.clone();
            let canvas = canvas.clone();
            let p2 = p.clone();
            let draw_error = draw_error.clone();
            let width = width.clone();
            let deps = (
                p.version,
                *width,
                p.compact,
                p.compare.is_some(),
                p.slo.clone(),
                p.node_names.clone(),
            );
            use_effect_with(deps, move |_| {
                if let (Some(el), Some(bx)) = (
                    canvas.cast::<HtmlCanvasElement>(),
                    boxref.cast::<HtmlElement>(),
                ) {
                    // the view sized the canvas from `width`; if the observer
                    // has not reported yet, size it from the container now
                    let w = bx.client_width() as f64;
                    if w > 0.0 && *width == 0 {
                        let h = css_height(w, p2.compact);
                        let _ = el
                            .style()
                            .set_property("height", &format!("{}px", h.round()));
                    }
                    let res = charts::canvas::draw_on(&el, |root, scale| {
                        let d = Dash {
                            windows: &p2.windows,
                            compare: p2.compare.as_deref().map(|v| &v[..]),
                            node_names: &p2.node_names,
                            slo: p2.slo.as_ref(),
                            scale,
                            compact: p2.compact,
                        };
                        charts::draw_chart(root, p2.kind, &d).map_err(|e| e.to_string())
                    });
                    if res.as_ref().err() != draw_error.as_ref() {
                        draw_error.set(res.err());
                    }
                }
                || ()
            });
        }

        let kind = p.kind;
        let d = Dash {
            windows: &p.windows,
            compare: p.compare.as_deref().map(|v| &v[..]),
            node_names: &p.node_names,
            slo: p.slo.as_ref(),
            scale: 1.0,
            compact: p.compact,
        };
        let label = charts::describe(kind, &d);
        let height = css_height(if *width > 0 { *width as f64 } else { 800.0 }, p.compact);
        let title_id = format!("dash-title-{}", kind.slug());
        let caption_id = format!("dash-caption-{}", kind.slug());
        let ab = p.compare.is_some().then(|| {
            html! { <span class="dash-ab">{ "A solid, B dashed" }</span> }
        });
        html! {
            <figure class={classes!("dash-chart", format!("dash-{}", kind.slug()))}
                    aria-labelledby={title_id.clone()}>
                <figcaption>
                    <h3 id={title_id}>{ kind.title() }{ for ab }</h3>
                    <p class="dash-caption" id={caption_id.clone()}>{ kind.caption() }</p>
                </figcaption>
                <div class="dash-canvas-box" ref={boxref}>
                    <canvas
                        ref={canvas}
                        data-testid={kind.test_id()}
                        role="img"
                        aria-label={label}
                        aria-describedby={caption_id}
                        style={format!("display:block;width:100%;height:{}px", height.round())}
                    ></canvas>
                </div>
                if let Some(e) = (*draw_error).clone() {
                    <p class="dash-error" role="alert">{ format!("This chart could not be drawn: {e}") }</p>
                }
            </figure>
        }
    }
}

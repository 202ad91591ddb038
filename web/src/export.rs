//! Exports: the run's report as CSV (the time series) or JSON (everything),
//! the scenario as TOML (with the run's seed, so it reproduces the run),
//! and a chart as PNG, downloaded by the browser.
//!
//! The builders are pure and tested natively; [`download`], [`canvas_png`]
//! and [`download_canvas_png`] are `wasm32`-only.

use sim_core::{Report, Scenario};

/// One file to hand to the browser.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportFile {
    pub name: String,
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

pub const CSV_MIME: &str = "text/csv;charset=utf-8";
pub const JSON_MIME: &str = "application/json";
pub const TOML_MIME: &str = "application/toml";
pub const PNG_MIME: &str = "image/png";

/// A scenario name as a file-name part: lower case, runs of anything but
/// ASCII letters and digits as one `-`, at most 40 characters;
/// `"scenario"` if nothing is left.
/// `"CACHE-NONE: every read hits the database"` -> `"cache-none-every-read-hits-the-database"`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s: String = out.trim_matches('-').chars().take(40).collect();
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        "scenario".into()
    } else {
        s
    }
}

/// `tailsim-<slug>-seed<N>.<ext>`.
pub fn file_name(scenario_name: &str, seed: u64, ext: &str) -> String {
    format!("tailsim-{}-seed{seed}.{ext}", slug(scenario_name))
}

/// The report's time series, one row per window (`Report::to_csv`).
pub fn report_csv(r: &Report) -> ExportFile {
    ExportFile {
        name: file_name(&r.scenario, r.seed, "csv"),
        mime: CSV_MIME,
        bytes: r.to_csv().into_bytes(),
    }
}

/// The whole report (`Report::to_json`).
pub fn report_json(r: &Report) -> ExportFile {
    ExportFile {
        name: file_name(&r.scenario, r.seed, "json"),
        mime: JSON_MIME,
        bytes: r.to_json().into_bytes(),
    }
}

/// The scenario as TOML with `seed` written in, so `tailsim run` on the
/// file reproduces the page's run.
pub fn scenario_toml(sc: &Scenario, seed: u64) -> ExportFile {
    let mut sc = sc.clone();
    sc.seed = seed;
    ExportFile {
        name: file_name(&sc.name, seed, "toml"),
        mime: TOML_MIME,
        bytes: sc.to_toml().into_bytes(),
    }
}

/// `tailsim-<slug>-seed<N>-<chart>.png`.
pub fn chart_png_name(scenario_name: &str, seed: u64, chart: &str) -> String {
    format!(
        "tailsim-{}-seed{seed}-{}.png",
        slug(scenario_name),
        slug(chart)
    )
}

/// Makes the browser save `bytes` as `filename`: a Blob, an object URL and
/// a temporary `<a download>` that is clicked and removed (the URL is
/// revoked on the next tick).
#[cfg(target_arch = "wasm32")]
pub fn download(filename: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    use web_sys::{Blob, BlobPropertyBag, Url};
    let js = |e: wasm_bindgen::JsValue| format!("download failed: {e:?}");
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &opts).map_err(js)?;
    let url = Url::create_object_url_with_blob(&blob).map_err(js)?;
    let clicked = click_link(&url, filename);
    gloo::timers::callback::Timeout::new(0, move || {
        let _ = Url::revoke_object_url(&url);
    })
    .forget();
    clicked
}

/// Saves an [`ExportFile`].
#[cfg(target_arch = "wasm32")]
pub fn download_file(f: &ExportFile) -> Result<(), String> {
    download(&f.name, f.mime, &f.bytes)
}

#[cfg(target_arch = "wasm32")]
fn click_link(href: &str, filename: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let js = |e: wasm_bindgen::JsValue| format!("download failed: {e:?}");
    let doc = gloo::utils::document();
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "download failed: <a> is not an anchor".to_string())?;
    a.set_href(href);
    a.set_download(filename);
    a.style().set_property("display", "none").map_err(js)?;
    let body = gloo::utils::body();
    body.append_child(&a).map_err(js)?;
    a.click();
    body.remove_child(&a).map_err(js)?;
    Ok(())
}

/// The canvas as a PNG `data:` URL.
#[cfg(target_arch = "wasm32")]
pub fn canvas_png(canvas: &web_sys::HtmlCanvasElement) -> Result<String, String> {
    canvas
        .to_data_url_with_type(PNG_MIME)
        .map_err(|e| format!("cannot read the chart as PNG: {e:?}"))
}

/// Saves the canvas as a PNG named `filename` (see [`chart_png_name`]).
#[cfg(target_arch = "wasm32")]
pub fn download_canvas_png(
    canvas: &web_sys::HtmlCanvasElement,
    filename: &str,
) -> Result<(), String> {
    click_link(&canvas_png(canvas)?, filename)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Sim;

    fn run() -> (Scenario, Report) {
        let sc = Scenario::from_toml_str(crate::engine::MMC_TOML).unwrap();
        let r = Sim::new(&sc, 7).unwrap().run_for(60.0).unwrap();
        (sc, r)
    }

    #[test]
    fn file_names_name_the_scenario_and_seed() {
        assert_eq!(
            slug("CACHE-NONE: every read hits the database"),
            "cache-none-every-read-hits-the-database"
        );
        assert_eq!(slug("M/M/c at 90%"), "m-m-c-at-90");
        assert_eq!(slug("  ::  "), "scenario");
        assert_eq!(slug("é"), "scenario");
        assert_eq!(slug(&"ab ".repeat(30)).len(), 40);
        // cut at 40 on a '-': the dash goes too
        assert_eq!(slug(&"abc ".repeat(20)).len(), 39);
        assert!(!slug(&"abc ".repeat(20)).ends_with('-'));
        assert_eq!(
            file_name("DATA-N+1", 42, "csv"),
            "tailsim-data-n-1-seed42.csv"
        );
        assert_eq!(
            chart_png_name("mmc", 1, "Latency percentiles"),
            "tailsim-mmc-seed1-latency-percentiles.png"
        );
    }

    #[test]
    fn report_exports_are_the_report() {
        let (sc, r) = run();
        let csv = report_csv(&r);
        assert_eq!(csv.name, format!("tailsim-{}-seed7.csv", slug(&sc.name)));
        assert_eq!(csv.mime, CSV_MIME);
        let text = String::from_utf8(csv.bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("t_start_s,t_end_s,"));
        assert_eq!(lines.len(), r.series.windows.len() + 1);
        assert!(r.series.windows.len() > 1);
        let cols = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));

        let json = report_json(&r);
        assert!(json.name.ends_with("-seed7.json"));
        let back: Report = serde_json::from_slice(&json.bytes).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn scenario_export_reproduces_the_run() {
        let (sc, r) = run();
        let f = scenario_toml(&sc, 7);
        assert!(f.name.ends_with("-seed7.toml"), "{}", f.name);
        let back = Scenario::from_toml_str(std::str::from_utf8(&f.bytes).unwrap()).unwrap();
        assert_eq!(back.seed, 7);
        let again = Sim::new(&back, back.seed).unwrap().run_for(60.0).unwrap();
        assert_eq!(again.to_json(), r.to_json());
    }
}

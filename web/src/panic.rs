//! After a panic Yew is dead, so the error panel is plain DOM written by the
//! panic hook: "Something went wrong", the message, and a Reload button.

use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub const PANEL_ID: &str = "panic-panel";

/// Installs the hook (idempotent). It goes through Yew's
/// `set_custom_panic_hook`: a plain `std::panic::set_hook` would be replaced
/// by Yew's default hook when the app is rendered.
///
/// Only the first panic writes the panel: later ones are usually its
/// consequences (a `RefCell` left borrowed, say) and would hide the cause.
pub fn install() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        yew::set_custom_panic_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            if !PANICKED.swap(true, Ordering::SeqCst) {
                show_error_panel(&info.to_string());
            }
        }));
    });
}

static PANICKED: AtomicBool = AtomicBool::new(false);

/// True once a panic has happened: the animation loop stops calling in.
pub fn has_panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Writes (or rewrites) the error panel. Never panics itself.
pub fn show_error_panel(message: &str) {
    let _ = try_show(message);
}

fn try_show(message: &str) -> Result<(), JsValue> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let body = doc.body().ok_or_else(|| JsValue::from_str("no body"))?;
    if let Some(old) = doc.get_element_by_id(PANEL_ID) {
        old.remove();
    }
    let panel = doc.create_element("div")?;
    panel.set_id(PANEL_ID);
    panel.set_attribute("role", "alertdialog")?;
    panel.set_attribute("aria-labelledby", "panic-title")?;
    panel.set_attribute("class", "panic-backdrop")?;

    let card = doc.create_element("div")?;
    card.set_attribute("class", "panic-card")?;
    let title = doc.create_element("h2")?;
    title.set_id("panic-title");
    title.set_text_content(Some("Something went wrong"));
    let explain = doc.create_element("p")?;
    explain.set_text_content(Some(
        "The simulator stopped because of an internal error. Reloading the page starts it again.",
    ));
    let pre = doc.create_element("pre")?;
    pre.set_id("panic-message");
    pre.set_text_content(Some(message));
    let button = doc.create_element("button")?;
    button.set_id("panic-reload");
    button.set_attribute("type", "button")?;
    button.set_attribute("class", "btn primary")?;
    button.set_text_content(Some("Reload"));
    // plain JS: the wasm instance may be unusable after a panic
    button.set_attribute("onclick", "location.reload()")?;

    card.append_child(&title)?;
    card.append_child(&explain)?;
    card.append_child(&pre)?;
    card.append_child(&button)?;
    panel.append_child(&card)?;
    body.append_child(&panel)?;
    // the dead app underneath must not take clicks or keystrokes
    if let Some(app) = doc.get_element_by_id("app") {
        let _ = app.set_attribute("inert", "");
        let _ = app.set_attribute("aria-hidden", "true");
    }
    let _ = button.dyn_ref::<web_sys::HtmlElement>().map(|b| b.focus());
    Ok(())
}

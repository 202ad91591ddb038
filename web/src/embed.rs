//! The embed's manners in a blog post (`?embed`): it plays only while it
//! is on screen (so two embeds on one page do not both run from the start,
//! and one scrolled away stops costing CPU), never starts by itself when the
//! reader asked for reduced motion, and tells its page its content height
//! (`postMessage({tailsim: "height", height})`; the snippet's script sizes
//! the iframe to it, see `share::RESIZE_SCRIPT`).

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::state::Action;

/// The observers, kept alive for as long as the embed is shown.
pub struct Watch {
    visible: Option<web_sys::IntersectionObserver>,
    _on_visible: Option<Closure<dyn FnMut(js_sys::Array)>>,
    size: Option<web_sys::ResizeObserver>,
    _on_size: Option<Closure<dyn FnMut(js_sys::Array)>>,
    /// `{tailsim: "pause"}` from the page: another embed started playing.
    _on_message: gloo::events::EventListener,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(o) = &self.visible {
            o.disconnect();
        }
        if let Some(o) = &self.size {
            o.disconnect();
        }
    }
}

/// Whether the reader asked for reduced motion.
pub fn reduced_motion() -> bool {
    gloo::utils::window()
        .match_media("(prefers-reduced-motion: reduce)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}

/// Starts watching `root` (the embed's top element). `playing` mirrors the
/// page's state; `may_autoplay` is false for a lesson still waiting for
/// the reader's guess.
pub fn watch(
    root: &web_sys::Element,
    dispatch: yew::Callback<Action>,
    playing: Rc<Cell<bool>>,
    may_autoplay: Rc<Cell<bool>>,
) -> Watch {
    // Paused by scrolling away (not by the reader): resumes on return.
    let paused_by_us = Rc::new(Cell::new(!reduced_motion()));
    let on_message = {
        let (dispatch, playing, paused_by_us) =
            (dispatch.clone(), playing.clone(), paused_by_us.clone());
        gloo::events::EventListener::new(&gloo::utils::window(), "message", move |ev| {
            let Some(m) = ev.dyn_ref::<web_sys::MessageEvent>() else {
                return;
            };
            let data = m.data();
            let kind = js_sys::Reflect::get(&data, &"tailsim".into()).ok();
            let at = js_sys::Reflect::get(&data, &"at".into())
                .ok()
                .and_then(|a| a.as_f64())
                .unwrap_or(f64::INFINITY);
            // The embed that started last plays on: the others pause (two
            // that start together cannot pause each other).
            let older = STARTED_AT.with(|s| s.get()) <= at;
            if kind.and_then(|k| k.as_string()).as_deref() == Some("pause")
                && playing.get()
                && older
            {
                // Paused for another embed: it does not resume by itself.
                paused_by_us.set(false);
                dispatch.emit(Action::Pause);
            }
        })
    };
    let on_visible = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        let Some(e) = entries
            .iter()
            .last()
            .and_then(|e| e.dyn_into::<web_sys::IntersectionObserverEntry>().ok())
        else {
            return;
        };
        // (Chrome reports is_intersecting false below the threshold: the
        // threshold is 0, any visible part counts.)
        let on_screen = e.is_intersecting() || e.intersection_ratio() > 0.0;
        if on_screen && paused_by_us.get() && may_autoplay.get() && !playing.get() {
            paused_by_us.set(false);
            dispatch.emit(Action::Play);
        } else if !on_screen && playing.get() {
            paused_by_us.set(true);
            dispatch.emit(Action::Pause);
        }
    });
    let init = web_sys::IntersectionObserverInit::new();
    init.set_threshold(&wasm_bindgen::JsValue::from_f64(0.0));
    let visible =
        web_sys::IntersectionObserver::new_with_options(on_visible.as_ref().unchecked_ref(), &init)
            .ok();
    if let Some(o) = &visible {
        o.observe(root);
    }
    let measured = root.clone();
    let on_size = Closure::<dyn FnMut(js_sys::Array)>::new(move |_| post_height(&measured));
    let size = web_sys::ResizeObserver::new(on_size.as_ref().unchecked_ref()).ok();
    if let Some(o) = &size {
        o.observe(root);
    }
    post_height(root);
    Watch {
        visible,
        _on_visible: Some(on_visible),
        size,
        _on_size: Some(on_size),
        _on_message: on_message,
    }
}

thread_local! {
    /// When this embed last started playing (ms since the epoch).
    static STARTED_AT: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
}

/// Tells the embedding page that this embed started playing, and when (the
/// snippet's script then asks the others to pause: one plays at a time).
pub fn announce_playing() {
    let at = js_sys::Date::now();
    STARTED_AT.with(|s| s.set(at));
    if let Ok(Some(parent)) = gloo::utils::window().parent() {
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &"tailsim".into(), &"playing".into());
        let _ = js_sys::Reflect::set(&msg, &"at".into(), &at.into());
        let _ = parent.post_message(&msg, "*");
    }
}

/// Tells the embedding page how tall the content (`root`) is.
fn post_height(root: &web_sys::Element) {
    let w = gloo::utils::window();
    // (Outside an iframe the parent is the page itself: nobody listens.)
    let Ok(Some(parent)) = w.parent() else {
        return;
    };
    let h = root
        .dyn_ref::<web_sys::HtmlElement>()
        .map_or(root.scroll_height(), |e| e.offset_height());
    if h <= 0 {
        return;
    }
    let msg = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&msg, &"tailsim".into(), &"height".into());
    let _ = js_sys::Reflect::set(&msg, &"height".into(), &f64::from(h).into());
    let _ = parent.post_message(&msg, "*");
}

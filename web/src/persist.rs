//! What survives a reload: the page's address follows the running scenario
//! (written with `history.replaceState`, so the address bar always holds a
//! link that reopens the same state), and a lesson's guess is kept in
//! `localStorage`. The address logic is pure and tested natively; the
//! browser calls are no-ops outside `wasm32`.

use crate::scenarios;
use crate::share::{self, SharePayload};

/// The default seed a fresh page runs with (no seed in a clean address).
pub const DEFAULT_SEED: u64 = 1;

/// The address that reopens `p` on page `page_url` (whose query and
/// fragment are replaced): the plain page for the untouched default
/// sandbox, `?lesson=ID` for an untouched lesson on the default seed, and
/// the share link (`#s=...`) for anything else.
pub fn address_for(page_url: &str, p: &SharePayload) -> String {
    let base = share::page_base(page_url);
    let untouched =
        p.id.as_deref()
            .and_then(scenarios::find)
            .is_some_and(|e| e.text == p.scenario);
    if p.seed == DEFAULT_SEED {
        // (A lesson the user wrote has no link of its own: its text
        // travels in the share link.)
        if let (Some(lesson), None) = (&p.lesson, &p.lesson_text) {
            return share::lesson_link(page_url, lesson);
        }
        if untouched && p.id.as_deref() == Some(scenarios::DEFAULT_ID) {
            return base.to_string();
        }
    }
    share::share_link(page_url, p)
}

/// `?present` in the address: open in the presenter view.
pub fn asks_present(href: &str) -> bool {
    let query = href.split('#').next().unwrap_or("");
    let query = query.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .any(|kv| kv == "present" || kv.starts_with("present=") && !kv.ends_with("=0"))
}

const WELCOMED_KEY: &str = "tailsim.welcomed";

/// The first-visit banner was dismissed (or a lesson was opened) before.
/// Outside a browser: yes (nothing to show).
pub fn welcomed() -> bool {
    cfg!(not(target_arch = "wasm32")) || read(WELCOMED_KEY).is_some()
}

pub fn set_welcomed() {
    write(WELCOMED_KEY, "1");
}

/// The `localStorage` key of lesson `id`'s guess.
fn guess_key(id: &str) -> String {
    format!("tailsim.guess.{id}")
}

/// The guess saved for lesson `id`, if any (and readable).
pub fn load_guess(id: &str) -> Option<f64> {
    read(&guess_key(id))?
        .parse::<f64>()
        .ok()
        .filter(|g| g.is_finite())
}

/// Saves the guess for lesson `id` (best effort: private modes may refuse).
pub fn save_guess(id: &str, guess: f64) {
    write(&guess_key(id), &guess.to_string());
}

#[cfg(target_arch = "wasm32")]
fn storage() -> Option<web_sys::Storage> {
    gloo::utils::window().local_storage().ok().flatten()
}

#[cfg(target_arch = "wasm32")]
fn read(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

#[cfg(target_arch = "wasm32")]
fn write(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn read(_key: &str) -> Option<String> {
    None
}

#[cfg(not(target_arch = "wasm32"))]
fn write(_key: &str, _value: &str) {}

/// Replaces the address bar's URL without a reload or a history entry (and
/// so without a `hashchange`). Nothing happens if it already holds `url`.
#[cfg(target_arch = "wasm32")]
pub fn replace_address(url: &str) {
    let w = gloo::utils::window();
    if w.location().href().ok().as_deref() == Some(url) {
        return;
    }
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://127.0.0.1:8080/?lesson=X#s=old";

    fn default_payload() -> SharePayload {
        let e = scenarios::find(scenarios::DEFAULT_ID).unwrap();
        let mut p = SharePayload::new(e.text, DEFAULT_SEED);
        p.id = Some(e.id.to_string());
        p
    }

    #[test]
    fn present_in_the_query_opens_the_presenter_view() {
        assert!(asks_present("http://h/?present"));
        assert!(asks_present("http://h/?lesson=X&present=1#s=1.x"));
        assert!(!asks_present("http://h/?present=0"));
        assert!(!asks_present("http://h/#present"));
        assert!(!asks_present("http://h/?presenter_notes"));
    }

    #[test]
    fn the_untouched_default_sandbox_is_the_plain_page() {
        assert_eq!(
            address_for(PAGE, &default_payload()),
            "http://127.0.0.1:8080/"
        );
    }

    #[test]
    fn an_untouched_lesson_is_its_lesson_link() {
        let mut p = default_payload();
        p.lesson = Some("DATA-N+1".into());
        assert_eq!(
            address_for(PAGE, &p),
            "http://127.0.0.1:8080/?lesson=DATA-N%2B1"
        );
    }

    #[test]
    fn edits_and_seeds_make_a_share_link_that_reopens_them() {
        let mut p = default_payload();
        p.scenario.push_str("\n# edited\n");
        let a = address_for(PAGE, &p);
        assert!(a.starts_with("http://127.0.0.1:8080/#s=1."), "{a}");
        match share::parse_route(&a).route {
            share::Route::Shared(back) => assert_eq!(back, p),
            r => panic!("{r:?}"),
        }
        let mut p = default_payload();
        p.seed = 7;
        let a = address_for(PAGE, &p);
        match share::parse_route(&a).route {
            share::Route::Shared(back) => assert_eq!(back.seed, 7),
            r => panic!("{r:?}"),
        }
    }
}

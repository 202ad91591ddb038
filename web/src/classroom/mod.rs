//! Classroom workshops on the page: the teacher's presenter view stepping
//! through a workshop pack ([`presenter`]), and the student's page that
//! joins a room with a code and a nickname ([`student`]). With the
//! classroom server (`cargo xtask serve --classroom`) the class predicts
//! and the teacher sees the distribution live; on a static host the
//! presenter view still steps through the pack and runs each lesson.
//!
//! Routes (read by [`route`], mounted instead of the sandbox by
//! `crate::start_with`): `?workshop=NAME` (a shipped pack,
//! `assets/workshops/NAME.toml`), `?workshop` (choose a pack or open a
//! file), `#w=1.<data>` (a pack in a link), `?join` or `?join=CODE`.
//!
//! The wire protocol is the classroom crate's (`classroom::protocol`),
//! shared with the server. Test ids are listed in each component's file.

pub mod chart;
pub mod net;
pub mod packs;
pub mod presenter;
pub mod student;

/// What the address asks the classroom for.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassRoute {
    /// The presenter view of a shipped pack (`None`: choose one).
    Workshop(Option<String>),
    /// The presenter view of a pack carried in the link (`#w=...`).
    Linked(String),
    /// The student's page (the code, if the link has it).
    Join(Option<String>),
}

/// The classroom route of `href`, if it has one (else the sandbox opens).
pub fn route(href: &str) -> Option<ClassRoute> {
    let no_fragment = href.split('#').next().unwrap_or("");
    let fragment = href.split_once('#').map_or("", |(_, f)| f);
    if let Some(data) = fragment.split('&').find(|kv| kv.starts_with("w=")) {
        return Some(ClassRoute::Linked(data.to_string()));
    }
    let query = no_fragment.split_once('?').map_or("", |(_, q)| q);
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = (!v.is_empty()).then(|| percent_decode(v));
        match k {
            "workshop" => return Some(ClassRoute::Workshop(v)),
            "join" => return Some(ClassRoute::Join(v)),
            _ => {}
        }
    }
    None
}

pub use crate::share::percent_decode;

/// Every byte but unreserved ones as `%XX` (for a lesson id in a link).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// The session's storage (survives a reload, not the tab): the teacher's
/// room and the student's seat.
pub fn session_get(key: &str) -> Option<String> {
    let s = gloo::utils::window().session_storage().ok()??;
    s.get_item(key).ok()?
}

pub fn session_set(key: &str, value: Option<&str>) {
    if let Ok(Some(s)) = gloo::utils::window().session_storage() {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

/// Mounts the classroom page for `route` into `el`.
#[cfg(target_arch = "wasm32")]
pub fn mount(el: web_sys::Element, route: ClassRoute) {
    el.set_inner_html("");
    match route {
        ClassRoute::Join(code) => {
            let props = student::StudentProps { code };
            yew::Renderer::<student::StudentPage>::with_root_and_props(el, props).render();
        }
        ClassRoute::Workshop(name) => {
            let props = presenter::PresenterProps {
                source: presenter::Source::Shipped(name),
            };
            yew::Renderer::<presenter::Presenter>::with_root_and_props(el, props).render();
        }
        ClassRoute::Linked(data) => {
            let props = presenter::PresenterProps {
                source: presenter::Source::Link(data),
            };
            yew::Renderer::<presenter::Presenter>::with_root_and_props(el, props).render();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classroom_routes() {
        let r = |s: &str| route(&format!("http://h:8080/{s}"));
        assert_eq!(r(""), None);
        assert_eq!(r("?lesson=DATA-N%2B1"), None);
        assert_eq!(r("#s=1.abc"), None);
        assert_eq!(
            r("?workshop=first-hour"),
            Some(ClassRoute::Workshop(Some("first-hour".into())))
        );
        assert_eq!(r("?workshop"), Some(ClassRoute::Workshop(None)));
        assert_eq!(
            r("?join=ABCD-EFGH"),
            Some(ClassRoute::Join(Some("ABCD-EFGH".into())))
        );
        assert_eq!(r("?join"), Some(ClassRoute::Join(None)));
        assert_eq!(
            r("?x=1#w=1.xyz"),
            Some(ClassRoute::Linked("w=1.xyz".into()))
        );
    }

    #[test]
    fn percent_coding() {
        assert_eq!(percent_encode("DATA-N+1"), "DATA-N%2B1");
        assert_eq!(percent_decode("DATA-N%2B1"), "DATA-N+1");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}

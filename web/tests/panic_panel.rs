//! The panic hook's error panel is plain DOM: it must appear with the
//! message and a Reload button (Yew is dead after a panic).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn error_panel_shows_message_and_reload() {
    let doc = web_sys::window().unwrap().document().unwrap();
    let app = doc.create_element("div").unwrap();
    app.set_id("app");
    doc.body().unwrap().append_child(&app).unwrap();

    web::panic::show_error_panel("boom <b>not html</b>");
    let panel = doc.get_element_by_id(web::panic::PANEL_ID).expect("panel");
    let text = panel.text_content().unwrap();
    assert!(text.contains("Something went wrong"), "{text}");
    assert!(
        text.contains("boom <b>not html</b>"),
        "message must be text, not markup: {text}"
    );
    let reload = doc
        .get_element_by_id("panic-reload")
        .expect("reload button");
    assert_eq!(reload.text_content().unwrap(), "Reload");
    assert_eq!(
        reload.get_attribute("onclick").as_deref(),
        Some("location.reload()")
    );
    assert!(app.has_attribute("inert"));

    // Idempotent: a second panic replaces the panel.
    web::panic::show_error_panel("second");
    assert_eq!(
        doc.query_selector_all(&format!("#{}", web::panic::PANEL_ID))
            .unwrap()
            .length(),
        1
    );
}

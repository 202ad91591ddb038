//! The editor's text after a trip through the engine's worker and back.

use crate::editor::model::EditorDoc;
use crate::engine::Engine;
use crate::state::edits_between;
use serde_json::Value;
use sim_core::Edit;

/// What crossing to the worker and back does to a value: JavaScript
/// has one number type, so a whole float comes back as an integer.
fn through_js(v: &Value) -> Value {
    match v {
        Value::Number(n)
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15) =>
        {
            Value::from(n.as_f64().unwrap() as i64)
        }
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), through_js(x))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(through_js).collect()),
        x => x.clone(),
    }
}

#[test]
fn a_moved_node_comes_back_from_the_worker_meaning_what_the_panel_wrote() {
    let text = crate::scenarios::find("mmc.toml").unwrap().text;
    let mut d = EditorDoc::parse(text).unwrap();
    d.move_node("server", 460.37, 231.8).unwrap();
    let edited = d.to_toml();
    let edits: Vec<Edit> = edits_between(text, &edited)
        .unwrap()
        .into_iter()
        .map(|e| match e {
            Edit::Set { path, value } => Edit::Set {
                path,
                value: through_js(&value),
            },
            e => e,
        })
        .collect();
    let mut e = Engine::new(text).unwrap();
    e.edit(&edits).unwrap();
    let back = e.doc().to_toml();
    // Not the same text (460.0 came back as 460)...
    assert_ne!(back, edited);
    assert!(back.contains("x = 460\n"), "{back}");
    // ...but the same document: the panel keeps its undo history.
    assert!(d.means(&back));
    assert!(d.can_undo());
    assert!(edits_between(&edited, &back).unwrap().is_empty());
    // A different document is not.
    assert!(!d.means(&back.replace("x = 460\n", "x = 461\n")));
}

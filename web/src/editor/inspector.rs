//! The inspector of the selected node: one labelled input per leaf of the
//! node's JSON (dotted paths relative to `nodes.<name>`), a raw TOML/JSON
//! text area for structural edits, and keyboard-operable connect/remove
//! controls. Edits are checked as you type (the error shows under the
//! field) and applied on Enter or blur, only if the whole scenario builds.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;
use sim_core::{NodeKind, ScenarioError};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::model::{flatten, kind_label, leaf_text};

/// (dotted path relative to the node, raw text) -> the error, if any.
pub type FieldCheck = Callback<(String, String), Option<ScenarioError>>;
/// Raw node text -> the error, if any.
pub type TextCheck = Callback<String, Option<ScenarioError>>;

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub node: String,
    pub kind: NodeKind,
    /// The node's JSON.
    pub value: Rc<Value>,
    /// The node as TOML (the raw editor's starting text).
    pub text: Rc<String>,
    /// Other nodes (connect targets), in name order.
    pub others: Rc<Vec<String>>,
    /// Nodes this one has an arrow to.
    pub outgoing: Rc<Vec<String>>,
    pub editable: bool,
    /// Checks a field edit without applying it.
    pub check: FieldCheck,
    /// Applies a field edit (returns the error if it does not build).
    pub apply: FieldCheck,
    pub check_text: TextCheck,
    pub apply_text: TextCheck,
    /// Connect this node to the named one.
    pub connect: Callback<String>,
    /// Remove the arrow from this node to the named one.
    pub remove_edge: Callback<String>,
}

/// A message in words first, the path it is about as the detail.
fn error_line(e: &ScenarioError) -> Html {
    html! {
        <p class="editor-field-error" data-testid="inspector-error" role="alert">
            { capitalised(&e.message) }{ " " }<code class="field-path">{ format!("({})", e.path) }</code>
        </p>
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A field's label in words: the bounds table's, else the path's last
/// named part ("timeout_s" -> "timeout (s)", "key.n" -> "key n").
fn field_words(node: &str, path: &str) -> String {
    if let Some(b) = sim_core::bounds(&format!("nodes.{node}.{path}")) {
        if !b.label.is_empty() {
            return capitalised(b.label);
        }
    }
    let parts: Vec<&str> = path
        .split('.')
        .filter(|p| p.parse::<usize>().is_err())
        .collect();
    let last = parts
        .iter()
        .rev()
        .take(2)
        .rev()
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let words = match last.strip_suffix("_s") {
        Some(w) => format!("{w} (s)"),
        None => last,
    };
    capitalised(&words.replace('_', " "))
}

#[component(Inspector)]
pub fn inspector(p: &InspectorProps) -> Html {
    let drafts = use_state(HashMap::<String, String>::new);
    let errors = use_state(HashMap::<String, ScenarioError>::new);
    let text_draft = use_state(|| None::<String>);
    let text_error = use_state(|| None::<ScenarioError>);
    let target = use_node_ref();
    // The chosen connect target (kept across re-renders).
    let chosen = use_state(|| None::<String>);

    // A new value (applied, undone, or another node): drop stale drafts.
    {
        let (drafts, errors, text_draft, text_error) = (
            drafts.clone(),
            errors.clone(),
            text_draft.clone(),
            text_error.clone(),
        );
        use_effect_with((p.node.clone(), p.value.clone()), move |_| {
            drafts.set(HashMap::new());
            errors.set(HashMap::new());
            text_draft.set(None);
            text_error.set(None);
            || ()
        });
    }

    let leaves = flatten(&p.value);
    let fields = leaves.iter().map(|(path, v)| {
        let id = format!("insp-{path}");
        let shown = drafts
            .get(path)
            .cloned()
            .unwrap_or_else(|| leaf_text(v));
        let readonly = path == "kind" || !p.editable;
        let oninput = {
            let (drafts, errors, check, path) =
                (drafts.clone(), errors.clone(), p.check.clone(), path.clone());
            Callback::from(move |e: InputEvent| {
                let raw = e.target_unchecked_into::<HtmlInputElement>().value();
                let mut d = (*drafts).clone();
                d.insert(path.clone(), raw.clone());
                drafts.set(d);
                let mut er = (*errors).clone();
                match check.emit((path.clone(), raw)) {
                    Some(err) => er.insert(path.clone(), err),
                    None => er.remove(&path),
                };
                errors.set(er);
            })
        };
        let commit = {
            let (drafts, errors, apply, path) =
                (drafts.clone(), errors.clone(), p.apply.clone(), path.clone());
            move |raw: String| {
                let mut er = (*errors).clone();
                match apply.emit((path.clone(), raw)) {
                    Some(err) => {
                        er.insert(path.clone(), err);
                    }
                    None => {
                        er.remove(&path);
                        let mut d = (*drafts).clone();
                        d.remove(&path);
                        drafts.set(d);
                    }
                }
                errors.set(er);
            }
        };
        let onkeydown = {
            let commit = commit.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Enter" {
                    e.prevent_default();
                    commit(e.target_unchecked_into::<HtmlInputElement>().value());
                }
            })
        };
        let onblur = {
            let drafts = drafts.clone();
            let path = path.clone();
            Callback::from(move |e: FocusEvent| {
                if drafts.contains_key(&path) {
                    commit(e.target_unchecked_into::<HtmlInputElement>().value());
                }
            })
        };
        let err = errors.get(path);
        // What validation accepts here, from sim-core's bounds table.
        let hint = sim_core::bounds(&format!("nodes.{}.{path}", p.node)).map(|b| {
            let unit = if b.unit.is_empty() { String::new() } else { format!(" ({})", b.unit) };
            format!("{}{unit}: {}", b.label, b.describe())
        });
        html! {
            <div class={classes!("editor-field", err.is_some().then_some("invalid"))} key={path.clone()}>
                <label for={id.clone()}>{ field_words(&p.node, path) }{ " " }<code class="field-path">{ path.clone() }</code></label>
                <input id={id} type="text" value={shown} readonly={readonly} title={hint}
                    data-testid={format!("field-{path}")}
                    aria-invalid={if err.is_some() { "true" } else { "false" }}
                    {oninput} {onkeydown} {onblur} />
                if let Some(e) = err { { error_line(e) } }
            </div>
        }
    });

    let raw_shown = (*text_draft).clone().unwrap_or_else(|| (*p.text).clone());
    let raw_input = {
        let (text_draft, text_error, check) =
            (text_draft.clone(), text_error.clone(), p.check_text.clone());
        Callback::from(move |e: InputEvent| {
            let raw = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            text_error.set(check.emit(raw.clone()));
            text_draft.set(Some(raw));
        })
    };
    let raw_apply = {
        let (text_draft, text_error, apply) =
            (text_draft.clone(), text_error.clone(), p.apply_text.clone());
        move || {
            if let Some(t) = (*text_draft).clone() {
                match apply.emit(t) {
                    Some(e) => text_error.set(Some(e)),
                    None => {
                        text_error.set(None);
                        text_draft.set(None);
                    }
                }
            }
        }
    };
    let raw_click = {
        let f = raw_apply.clone();
        Callback::from(move |_: MouseEvent| f())
    };
    let raw_key = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) {
            e.prevent_default();
            raw_apply();
        }
    });

    let connect_change = {
        let chosen = chosen.clone();
        Callback::from(move |e: Event| {
            chosen.set(Some(e.target_unchecked_into::<HtmlSelectElement>().value()));
        })
    };
    let connect_go = {
        let (target, connect, chosen) = (target.clone(), p.connect.clone(), chosen.clone());
        Callback::from(move |_: MouseEvent| {
            let v = (*chosen)
                .clone()
                .filter(|v| !v.is_empty())
                .or_else(|| target.cast::<HtmlSelectElement>().map(|s| s.value()));
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                connect.emit(v);
            }
        })
    };

    html! {
        <section class="editor-inspector" aria-label={format!("Inspector: {}", p.node)}>
            <h3>
                <span class="editor-kind-tag">{ kind_label(p.kind) }</span>
                { " " }<span data-testid="inspector-node">{ p.node.clone() }</span>
            </h3>
            if p.editable {
                <div class="editor-connect">
                    <label for="connect-target">{ "Connect to" }</label>
                    <select id="connect-target" data-testid="connect-target" ref={target} onchange={connect_change}>
                        { for p.others.iter().map(|n| html! {
                            <option value={n.clone()} selected={chosen.as_deref() == Some(n.as_str())}>{ n.clone() }</option>
                        }) }
                    </select>
                    <button type="button" data-testid="connect-go" onclick={connect_go}>{ "Connect" }</button>
                </div>
                if !p.outgoing.is_empty() {
                    <ul class="editor-outgoing" aria-label="Arrows from this node">
                        { for p.outgoing.iter().map(|to| {
                            let cb = p.remove_edge.clone();
                            let t = to.clone();
                            html! {
                                <li key={to.clone()}>
                                    { format!("→ {to}") }
                                    <button type="button" data-testid={format!("edge-remove-{to}")}
                                        aria-label={format!("Remove the arrow from {} to {to}", p.node)}
                                        onclick={Callback::from(move |_: MouseEvent| cb.emit(t.clone()))}>
                                        { "Remove" }
                                    </button>
                                </li>
                            }
                        }) }
                    </ul>
                }
            }
            <div class="editor-fields">{ for fields }</div>
            <div class="editor-raw">
                <label for="node-raw">{ "Node as TOML or JSON (structural edits, e.g. steps)" }</label>
                <textarea id="node-raw" data-testid="node-raw" rows="10" spellcheck="false"
                    readonly={!p.editable} value={raw_shown} oninput={raw_input} onkeydown={raw_key} />
                if let Some(e) = &*text_error { { error_line(e) } }
                if p.editable {
                    <button type="button" data-testid="node-raw-apply" onclick={raw_click}
                        disabled={text_draft.is_none() || text_error.is_some()}>
                        { "Apply text (Ctrl+Enter)" }
                    </button>
                }
            </div>
        </section>
    }
}

//! `window.wasmBindings.bench_run(scenario, duration_s)`: the engine
//! benchmark, as a promise of its JSON. The engine's web worker runs it
//! (the page's own wasm has no engine); replies come back in order, so the
//! oldest waiting promise takes each one. A request made before the page
//! has started its engine waits for it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::protocol::{FromHost, ToHost};

type Send = Rc<dyn Fn(ToHost)>;

thread_local! {
    static SEND: RefCell<Option<Send>> = RefCell::new(None);
    /// Requests made before the app connected, sent when it does.
    static EARLY: RefCell<Vec<ToHost>> = const { RefCell::new(Vec::new()) };
    static WAITING: RefCell<VecDeque<js_sys::Function>> = const { RefCell::new(VecDeque::new()) };
}

/// The page's way to the engine host (set once the app starts).
pub(crate) fn connect(send: Send) {
    for m in EARLY.with(|e| std::mem::take(&mut *e.borrow_mut())) {
        send(m);
    }
    SEND.with(|s| *s.borrow_mut() = Some(send));
}

/// Resolves the oldest waiting benchmark with a `Bench` reply; false (and
/// nothing done) for any other reply.
pub(crate) fn take(reply: &FromHost) -> bool {
    let FromHost::Bench { json } = reply else {
        return false;
    };
    if let Some(resolve) = WAITING.with(|w| w.borrow_mut().pop_front()) {
        let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(json));
    }
    true
}

/// Runs `scenario_toml` for `duration_s` simulated seconds in the engine's
/// worker; resolves to `bench_run`'s JSON.
#[wasm_bindgen(js_name = bench_run)]
pub fn bench_run_in_worker(scenario_toml: String, duration_s: f64) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, _reject| {
        WAITING.with(|w| w.borrow_mut().push_back(resolve));
        let m = ToHost::Bench {
            scenario: scenario_toml.clone(),
            duration_s,
        };
        match SEND.with(|s| s.borrow().clone()) {
            Some(send) => send(m),
            None => EARLY.with(|e| e.borrow_mut().push(m)),
        }
    })
}

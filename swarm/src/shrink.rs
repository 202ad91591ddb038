//! Shrinking: a failing case made smaller while it keeps failing with the
//! same signature. Greedy, one deletion at a time: live actions, scheduled
//! faults, then optional fields anywhere in the document (required ones
//! fail validation and are put back). Runs in this process, so it shrinks
//! failures that return (panics, stalls, runaways, mismatches, messages),
//! not those that kill the process (stack overflow, allocation failure).

use crate::case::{Case, Input};
use crate::check::{check, Verdict};
use crate::gen::mutate::{self, Seg};
use crate::run::Limits;
use serde_json::Value;

/// The signature `case` fails with, if it fails.
pub fn signature(case: &Case, limits: Limits) -> Option<String> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case, limits)));
    std::panic::set_hook(prev);
    match r {
        Ok(Verdict::Failed(f)) => Some(f.signature),
        Ok(_) => None,
        // A panic: its location is in the message the hook swallowed; the
        // phase is enough to tell it from a different failure.
        Err(_) => Some(format!("panic during {}", crate::current_phase())),
    }
}

/// Shrinks `case`; returns the smaller case and the number of deletions.
pub fn shrink(case: &Case, limits: Limits) -> (Case, usize) {
    let Some(want) = signature(case, limits) else {
        return (case.clone(), 0);
    };
    let mut best = case.clone();
    let mut kept = 0;
    let mut i = 0;
    while i < best.plan.actions.len() {
        let mut c = best.clone();
        c.plan.actions.remove(i);
        if signature(&c, limits).as_ref() == Some(&want) {
            best = c;
            kept += 1;
        } else {
            i += 1;
        }
    }
    let Input::Doc(_) = &best.input else {
        return (best, kept);
    };
    // Deepest paths first: leaves go before the tables holding them.
    let mut changed = true;
    let mut tries = 0;
    while changed && tries < 3000 {
        changed = false;
        let Input::Doc(doc) = &best.input else { break };
        let mut paths = mutate::paths(doc);
        paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in paths {
            let Some(c) = without(&best, &p) else {
                continue;
            };
            tries += 1;
            if signature(&c, limits).as_ref() == Some(&want) {
                best = c;
                kept += 1;
                changed = true;
                break;
            }
        }
    }
    (best, kept)
}

/// The case with the value at `p` removed (a key from a table, an element
/// from a list).
fn without(case: &Case, p: &[Seg]) -> Option<Case> {
    let Input::Doc(doc) = &case.input else {
        return None;
    };
    let (last, parent) = p.split_last()?;
    if p.len() < 2 && matches!(last, Seg::Key(k) if k == "version" || k == "nodes") {
        return None;
    }
    let mut d = doc.clone();
    match (last, mutate::get_mut(&mut d, parent)?) {
        (Seg::Key(k), Value::Object(m)) => {
            m.remove(k)?;
        }
        (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
        }
        _ => return None,
    }
    let mut c = case.clone();
    c.input = Input::Doc(d);
    Some(c)
}

//! Case generators. [`case`] turns a case seed into a [`Case`], choosing a
//! generator by weight:
//!
//! | origin    | what                                                        |
//! |-----------|-------------------------------------------------------------|
//! | `valid`   | a random topology with ordinary numbers, faults, live edits |
//! | `edge`    | the same with legal extremes (0, 1 ns, 1.9e10 s, 1e300)     |
//! | `asset`   | a shipped scenario, edited, with faults and its fix live    |
//! | `lesson`  | a lesson state toggled live to other states                 |
//! | `invalid` | a valid or shipped document with one invalid edit           |
//! | `text`    | corrupted TOML/JSON text                                    |
//! | `set`     | `--set` edits with good and bad paths and values            |
//! | `lesson-file` | a lesson file with one invalid edit                     |
//! | `hostile` | the shapes issue #17 lists (deep chains, huge products, ...) |
//!
//! The generators know the vocabulary of docs/SCENARIOS.md; when it
//! changes, `values.rs`, `steps.rs` and `topology.rs` change with it.

pub mod assets;
pub mod hostile;
pub mod live;
pub mod mutate;
pub mod steps;
pub mod text;
pub mod topology;
pub mod values;

use crate::case::{Case, Input, Plan};
use crate::rng::Gen;
use serde_json::Value;
use topology::Shape;
use values::Values;

/// The generators and their weights in a default run.
pub const ORIGINS: [(&str, u32); 9] = [
    ("valid", 125),
    ("edge", 50),
    ("asset", 50),
    ("lesson", 30),
    ("invalid", 125),
    ("text", 40),
    ("set", 40),
    ("lesson-file", 25),
    // Rare: each takes seconds (it aims at the host's limits).
    ("hostile", 1),
];

/// The case of `seed`. `only` restricts the generator (`valid`,
/// `hostile:deep-chain`, ...).
pub fn case(seed: u64, only: Option<&str>) -> Case {
    let mut g = Gen::new(seed);
    let weights: Vec<u32> = ORIGINS.iter().map(|(_, w)| *w).collect();
    let pick = ORIGINS[g.weighted(&weights)].0;
    let (origin, family) = match only {
        Some(o) => o.split_once(':').map_or((o, None), |(a, b)| (a, Some(b))),
        None => (pick, None),
    };
    let mut g = Gen::new(g.fork());
    let mut c = match origin {
        "valid" | "edge" => random_run(&mut g, origin),
        "asset" => {
            let (doc, note, actions) = assets::scenario_case(&mut g);
            run_case(&mut g, "asset", note, doc, actions)
        }
        "lesson" => match assets::lesson_case(&mut g) {
            Some((doc, note, actions)) => run_case(&mut g, "lesson", note, doc, actions),
            None => random_run(&mut g, "valid"),
        },
        "invalid" => invalid(&mut g),
        "text" => {
            let doc = base_doc(&mut g);
            let (input, note, expect) = text::text_case(&mut g, &doc);
            bare(&mut g, "text", note, input, expect)
        }
        "set" => {
            let doc = base_doc(&mut g);
            let (input, note) = text::set_case(&mut g, &doc);
            bare(&mut g, "set", note, input, None)
        }
        "lesson-file" => {
            let (input, note) = assets::lesson_text_case(&mut g);
            bare(&mut g, "lesson-file", note, input, None)
        }
        _ => {
            let (doc, note, max_work) = match family {
                Some(f) => hostile::family_case(&mut g, f),
                None => hostile::case(&mut g),
            };
            let h = horizon(&doc);
            let plan = hostile::plan(h, max_work);
            Case {
                seed,
                origin: "hostile".into(),
                note,
                input: Input::Doc(doc),
                expect: None,
                plan,
            }
        }
    };
    c.seed = seed;
    c
}

fn horizon(doc: &Value) -> f64 {
    doc.get("duration_s")
        .and_then(|d| d.as_f64())
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(600.0)
        .min(600.0)
}

/// A random topology (`valid`: ordinary numbers; `edge`: legal extremes).
fn random_run(g: &mut Gen, origin: &str) -> Case {
    let edge = if origin == "edge" { 0.12 } else { 0.0 };
    let shape = Shape::random(g);
    let mut v = Values { g, edge };
    let mut doc = topology::scenario(&mut v, &shape);
    let h = horizon(&doc);
    live::schedule_faults(&mut v, &mut doc, h);
    let note = format!(
        "{} sources, {} services, {} externals, {} balancers, {} databases, {} caches, {} brokers",
        shape.sources,
        shape.services,
        shape.externals,
        shape.balancers,
        shape.databases,
        shape.caches,
        shape.brokers
    );
    run_case(g, origin, note, doc, Vec::new())
}

fn run_case(
    g: &mut Gen,
    origin: &str,
    note: String,
    doc: Value,
    extra: Vec<crate::case::Action>,
) -> Case {
    let edge = if origin == "edge" { 0.12 } else { 0.0 };
    let mut plan = live::plan(g, &doc, edge);
    plan.actions.extend(extra);
    plan.actions.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    Case {
        seed: 0,
        origin: origin.into(),
        note,
        input: Input::Doc(doc),
        expect: None,
        plan,
    }
}

/// A case with only a parse/build step (and a short run if it is accepted).
fn bare(
    g: &mut Gen,
    origin: &str,
    note: String,
    input: Input,
    expect: Option<crate::case::Expect>,
) -> Case {
    let plan = Plan {
        horizon_s: 10.0,
        same_at_s: Gen::round3(g.uniform(0.0, 10.0)),
        observe_a: vec![5.0],
        observe_b: vec![2.5],
        ..Plan::default()
    };
    Case {
        seed: 0,
        origin: origin.into(),
        note,
        input,
        expect,
        plan,
    }
}

/// A valid document to corrupt: generated or shipped.
fn base_doc(g: &mut Gen) -> Value {
    if g.chance(0.5) {
        let a = assets::assets();
        a.scenarios[g.index(a.scenarios.len())].doc.clone()
    } else {
        let shape = Shape::random(g);
        topology::scenario(&mut Values { g, edge: 0.0 }, &shape)
    }
}

fn invalid(g: &mut Gen) -> Case {
    let doc = base_doc(g);
    let (bad, what, expect) = mutate::invalid(g, &doc);
    // A base the engine refuses already (a generated topology over the work
    // estimate) is refused for that, wherever the edit was made.
    let expect = expect.filter(|_| sim_core::Scenario::from_value(&doc).is_ok());
    let plan = live::plan(g, &bad, 0.0);
    Case {
        seed: 0,
        origin: "invalid".into(),
        note: what,
        input: Input::Doc(bad),
        expect,
        plan,
    }
}

//! Every shipped scenario, embedded at compile time (see `web/build.rs`),
//! and the pure logic that adapts the page to one: which controls it gets,
//! whether the Erlang C overlay applies, which faults each node takes.
//! Browser-free and unit-tested natively.

use sim_core::scenario::ArrivalSpec;
use sim_core::spec::{CallPolicy, Discipline, FaultAction, FaultSpec};
use sim_core::{DistSpec, FieldBounds, NodeSpec, Scenario};

/// Which `<optgroup>` a scenario is listed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `assets/scenarios/*.toml`: the textbook queues and small topologies.
    Reference,
    /// `assets/scenarios/catalogue/*.toml`: one scenario per anti-pattern.
    Catalogue,
}

impl Group {
    pub const ALL: [Group; 2] = [Group::Reference, Group::Catalogue];

    pub fn label(self) -> &'static str {
        match self {
            Group::Reference => "Reference models",
            Group::Catalogue => "Catalogue of mistakes",
        }
    }
}

/// One embedded scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Embedded {
    /// Path under `assets/scenarios/`: `"mmc.toml"`, `"catalogue/CACHE-NONE.toml"`
    /// (the `<option>` value).
    pub id: &'static str,
    pub group: Group,
    /// File name.
    pub file: &'static str,
    /// The scenario's top-level `name` (read by the build script).
    pub title: &'static str,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

/// The scenario the page opens with.
pub const DEFAULT_ID: &str = "mmc.toml";

impl Embedded {
    /// The catalogue id (`"CACHE-NONE"`) or the file name (`"mmc.toml"`).
    pub fn short(&self) -> &'static str {
        match self.group {
            Group::Reference => self.file,
            Group::Catalogue => self.file.strip_suffix(".toml").unwrap_or(self.file),
        }
    }

    /// The option label, the scenario's title in words: `"Clients -> api
    /// -> db"`, or `"Every read hits the database (CACHE-NONE)"` (the
    /// catalogue's id, which the lessons and the article use, as the
    /// detail; the catalogue titles start with their id, not repeated).
    /// A scenario without a title shows its file name.
    pub fn label(&self) -> String {
        let short = self.short();
        let title = self
            .title
            .strip_prefix(short)
            .map(|t| t.trim_start_matches([':', ' ', '-', '—']))
            .unwrap_or(self.title);
        let mut c = title.chars();
        let title: String = c
            .next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default();
        match (title.is_empty(), self.group) {
            (true, _) => short.to_string(),
            (false, Group::Reference) => title,
            (false, Group::Catalogue) => format!("{title} ({short})"),
        }
    }
}

pub fn all() -> &'static [Embedded] {
    EMBEDDED
}

pub fn find(id: &str) -> Option<&'static Embedded> {
    EMBEDDED.iter().find(|e| e.id == id)
}

pub fn in_group(group: Group) -> impl Iterator<Item = &'static Embedded> {
    EMBEDDED.iter().filter(move |e| e.group == group)
}

// ----- control adaptation ----------------------------------------------------------

/// A slider's limits, from sim-core's bounds table: a slider never offers a
/// value validation refuses. (A path the table does not know gets no limits
/// beyond finiteness; validation would refuse the edit, naming the field.)
fn field_bounds(path: &str) -> FieldBounds {
    sim_core::bounds(path).unwrap_or(FieldBounds {
        min: f64::MIN,
        max: f64::MAX,
        min_open: false,
        max_open: false,
        integer: false,
        unit: "",
        label: "value",
    })
}

/// The arrival-rate slider: drives `nodes.SOURCE.arrival.rate` of the first
/// Poisson or constant source, from 0.1× to 3× its value when the scenario
/// was loaded, within the field's bounds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RateControl {
    pub source: String,
    /// The rate the range was made around, requests/s.
    pub base: f64,
    /// The rate in the running scenario.
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    /// Decimals that `step` needs (the read-out and rounding use them).
    pub decimals: usize,
    /// The field's unit, from the bounds table ("req/s").
    pub unit: String,
}

impl RateControl {
    pub fn new(source: &str, base: f64) -> RateControl {
        let bounds = field_bounds(&format!("nodes.{source}.arrival.rate"));
        // About 1/50 of the file value, as a power of ten: 9 -> 0.1, 200 -> 1.
        let exp = (base / 50.0).log10().floor().clamp(-4.0, 6.0);
        let step = 10f64.powf(exp);
        let decimals = (-exp).max(0.0) as usize;
        let round = |x: f64| round_to(x, decimals);
        let lowest = round(bounds.lowest(step));
        let highest = round(bounds.highest(step));
        let min = round(((0.1 * base) / step).round().max(1.0) * step).clamp(lowest, highest);
        let max = round(((3.0 * base) / step).round() * step)
            .max(min + step)
            .clamp(lowest, highest);
        RateControl {
            source: source.to_string(),
            base,
            value: base,
            min,
            max,
            step: round(step),
            decimals,
            unit: bounds.unit.to_string(),
        }
    }

    /// The field the slider edits.
    pub fn param(&self) -> String {
        format!("nodes.{}.arrival.rate", self.source)
    }

    pub fn contains(&self, rate: f64) -> bool {
        rate.is_finite() && rate >= self.min - 1e-9 && rate <= self.max + 1e-9
    }

    /// Rounds a slider value to the control's precision.
    pub fn snap(&self, rate: f64) -> f64 {
        round_to(rate, self.decimals)
    }

    /// `"9.8 req/s"`, `"200 req/s"`.
    pub fn format(&self, rate: f64) -> String {
        format!("{:.*} {}", self.decimals, rate, self.unit)
    }
}

fn round_to(x: f64, decimals: usize) -> f64 {
    let k = 10f64.powi(decimals as i32);
    (x * k).round() / k
}

/// The workers slider: drives `nodes.NODE.workers` of the first service,
/// from the field's lowest value to twice the loaded value (at least 20),
/// within the field's bounds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkersControl {
    pub node: String,
    /// The workers the range was made around.
    pub base: u32,
    /// The workers in the running scenario.
    pub value: u32,
    pub min: u32,
    pub max: u32,
}

impl WorkersControl {
    pub fn new(node: &str, base: u32) -> WorkersControl {
        let bounds = field_bounds(&format!("nodes.{node}.workers"));
        let lowest = bounds.lowest(1.0).max(0.0) as u32;
        let highest = bounds.highest(1.0).min(u32::MAX as f64) as u32;
        WorkersControl {
            node: node.to_string(),
            base,
            value: base,
            min: lowest,
            max: (2 * base).max(20).clamp(lowest, highest),
        }
    }

    /// The field the slider edits.
    pub fn param(&self) -> String {
        format!("nodes.{}.workers", self.node)
    }

    pub fn contains(&self, w: u32) -> bool {
        (self.min..=self.max).contains(&w)
    }
}

/// The scenario is a single M/M/c queue: Erlang C applies, with service rate `mu`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MmcTheory {
    pub mu: f64,
}

/// What the page shows and lets the user drive for one scenario.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveControls {
    pub name: String,
    pub description: String,
    pub rate: Option<RateControl>,
    pub workers: Option<WorkersControl>,
    pub theory: Option<MmcTheory>,
    /// The node whose utilisation and queue the second chart and the node
    /// card show: the workers slider's service, else the first non-source node.
    pub focus: Option<String>,
}

impl LiveControls {
    pub fn from_scenario(sc: &Scenario) -> LiveControls {
        let rate_source = sc.nodes.iter().find_map(|(name, n)| match n {
            NodeSpec::Source(s) => match s.arrival {
                ArrivalSpec::Poisson { rate } | ArrivalSpec::Constant { rate } => {
                    Some((name, s, rate))
                }
                _ => None,
            },
            _ => None,
        });
        let rate = rate_source
            .filter(|(_, _, r)| r.is_finite() && *r > 0.0)
            .map(|(name, _, r)| RateControl::new(name, r));
        let service = first_service(sc);
        let workers = service.map(|(name, s)| WorkersControl::new(name, s.workers.max(1)));
        let focus = service.map(|(n, _)| n.clone()).or_else(|| {
            sc.nodes
                .iter()
                .find(|(_, n)| !matches!(n, NodeSpec::Source(_)))
                .map(|(k, _)| k.clone())
        });
        LiveControls {
            name: sc.name.clone(),
            description: sc.description.clone(),
            rate,
            workers,
            theory: mmc_theory(sc),
            focus,
        }
    }

    /// The controls after an edit to the running scenario: a slider that
    /// still drives the same field keeps its range (so a drag does not move
    /// the range under the pointer) and shows the scenario's value, as long
    /// as that value is in its range; otherwise it is made anew.
    pub fn follow(&self, sc: &Scenario) -> LiveControls {
        let mut next = LiveControls::from_scenario(sc);
        if let (Some(old), Some(new)) = (&self.rate, &mut next.rate) {
            if old.source == new.source && old.contains(new.value) {
                *new = RateControl {
                    value: new.value,
                    ..old.clone()
                };
            }
        }
        if let (Some(old), Some(new)) = (&self.workers, &mut next.workers) {
            if old.node == new.node && old.contains(new.value) {
                *new = WorkersControl {
                    value: new.value,
                    ..old.clone()
                };
            }
        }
        next
    }

    pub fn theory_applies(&self) -> bool {
        self.theory.is_some()
    }
}

/// "The first service": the service the first source sends to, if it is one
/// (the entry point of the topology); otherwise the first service by name.
pub fn first_service(sc: &Scenario) -> Option<(&String, &sim_core::spec::ServiceSpec)> {
    let entry = sc.nodes.values().find_map(|n| match n {
        NodeSpec::Source(s) => Some(s.target.as_str()),
        _ => None,
    });
    fn as_service<'a>(
        (k, n): (&'a String, &'a NodeSpec),
    ) -> Option<(&'a String, &'a sim_core::spec::ServiceSpec)> {
        match n {
            NodeSpec::Service(s) => Some((k, s)),
            _ => None,
        }
    }
    entry
        .and_then(|t| sc.nodes.get_key_value(t))
        .and_then(as_service)
        .or_else(|| sc.nodes.iter().find_map(as_service))
}

/// `Some` when the scenario is exactly one Poisson source feeding one
/// service with an exponential `service` time, one replica, an unbounded
/// FIFO queue and nothing else (no timeouts or retries, limits, faults).
pub fn mmc_theory(sc: &Scenario) -> Option<MmcTheory> {
    if sc.nodes.len() != 2 || !sc.faults.is_empty() {
        return None;
    }
    let mut source = None;
    let mut service = None;
    for (name, n) in &sc.nodes {
        match n {
            NodeSpec::Source(s) => source = Some(s),
            NodeSpec::Service(s) => service = Some((name, s)),
            _ => return None,
        }
    }
    let (src, (name, svc)) = (source?, service?);
    let src_ok = matches!(src.arrival, ArrivalSpec::Poisson { .. })
        && src.target == *name
        && src.endpoint.is_none()
        && src.policy == CallPolicy::default();
    let mean = match &svc.service {
        Some(DistSpec::Exponential { mean_s }) if *mean_s > 0.0 && mean_s.is_finite() => *mean_s,
        _ => return None,
    };
    let svc_ok = svc.steps.is_empty()
        && svc.endpoints.is_empty()
        && svc.replicas == 1
        && svc.queue.capacity.is_none()
        && svc.queue.discipline == Discipline::Fifo
        && svc.contention.is_none()
        && svc.max_in_flight.is_none()
        && svc.rate_limit.is_none()
        && svc.memory.is_none()
        && svc.pools.is_empty()
        && svc.autoscale.is_none()
        && svc.error_rate == 0.0;
    (src_ok && svc_ok).then_some(MmcTheory { mu: 1.0 / mean })
}

// ----- live faults -----------------------------------------------------------------

/// How long the timed fault buttons last.
pub const FAULT_DURATION_S: f64 = 10.0;
pub const SLOW_FACTOR: f64 = 5.0;
pub const SPIKE_FACTOR: f64 = 3.0;

/// The live fault buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FaultButton {
    Crash,
    Slow,
    Flush,
    /// Every source's rate ×3 for 10 s (needs no target).
    Spike,
}

impl FaultButton {
    pub const ALL: [FaultButton; 4] = [
        FaultButton::Crash,
        FaultButton::Slow,
        FaultButton::Flush,
        FaultButton::Spike,
    ];

    /// Whether the button needs a target node (the spike hits every source).
    pub fn targeted(self) -> bool {
        self != FaultButton::Spike
    }

    pub fn label(self) -> &'static str {
        match self {
            FaultButton::Crash => "Crash 10 s",
            FaultButton::Slow => "Slow ×5 for 10 s",
            FaultButton::Flush => "Flush cache",
            FaultButton::Spike => "Load spike ×3 for 10 s",
        }
    }

    pub fn dom_id(self) -> &'static str {
        match self {
            FaultButton::Crash => "fault-crash",
            FaultButton::Slow => "fault-slow",
            FaultButton::Flush => "fault-flush",
            FaultButton::Spike => "fault-spike",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            FaultButton::Crash => {
                "Replica 0 dies for 10 s: its requests fail and arrivals are refused"
            }
            FaultButton::Slow => "Every compute step of the node takes 5× longer for 10 s",
            FaultButton::Flush => "Empty the cache now",
            FaultButton::Spike => "Every source sends 3× its rate for 10 s",
        }
    }

    /// Whether the engine accepts this fault on a node of `kind`
    /// (`Sim::inject_fault`: crash and slow need a node with workers).
    pub fn applies_to(self, kind: &str) -> bool {
        match self {
            FaultButton::Crash | FaultButton::Slow => {
                matches!(kind, "service" | "database" | "cache" | "external")
            }
            FaultButton::Flush => kind == "cache",
            FaultButton::Spike => true,
        }
    }

    pub fn spec(self, target: &str) -> FaultSpec {
        let (action, duration_s) = match self {
            FaultButton::Crash => (FaultAction::Crash {}, Some(FAULT_DURATION_S)),
            FaultButton::Slow => (
                FaultAction::Slow {
                    factor: SLOW_FACTOR,
                },
                Some(FAULT_DURATION_S),
            ),
            FaultButton::Flush => (FaultAction::Flush {}, None),
            FaultButton::Spike => (
                FaultAction::Spike {
                    factor: SPIKE_FACTOR,
                },
                Some(FAULT_DURATION_S),
            ),
        };
        FaultSpec {
            at_s: 0.0,
            duration_s,
            target: target.to_string(),
            replica: None,
            action,
        }
    }
}

/// The nodes at least one fault button applies to, as `(name, kind)`, in
/// topology order.
pub fn fault_targets(topology_nodes: &[(String, String)]) -> Vec<(String, String)> {
    topology_nodes
        .iter()
        .filter(|(_, kind)| {
            FaultButton::ALL
                .iter()
                .any(|b| b.targeted() && b.applies_to(kind))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Sim;

    fn parse(id: &str) -> Scenario {
        Scenario::from_str_any(find(id).unwrap().text).unwrap()
    }

    #[test]
    fn table_lists_every_shipped_scenario_and_each_parses_and_builds() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/scenarios");
        let count = |d: &str| {
            std::fs::read_dir(d)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "toml")
                })
                .count()
        };
        let on_disk = count(dir) + count(&format!("{dir}/catalogue"));
        assert!(on_disk > 0);
        assert_eq!(all().len(), on_disk, "rebuild: the table is stale");
        for g in Group::ALL {
            assert!(in_group(g).count() > 0, "{g:?} is empty");
        }
        for e in all() {
            let sc = Scenario::from_str_any(e.text).unwrap_or_else(|err| panic!("{}: {err}", e.id));
            assert_eq!(sc.name, e.title, "{}", e.id);
            Sim::new(&sc, sc.seed).unwrap_or_else(|err| panic!("{}: {err}", e.id));
            let c = LiveControls::from_scenario(&sc);
            assert!(c.focus.is_some(), "{}: nothing to chart", e.id);
        }
        assert!(find(DEFAULT_ID).is_some());
        assert!(find("chain.toml").is_some());
        assert!(find("catalogue/CACHE-NONE.toml").is_some());
        let ids: std::collections::BTreeSet<_> = all().iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), all().len(), "ids are unique");
    }

    #[test]
    fn labels_are_titles_in_words() {
        let chain = find("chain.toml").unwrap();
        assert_eq!(chain.group, Group::Reference);
        assert_eq!(chain.label(), "Clients -> api -> db");
        let c = find("catalogue/CACHE-NONE.toml").unwrap();
        assert_eq!(c.group, Group::Catalogue);
        assert_eq!(c.short(), "CACHE-NONE");
        assert_eq!(c.label(), "Every read hits the database (CACHE-NONE)");
    }

    #[test]
    fn mmc_gets_both_sliders_and_the_theory() {
        let c = LiveControls::from_scenario(&parse("mmc.toml"));
        let r = c.rate.as_ref().unwrap();
        assert_eq!(r.source, "clients");
        assert_eq!(r.param(), "nodes.clients.arrival.rate");
        assert_eq!(
            (r.base, r.min, r.max, r.step, r.decimals),
            (9.0, 0.9, 27.0, 0.1, 1)
        );
        assert!(r.contains(9.8) && !r.contains(0.5) && !r.contains(f64::NAN));
        assert_eq!(r.format(r.snap(9.8000001)), "9.8 req/s");
        let w = c.workers.as_ref().unwrap();
        assert_eq!(
            (w.node.as_str(), w.base, w.min, w.max),
            ("server", 10, 1, 20)
        );
        assert_eq!(w.param(), "nodes.server.workers");
        assert_eq!(c.theory, Some(MmcTheory { mu: 1.0 }));
        assert_eq!(c.focus.as_deref(), Some("server"));
    }

    #[test]
    fn chain_drives_the_entry_service_and_has_no_theory() {
        let c = LiveControls::from_scenario(&parse("chain.toml"));
        let r = c.rate.unwrap();
        assert_eq!(
            (r.base, r.min, r.max, r.step, r.decimals),
            (200.0, 20.0, 600.0, 1.0, 0)
        );
        assert_eq!(r.format(250.0), "250 req/s");
        assert_eq!(c.workers.unwrap().node, "api");
        assert!(c.theory.is_none());
        assert_eq!(c.focus.as_deref(), Some("api"));
    }

    #[test]
    fn theory_applies_only_to_a_single_mmc_queue() {
        for (id, applies) in [
            ("mmc.toml", true),
            ("mm1.toml", true),
            ("md1.toml", false),  // deterministic service
            ("mm1k.toml", false), // finite room
            ("chain.toml", false),
            ("catalogue/CACHE-NONE.toml", false),
        ] {
            assert_eq!(mmc_theory(&parse(id)).is_some(), applies, "{id}");
        }
        // A timeout on the client makes it something else.
        let mut sc = parse("mmc.toml");
        if let Some(NodeSpec::Source(s)) = sc.nodes.get_mut("clients") {
            s.policy.timeout_s = Some(2.0);
        }
        assert!(mmc_theory(&sc).is_none());
    }

    #[test]
    fn sliders_hide_without_a_fixed_rate_source_or_a_service() {
        let sc = Scenario::from_toml_str(
            r#"
            version = 1
            name = "closed loop into a cache"
            [nodes.users]
            kind = "source"
            target = "kv"
            arrival = { process = "closed", users = 5, think = { dist = "constant", value_s = 1.0 } }
            [nodes.kv]
            kind = "cache"
            capacity_entries = 100
            latency = { dist = "constant", value_s = 0.001 }
            "#,
        );
        let sc = match sc {
            Ok(sc) => sc,
            // if caches cannot be called directly, the test is moot
            Err(e) => return eprintln!("skipped: {e}"),
        };
        let c = LiveControls::from_scenario(&sc);
        assert!(c.rate.is_none());
        assert!(c.workers.is_none());
        assert!(c.theory.is_none());
        assert_eq!(c.focus.as_deref(), Some("kv"));
    }

    #[test]
    fn rate_ranges_scale_with_the_file_value() {
        let r = RateControl::new("s", 0.9);
        assert_eq!((r.min, r.max, r.step, r.decimals), (0.09, 2.7, 0.01, 2));
        let r = RateControl::new("s", 700.0);
        assert_eq!((r.min, r.max, r.step), (70.0, 2100.0, 10.0));
        for base in [0.01, 0.3, 1.0, 42.0, 5_000.0] {
            let r = RateControl::new("s", base);
            assert!(r.contains(base), "{base}: {r:?}");
            assert!(r.min > 0.0 && r.min < base && r.max > base, "{r:?}");
        }
    }

    /// Every slider of every shipped scenario takes its limits from sim-core's
    /// bounds table, the table validation checks against: each end of the
    /// slider is accepted when the scenario is edited to it, and a value just
    /// past the table's limit is refused, naming the slider's field.
    #[test]
    fn every_slider_reads_its_bounds_from_validation() {
        let mut sliders = 0;
        for e in all() {
            let sc = parse(e.id);
            let doc =
                sim_core::ScenarioDoc::parse(e.text, sim_core::Format::sniff(e.text)).unwrap();
            let c = LiveControls::from_scenario(&sc);
            let edited = |path: &str, v: serde_json::Value| {
                let mut d = doc.clone();
                d.set_value(path, v).unwrap();
                d.build()
            };
            let mut check = |path: String, lo: f64, hi: f64, integer: bool| {
                sliders += 1;
                let b = sim_core::bounds(&path).unwrap_or_else(|| panic!("{path}: no bounds"));
                assert_eq!(b.integer, integer, "{}: {path}", e.id);
                for v in [lo, hi] {
                    assert!(b.contains(v), "{}: {path} offers {v}, outside {b:?}", e.id);
                    let v = if integer { (v as u64).into() } else { v.into() };
                    edited(&path, v).unwrap_or_else(|err| panic!("{}: {err}", e.id));
                }
                let past = if b.max.is_finite() {
                    b.max * 2.0
                } else {
                    b.min - 1.0
                };
                let err = edited(&path, past.into()).unwrap_err();
                assert_eq!(err.path, path, "{}: {err}", e.id);
            };
            if let Some(r) = &c.rate {
                let b = sim_core::bounds(&r.param()).unwrap();
                assert_eq!(r.unit, b.unit, "{}", e.id);
                check(r.param(), r.min, r.max, false);
            }
            if let Some(w) = &c.workers {
                check(w.param(), w.min as f64, w.max as f64, true);
            }
        }
        assert!(sliders >= all().len(), "{sliders} sliders");
    }

    #[test]
    fn a_slider_keeps_its_range_while_the_scenario_follows_it() {
        let sc = parse("mmc.toml");
        let c = LiveControls::from_scenario(&sc);
        let mut moved = sc.clone();
        if let NodeSpec::Source(s) = moved.nodes.get_mut("clients").unwrap() {
            s.arrival = ArrivalSpec::Poisson { rate: 9.8 };
        }
        let f = c.follow(&moved);
        let (r0, r1) = (c.rate.as_ref().unwrap(), f.rate.as_ref().unwrap());
        assert_eq!(
            (r1.value, r1.min, r1.max, r1.base),
            (9.8, r0.min, r0.max, 9.0)
        );
        // a value beyond the range makes a new range around it
        if let NodeSpec::Source(s) = moved.nodes.get_mut("clients").unwrap() {
            s.arrival = ArrivalSpec::Poisson { rate: 100.0 };
        }
        let f = c.follow(&moved);
        assert_eq!(f.rate.as_ref().unwrap().base, 100.0);
    }

    #[test]
    fn fault_buttons_match_node_kinds() {
        let nodes: Vec<(String, String)> = [
            ("api", "service"),
            ("cache", "cache"),
            ("clients", "source"),
            ("db", "database"),
            ("q", "broker"),
            ("lb", "load_balancer"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let t: Vec<_> = fault_targets(&nodes).into_iter().map(|(n, _)| n).collect();
        assert_eq!(t, ["api", "cache", "db"]);
        assert!(FaultButton::Flush.applies_to("cache"));
        assert!(!FaultButton::Flush.applies_to("service"));
        assert!(FaultButton::Crash.applies_to("database"));
        let s = FaultButton::Slow.spec("api");
        assert_eq!(s.target, "api");
        assert_eq!(s.duration_s, Some(10.0));
        assert_eq!(s.action, FaultAction::Slow { factor: 5.0 });
        assert_eq!(FaultButton::Flush.spec("cache").duration_s, None);
    }

    #[test]
    fn every_fault_button_is_accepted_where_it_applies() {
        let sc = parse("catalogue/CACHE-NONE.toml");
        let mut sim = Sim::new(&sc, 1).unwrap();
        sim.run_until(2_000_000_000).unwrap();
        let topo = sim.topology();
        for (name, kind) in fault_targets(&topo.nodes) {
            for b in FaultButton::ALL {
                let res = sim.inject_fault(b.spec(&name));
                assert_eq!(
                    res.is_ok(),
                    b.applies_to(&kind),
                    "{b:?} on {name} ({kind}): {res:?}"
                );
            }
        }
        sim.run_until(20_000_000_000).unwrap();
        assert!(sim.report().conservation.ok);
    }
}

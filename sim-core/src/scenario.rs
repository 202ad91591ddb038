//! The scenario format: a topology declared as data.
//!
//! A scenario is read from TOML or JSON into a generic document
//! ([`ScenarioDoc`]), optionally edited by dotted path (`--set
//! nodes.api.workers=12`), then deserialised and validated into a typed
//! [`Scenario`]. Every error names the field path and what is wrong; nothing
//! here panics on bad input.

use crate::dist::DistSpec;
use crate::spec::yes;
pub use crate::spec::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// An error in a scenario document: the dotted path of the field and what is
/// wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    pub path: String,
    pub message: String,
}

impl ScenarioError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

/// The text format of a scenario document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// Guesses the format from the text: JSON documents start with `{`.
    pub fn sniff(text: &str) -> Format {
        if text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

/// A scenario document before typing: what `--set` and share links edit.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioDoc(pub Value);

impl ScenarioDoc {
    /// Parses TOML or JSON text.
    pub fn parse(text: &str, format: Format) -> Result<Self, ScenarioError> {
        let v: Value = match format {
            Format::Toml => toml::from_str(text)
                .map_err(|e| ScenarioError::new("", format!("TOML syntax error: {}", e.message())))
                .map_err(|mut err| {
                    if let Some(span) = toml_span_line(text, &err) {
                        err.message = format!("{} (line {span})", err.message);
                    }
                    err
                })?,
            Format::Json => serde_json::from_str(text)
                .map_err(|e| ScenarioError::new("", format!("JSON syntax error: {e}")))?,
        };
        if !v.is_object() {
            return Err(ScenarioError::new(
                "",
                "a scenario must be a table/object at the top level",
            ));
        }
        Ok(ScenarioDoc(v))
    }

    /// Sets the field at a dotted `path` (`nodes.api.workers`,
    /// `nodes.api.steps.1.call.to` or `nodes.api.steps[1].call.to`) to
    /// `raw`, which is read as JSON (number, bool, quoted string, array,
    /// object) or, failing that, as a bare string. Missing intermediate tables
    /// are created.
    pub fn set(&mut self, path: &str, raw: &str) -> Result<(), ScenarioError> {
        let value = parse_value(raw);
        self.set_value(path, value)
    }

    /// Like [`ScenarioDoc::set`] with an already-typed value.
    pub fn set_value(&mut self, path: &str, value: Value) -> Result<(), ScenarioError> {
        let segs = split_path(path)?;
        let mut cur = &mut self.0;
        let mut walked = String::new();
        for (i, seg) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(seg);
            match cur {
                Value::Object(map) => {
                    if last {
                        map.insert(seg.to_string(), value);
                        return Ok(());
                    }
                    cur = map
                        .entry(seg.to_string())
                        .or_insert_with(|| Value::Object(Default::default()));
                }
                Value::Array(arr) => {
                    let idx: usize = seg.parse().map_err(|_| {
                        ScenarioError::new(&walked, "this is a list: expected a numeric index")
                    })?;
                    let len = arr.len();
                    let slot = arr.get_mut(idx).ok_or_else(|| {
                        ScenarioError::new(
                            &walked,
                            format!("index {idx} out of range (list has {len} items)"),
                        )
                    })?;
                    if last {
                        *slot = value;
                        return Ok(());
                    }
                    cur = slot;
                }
                _ => {
                    return Err(ScenarioError::new(
                        &walked,
                        "cannot set a field inside a value that is not a table",
                    ))
                }
            }
        }
        Err(ScenarioError::new(path, "empty path"))
    }

    /// Reads the value at a dotted path, if present.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let segs = split_path(path).ok()?;
        let mut cur = &self.0;
        for seg in segs {
            cur = match cur {
                Value::Object(m) => m.get(&seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Types and validates the document.
    pub fn build(&self) -> Result<Scenario, ScenarioError> {
        Scenario::from_value(&self.0)
    }
}

fn toml_span_line(text: &str, _err: &ScenarioError) -> Option<usize> {
    // Re-parse to get the span (toml's error keeps it privately in Display).
    let e = toml::from_str::<toml::Value>(text).err()?;
    let span = e.span()?;
    Some(text[..span.start.min(text.len())].matches('\n').count() + 1)
}

fn parse_value(raw: &str) -> Value {
    let t = raw.trim();
    if let Ok(v) = serde_json::from_str::<Value>(t) {
        return v;
    }
    Value::String(raw.to_string())
}

fn split_path(path: &str) -> Result<Vec<String>, ScenarioError> {
    let mut out = Vec::new();
    for part in path.split('.') {
        // `steps[1]` is accepted as `steps.1`.
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            let (head, tail) = rest.split_at(open);
            if !head.is_empty() {
                out.push(head.to_string());
            }
            rest = tail;
            while let Some(stripped) = rest.strip_prefix('[') {
                let close = stripped
                    .find(']')
                    .ok_or_else(|| ScenarioError::new(path, "unclosed '[' in path"))?;
                out.push(stripped[..close].to_string());
                rest = &stripped[close + 1..];
            }
            if !rest.is_empty() {
                return Err(ScenarioError::new(
                    path,
                    "unexpected text after ']' in path",
                ));
            }
        } else if part.is_empty() {
            return Err(ScenarioError::new(path, "empty segment in path"));
        } else {
            out.push(part.to_string());
        }
    }
    if out.is_empty() {
        return Err(ScenarioError::new(path, "empty path"));
    }
    Ok(out)
}

/// A validated scenario. Build one with [`Scenario::from_toml_str`],
/// [`Scenario::from_json_str`] or [`ScenarioDoc::build`]; deserialising it
/// with serde runs the same validation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// Schema version; this build reads version 1.
    pub version: u32,
    /// A short human name (shown in reports and the page).
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Root seed; every random stream is derived from it.
    pub seed: u64,
    /// Default run length in simulated seconds.
    pub duration_s: f64,
    /// Statistics ignore the first `warmup_s` seconds.
    pub warmup_s: f64,
    pub metrics: MetricsSpec,
    /// The topology, keyed by unique node name.
    pub nodes: BTreeMap<String, NodeSpec>,
    /// Scheduled faults and operations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Per-request tracing.
    pub traces: TraceSpec,
    /// The service-level objective the report judges the run against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloSpec>,
    /// Where the page draws each node (optional; the engine ignores it).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub layout: BTreeMap<String, LayoutPos>,
}

/// A node's position on the page's topology canvas, in canvas units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutPos {
    pub x: f64,
    pub y: f64,
}

/// The top level as read, before nodes are typed one by one (so that node
/// errors keep their full path).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[allow(dead_code)]
    version: Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default = "default_duration")]
    duration_s: f64,
    #[serde(default)]
    warmup_s: f64,
    #[serde(default)]
    metrics: MetricsSpec,
    #[allow(dead_code)]
    nodes: BTreeMap<String, Value>,
    #[serde(default)]
    faults: Vec<FaultSpec>,
    #[serde(default)]
    traces: TraceSpec,
    #[serde(default)]
    slo: Option<SloSpec>,
    #[serde(default)]
    layout: BTreeMap<String, LayoutPos>,
}

impl<'de> Deserialize<'de> for Scenario {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Scenario::from_value(&v).map_err(serde::de::Error::custom)
    }
}

fn default_seed() -> u64 {
    1
}
fn default_duration() -> f64 {
    600.0
}

/// Windowed time series settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// Width of one time-series window in simulated seconds.
    #[serde(default = "default_window")]
    pub window_s: f64,
    /// How many windows are kept (a ring: memory stays flat).
    #[serde(default = "default_max_windows")]
    pub max_windows: usize,
}

fn default_window() -> f64 {
    1.0
}
fn default_max_windows() -> usize {
    600
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            window_s: default_window(),
            max_windows: default_max_windows(),
        }
    }
}

/// One node of the topology. The `kind` field selects the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeSpec {
    /// Generates requests (open or closed loop) and sends them to `target`.
    Source(SourceSpec),
    /// A server: replicas of workers behind a queue, running handler steps.
    Service(ServiceSpec),
    /// A third-party dependency.
    External(ExternalSpec),
    /// A database with a query cost model, replicas and shards.
    Database(DatabaseSpec),
    /// A key-value cache (LRU/TTL).
    Cache(CacheSpec),
    /// A message broker with partitions and a consumer group.
    Broker(BrokerSpec),
    /// A load balancer in front of services.
    LoadBalancer(LoadBalancerSpec),
}

impl NodeSpec {
    pub fn kind(&self) -> NodeKind {
        match self {
            NodeSpec::Source(_) => NodeKind::Source,
            NodeSpec::Service(_) => NodeKind::Service,
            NodeSpec::External(_) => NodeKind::External,
            NodeSpec::Database(_) => NodeKind::Database,
            NodeSpec::Cache(_) => NodeKind::Cache,
            NodeSpec::Broker(_) => NodeKind::Broker,
            NodeSpec::LoadBalancer(_) => NodeKind::LoadBalancer,
        }
    }
}

/// The closed set of node kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Source,
    Service,
    External,
    Database,
    Cache,
    Broker,
    LoadBalancer,
}

impl NodeKind {
    pub const ALL: &'static [NodeKind] = &[
        NodeKind::Source,
        NodeKind::Service,
        NodeKind::External,
        NodeKind::Database,
        NodeKind::Cache,
        NodeKind::Broker,
        NodeKind::LoadBalancer,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Source => "source",
            NodeKind::Service => "service",
            NodeKind::External => "external",
            NodeKind::Database => "database",
            NodeKind::Cache => "cache",
            NodeKind::Broker => "broker",
            NodeKind::LoadBalancer => "load_balancer",
        }
    }
    fn parse(s: &str) -> Option<NodeKind> {
        NodeKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// A traffic source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The node requests are sent to.
    pub target: String,
    /// The target's endpoint (services with named endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The arrival process.
    pub arrival: ArrivalSpec,
    /// Client identity for per-client rate limits (default: the source's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The users behind the traffic (keys per user, sticky sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<UsersSpec>,
    /// Items per request (e.g. order lines), for `count = { dist = "items" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Count>,
    /// The client's call: hop, timeout, retries, breaker...
    #[serde(flatten)]
    pub policy: CallPolicy,
}

/// How a source generates requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArrivalSpec {
    /// Open loop, exponential inter-arrival times at `rate` requests/s.
    Poisson { rate: f64 },
    /// Open loop, one request every `1/rate` seconds.
    Constant { rate: f64 },
    /// Open loop with a rate that changes over time: `points` are
    /// `(at_s, rate)`; `shape = "step"` holds each rate until the next point
    /// (steps and spikes), `"linear"` interpolates (ramps). Poisson by
    /// default (non-homogeneous, by thinning); `poisson = false` spaces
    /// requests evenly.
    Schedule {
        points: Vec<RatePoint>,
        #[serde(default)]
        shape: Shape,
        #[serde(default = "yes")]
        poisson: bool,
    },
    /// Closed loop: `users` users, each sending a request, waiting for the
    /// answer, then thinking for a `think` time.
    Closed { users: u32, think: DistSpec },
}

/// One point of a rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePoint {
    pub at_s: f64,
    pub rate: f64,
}

/// Interpolation between schedule points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    #[default]
    Step,
    Linear,
}

impl ServiceSpec {
    /// The default handler's steps, with the `service` shorthand expanded.
    pub fn handler(&self) -> Vec<StepSpec> {
        match &self.service {
            Some(d) => vec![StepSpec::Compute(d.clone())],
            None => self.steps.clone(),
        }
    }
}

fn path_err<E: fmt::Display>(prefix: &str, e: serde_path_to_error::Error<E>) -> ScenarioError {
    let inner = e.path().to_string();
    let path = match (prefix.is_empty(), inner == ".") {
        (true, _) => inner,
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{inner}"),
    };
    let message = e.into_inner().to_string();
    // serde reports a missing field at its parent; point at the field itself.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        let full = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        return ScenarioError::new(full, "missing (required)");
    }
    ScenarioError::new(path, message)
}

impl Scenario {
    /// Parses and validates TOML text.
    pub fn from_toml_str(text: &str) -> Result<Scenario, ScenarioError> {
        ScenarioDoc::parse(text, Format::Toml)?.build()
    }

    /// Parses and validates JSON text.
    pub fn from_json_str(text: &str) -> Result<Scenario, ScenarioError> {
        ScenarioDoc::parse(text, Format::Json)?.build()
    }

    /// Parses TOML or JSON (sniffed) and validates.
    pub fn from_str_any(text: &str) -> Result<Scenario, ScenarioError> {
        ScenarioDoc::parse(text, Format::sniff(text))?.build()
    }

    /// Types and validates a generic document.
    pub fn from_value(v: &Value) -> Result<Scenario, ScenarioError> {
        let obj = v
            .as_object()
            .ok_or_else(|| ScenarioError::new("", "a scenario must be a table/object"))?;
        match obj.get("version") {
            None => return Err(ScenarioError::new("version", "missing: add `version = 1`")),
            Some(Value::Number(n)) if n.as_u64() == Some(SCHEMA_VERSION as u64) => {}
            Some(Value::Number(n)) if n.as_u64().is_some_and(|x| x > SCHEMA_VERSION as u64) => {
                return Err(ScenarioError::new(
                    "version",
                    format!("version {n} is newer than this build understands ({SCHEMA_VERSION}); upgrade tailsim"),
                ))
            }
            Some(other) => {
                return Err(ScenarioError::new(
                    "version",
                    format!("unsupported version {other}; this build reads version {SCHEMA_VERSION}"),
                ))
            }
        }
        let h: Header = serde_path_to_error::deserialize(v).map_err(|e| path_err("", e))?;
        let mut sc = Scenario {
            version: SCHEMA_VERSION,
            name: h.name,
            description: h.description,
            seed: h.seed,
            duration_s: h.duration_s,
            warmup_s: h.warmup_s,
            metrics: h.metrics,
            nodes: BTreeMap::new(),
            faults: h.faults,
            traces: h.traces,
            slo: h.slo,
            layout: h.layout,
        };
        let nodes = obj
            .get("nodes")
            .and_then(|n| n.as_object())
            .ok_or_else(|| ScenarioError::new("nodes", "must be a table of named nodes"))?;
        for (name, nv) in nodes {
            let path = format!("nodes.{name}");
            let kind = nv
                .get("kind")
                .ok_or_else(|| ScenarioError::new(format!("{path}.kind"), kind_help("missing")))?;
            let kind = kind.as_str().unwrap_or("");
            let mut body = nv.clone();
            if let Some(m) = body.as_object_mut() {
                m.remove("kind");
            }
            fn typed<T: serde::de::DeserializeOwned>(
                path: &str,
                body: &Value,
            ) -> Result<T, ScenarioError> {
                serde_path_to_error::deserialize(body).map_err(|e| path_err(path, e))
            }
            let node = match NodeKind::parse(kind) {
                Some(NodeKind::Source) => NodeSpec::Source(typed(&path, &body)?),
                Some(NodeKind::Service) => NodeSpec::Service(typed(&path, &body)?),
                Some(NodeKind::External) => NodeSpec::External(typed(&path, &body)?),
                Some(NodeKind::Database) => NodeSpec::Database(typed(&path, &body)?),
                Some(NodeKind::Cache) => NodeSpec::Cache(typed(&path, &body)?),
                Some(NodeKind::Broker) => NodeSpec::Broker(typed(&path, &body)?),
                Some(NodeKind::LoadBalancer) => NodeSpec::LoadBalancer(typed(&path, &body)?),
                None => {
                    return Err(ScenarioError::new(
                        format!("{path}.kind"),
                        kind_help(&format!("unknown kind {kind:?}")),
                    ))
                }
            };
            sc.nodes.insert(name.clone(), node);
        }
        sc.validate()?;
        Ok(sc)
    }

    /// The generic document of this scenario (for `--set`, sharing, export).
    pub fn to_doc(&self) -> ScenarioDoc {
        ScenarioDoc(serde_json::to_value(self).expect("scenario serialises"))
    }

    /// TOML text of this scenario.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot write TOML: {e}\n"))
    }

    /// Checks cross-field rules. Called by every constructor.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        crate::validate::validate(self)
    }
}

fn kind_help(what: &str) -> String {
    let kinds: Vec<&str> = NodeKind::ALL.iter().map(|k| k.as_str()).collect();
    format!("{what}; expected one of: {}", kinds.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MM1: &str = r#"
version = 1
name = "mm1"
duration_s = 100
[nodes.clients]
kind = "source"
target = "server"
arrival = { process = "poisson", rate = 0.9 }
[nodes.server]
kind = "service"
workers = 1
service = { dist = "exponential", mean_s = 1.0 }
"#;

    fn err(text: &str) -> ScenarioError {
        Scenario::from_toml_str(text).unwrap_err()
    }

    #[test]
    fn parses_minimal() {
        let sc = Scenario::from_toml_str(MM1).unwrap();
        assert_eq!(sc.nodes.len(), 2);
        assert_eq!(sc.seed, 1);
        assert!(matches!(sc.nodes["server"], NodeSpec::Service(ref s) if s.workers == 1));
    }

    #[test]
    fn json_and_toml_agree_and_round_trip() {
        let a = Scenario::from_toml_str(MM1).unwrap();
        let json = serde_json::to_string(&a).unwrap();
        let b = Scenario::from_json_str(&json).unwrap();
        assert_eq!(a, b);
        let c = Scenario::from_toml_str(&a.to_toml()).unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn layout_round_trips_and_is_checked() {
        let text = format!("{MM1}\n[layout]\nserver = {{ x = 320.0, y = 80.0 }}\n");
        let a = Scenario::from_toml_str(&text).unwrap();
        assert_eq!(a.layout["server"], LayoutPos { x: 320.0, y: 80.0 });
        let b = Scenario::from_toml_str(&a.to_toml()).unwrap();
        assert_eq!(a, b);
        let e = err(&format!(
            "{MM1}\n[layout]\nghost = {{ x = 1.0, y = 2.0 }}\n"
        ));
        assert_eq!(e.path, "layout.ghost");
        let e = err(&format!("{MM1}\n[layout]\nserver = {{ x = 1.0 }}\n"));
        assert!(e.path.starts_with("layout"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(&MM1.replace("workers = 1", "workers = 0"));
        assert_eq!(e.path, "nodes.server.workers");
        let e = err(&MM1.replace("workers = 1", "workers = \"lots\""));
        assert_eq!(e.path, "nodes.server.workers", "{e}");
        let e = err(&MM1.replace("rate = 0.9", "rate = -2"));
        assert_eq!(e.path, "nodes.clients.arrival.rate");
        let e = err(&MM1.replace("mean_s = 1.0", "mean_s = 0"));
        assert_eq!(e.path, "nodes.server.service.mean_s", "{e}");
        let e = err(&MM1.replace("target = \"server\"", "target = \"srv\""));
        assert_eq!(e.path, "nodes.clients.target");
        assert!(e.message.contains("unknown node \"srv\""), "{e}");
        let e = err(&MM1.replace("kind = \"service\"", "kind = \"sevrice\""));
        assert_eq!(e.path, "nodes.server.kind");
        let e = err(&MM1.replace("workers = 1", "workers = 1\nwrokers = 2"));
        assert_eq!(e.path, "nodes.server.wrokers");
        assert!(e.message.contains("unknown field"), "{e}");
        let e = err(&MM1.replace("version = 1", "version = 7"));
        assert_eq!(e.path, "version");
        let e = err("version = 1\nduration_s = [");
        assert!(e.message.contains("TOML syntax error"), "{e}");
    }

    #[test]
    fn cycles_are_rejected() {
        let text = r#"
version = 1
[nodes.c]
kind = "source"
target = "a"
arrival = { process = "poisson", rate = 1 }
[nodes.a]
kind = "service"
steps = [ { call = { to = "b" } } ]
[nodes.b]
kind = "service"
steps = [ { call = { to = "a" } } ]
"#;
        let e = err(text);
        assert!(e.message.contains("cycle"), "{e}");
    }

    #[test]
    fn set_by_dotted_path() {
        let mut d = ScenarioDoc::parse(MM1, Format::Toml).unwrap();
        d.set("nodes.server.workers", "3").unwrap();
        d.set("nodes.server.queue.capacity", "5").unwrap();
        d.set("name", "renamed").unwrap();
        let sc = d.build().unwrap();
        match &sc.nodes["server"] {
            NodeSpec::Service(s) => {
                assert_eq!(s.workers, 3);
                assert_eq!(s.queue.capacity, Some(5));
            }
            _ => unreachable!(),
        }
        assert_eq!(sc.name, "renamed");
        let e = d.set("name.x", "1").unwrap_err();
        assert_eq!(e.path, "name.x");
        assert!(d.set("a..b", "1").is_err());
    }

    #[test]
    fn set_into_lists() {
        let text = MM1.replace(
            "service = { dist = \"exponential\", mean_s = 1.0 }",
            "steps = [ { compute = { dist = \"constant\", value_s = 1.0 } } ]",
        );
        let mut d = ScenarioDoc::parse(&text, Format::Toml).unwrap();
        d.set("nodes.server.steps[0].compute.value_s", "2.5")
            .unwrap();
        assert_eq!(
            d.get("nodes.server.steps.0.compute.value_s"),
            Some(&serde_json::json!(2.5))
        );
        let e = d.set("nodes.server.steps[3].compute", "{}").unwrap_err();
        assert!(e.message.contains("out of range"), "{e}");
    }
}

//! Reading a document into a typed, validated [`Scenario`]: the version
//! check, then serde field by field (so every error keeps its full path),
//! then the rules of `validate.rs`.

use super::doc::{Format, ScenarioDoc, ScenarioError};
use super::spec::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

fn default_seed() -> u64 {
    1
}
fn default_duration() -> f64 {
    600.0
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
    /// Typed one by one below; skipped here, so that typing the header
    /// again (`locate.rs`) does not copy every node.
    #[allow(dead_code)]
    nodes: serde::de::IgnoredAny,
    #[serde(default)]
    faults: Vec<FaultSpec>,
    #[serde(default)]
    traces: TraceSpec,
    #[serde(default)]
    slo: Option<SloSpec>,
    #[serde(default)]
    alerts: BTreeMap<String, AlertSpec>,
    #[serde(default)]
    layout: BTreeMap<String, LayoutPos>,
    #[serde(default)]
    links: BTreeMap<String, LinkSpec>,
}

impl<'de> Deserialize<'de> for Scenario {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Scenario::from_value(&v).map_err(serde::de::Error::custom)
    }
}

/// A typing error at its path (under `prefix`), a missing field named as
/// the field itself.
pub(crate) fn path_err<E: fmt::Display>(
    prefix: &str,
    e: serde_path_to_error::Error<E>,
) -> ScenarioError {
    // serde_path_to_error prints the root as ".": that is no path at all.
    let inner = e.path().to_string();
    let inner = if inner == "." { String::new() } else { inner };
    let path = match (prefix.is_empty(), inner.is_empty()) {
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
        check_version(obj.get("version"))?;
        check_tags(v)?;
        let h: Header = super::locate::typed("", v)?;
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
            alerts: h.alerts,
            layout: h.layout,
            links: h.links,
        };
        let nodes = obj
            .get("nodes")
            .and_then(|n| n.as_object())
            .ok_or_else(|| ScenarioError::new("nodes", "must be a table of named nodes"))?;
        for (name, nv) in nodes {
            sc.nodes
                .insert(name.clone(), typed_node(&format!("nodes.{name}"), nv)?);
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
        super::validate::validate(self)
    }
}

impl ScenarioDoc {
    /// Types and validates the document.
    pub fn build(&self) -> Result<Scenario, ScenarioError> {
        Scenario::from_value(&self.0)
    }
}

/// The keys that name a variant of an internally tagged enum
/// (`dist = "exponential"`, `process = "poisson"`, `algorithm = ...`,
/// a fault's `kind`).
pub(super) const TAGS: [&str; 4] = ["dist", "process", "algorithm", "kind"];

/// serde reads an integer tag as the variant's index (`kind = 7` was
/// `flush`): a number or a boolean where a tag's word belongs is refused
/// here, by its path, as is an integer above what TOML can hold.
/// Iterative: the document may be deep.
fn check_tags(v: &Value) -> Result<(), ScenarioError> {
    let mut todo: Vec<(String, &Value)> = vec![(String::new(), v)];
    while let Some((path, v)) = todo.pop() {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if TAGS.contains(&k.as_str()) && (x.is_number() || x.is_boolean()) {
                        return Err(ScenarioError::new(
                            join(k),
                            format!("must be a name in quotes, got {x}"),
                        ));
                    }
                    too_big(&join(k), x)?;
                    todo.push((join(k), x));
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    too_big(&format!("{path}[{i}]"), x)?;
                    todo.push((format!("{path}[{i}]"), x));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The largest integer a scenario may hold anywhere (the seed included):
/// TOML integers are signed 64-bit, so a larger one (JSON can hold it)
/// could be run but not exported or shared.
pub(crate) const MAX_INTEGER: u64 = i64::MAX as u64;

/// The error for an integer a TOML file could not hold.
pub(crate) fn beyond_toml(path: &str, n: u64) -> ScenarioError {
    ScenarioError::new(
        path,
        format!(
            "must be at most {MAX_INTEGER} (2^63 - 1, the largest integer a TOML file can hold), got {n}"
        ),
    )
}

fn too_big(path: &str, x: &Value) -> Result<(), ScenarioError> {
    match x.as_u64() {
        Some(n) if n > MAX_INTEGER => Err(beyond_toml(path, n)),
        _ => Ok(()),
    }
}

fn check_version(v: Option<&Value>) -> Result<(), ScenarioError> {
    match v {
        None => Err(ScenarioError::new("version", "missing: add `version = 1`")),
        Some(Value::Number(n)) if n.as_u64() == Some(SCHEMA_VERSION as u64) => Ok(()),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|x| x > SCHEMA_VERSION as u64) => {
            Err(ScenarioError::new(
                "version",
                format!("version {n} is newer than this build understands ({SCHEMA_VERSION}); upgrade tailsim"),
            ))
        }
        Some(other) => Err(ScenarioError::new(
            "version",
            format!("unsupported version {other}; this build reads version {SCHEMA_VERSION}"),
        )),
    }
}

/// One node, typed by its `kind` (errors keep the node's path).
fn typed_node(path: &str, nv: &Value) -> Result<NodeSpec, ScenarioError> {
    let kind = nv
        .get("kind")
        .ok_or_else(|| ScenarioError::new(format!("{path}.kind"), kind_help("missing")))?;
    let Some(kind) = kind.as_str() else {
        return Err(ScenarioError::new(
            format!("{path}.kind"),
            kind_help(&format!("must be a word in quotes, got {kind}")),
        ));
    };
    let mut body = nv.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("kind");
    }
    use super::locate::typed;
    Ok(match NodeKind::parse(kind) {
        Some(NodeKind::Source) => NodeSpec::Source(typed(path, &body)?),
        Some(NodeKind::Service) => NodeSpec::Service(typed(path, &body)?),
        Some(NodeKind::External) => NodeSpec::External(typed(path, &body)?),
        Some(NodeKind::Database) => NodeSpec::Database(typed(path, &body)?),
        Some(NodeKind::Cache) => NodeSpec::Cache(typed(path, &body)?),
        Some(NodeKind::Broker) => NodeSpec::Broker(typed(path, &body)?),
        Some(NodeKind::LoadBalancer) => NodeSpec::LoadBalancer(typed(path, &body)?),
        None => {
            return Err(ScenarioError::new(
                format!("{path}.kind"),
                kind_help(&format!("unknown kind {kind:?}")),
            ))
        }
    })
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
        assert_eq!(e.path, "name");
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

    #[test]
    fn concurrency_reads_an_absent_limit_as_unlimited() {
        let sc = Scenario::from_toml_str(&format!(
            "{MM1}\n[nodes.kv]\nkind = \"cache\"\n[nodes.ext]\nkind = \"external\"\nlatency = {{ dist = \"constant\", value_s = 1.0 }}\nmax_concurrency = 4\n"
        ))
        .unwrap();
        let c = |n: &str| sc.nodes[n].concurrency();
        assert_eq!(c("server"), Some(Concurrency::Limited(1)));
        assert_eq!(c("kv"), Some(Concurrency::Unlimited));
        assert_eq!(c("ext").and_then(Concurrency::limit), Some(4));
        assert_eq!(c("clients"), None);
    }
}

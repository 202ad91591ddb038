//! The topology editor's document model: pure, natively tested.
//!
//! The scenario stays a generic [`ScenarioDoc`] (a `serde_json::Value`) so
//! that every field survives an edit as written. Every operation builds a
//! candidate document, validates it with [`ScenarioDoc::build`] and only
//! then commits it (pushing the old one on the undo stack); an edit that
//! does not build changes nothing and returns the [`ScenarioError`] (path +
//! message). So the editor never holds a document that does not build, and
//! it reads handler steps through sim-core's typed walker on the committed
//! document's [`Scenario`] (arrows: `Scenario::call_edges`; deletions: the
//! steps' `target` and `blocks`), never by walking the JSON itself.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sim_core::spec::{ServiceSpec, StepSpec};
use sim_core::{Format, NodeKind, NodeSpec, Scenario, ScenarioDoc, ScenarioError};

/// Undo history depth.
pub const MAX_UNDO: usize = 200;

pub type EditResult<T> = Result<T, ScenarioError>;

fn refuse<T>(path: impl Into<String>, message: impl Into<String>) -> EditResult<T> {
    Err(ScenarioError::new(path, message))
}

pub use sim_core::scenario::EdgeKind;

/// One arrow of the drawing: `from` calls (sends to) `to`. Several steps
/// between the same two nodes make one edge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

/// What a click selected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    #[default]
    None,
    Node(String),
    Edge {
        from: String,
        to: String,
    },
}

/// The parsed kind of a node value (`None` if missing or unknown).
pub fn kind_of_value(v: &Value) -> Option<NodeKind> {
    let k = v.get("kind")?.as_str()?;
    NodeKind::ALL.iter().copied().find(|x| x.as_str() == k)
}

/// A label for a kind ("load balancer").
pub fn kind_label(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Source => "source",
        NodeKind::Service => "service",
        NodeKind::External => "external",
        NodeKind::Database => "database",
        NodeKind::Cache => "cache",
        NodeKind::Broker => "broker",
        NodeKind::LoadBalancer => "load balancer",
    }
}

/// The editable scenario with its undo/redo history.
#[derive(Clone, Debug)]
pub struct EditorDoc {
    doc: ScenarioDoc,
    /// `doc`, typed (it always builds).
    typed: Scenario,
    undo: Vec<ScenarioDoc>,
    redo: Vec<ScenarioDoc>,
}

impl EditorDoc {
    /// Reads TOML or JSON (sniffed); the scenario must build.
    pub fn parse(text: &str) -> EditResult<Self> {
        let doc = ScenarioDoc::parse(text, Format::sniff(text))?;
        Self::from_doc(doc)
    }

    /// Wraps a document that builds.
    pub fn from_doc(doc: ScenarioDoc) -> EditResult<Self> {
        let typed = doc.build()?;
        Ok(EditorDoc {
            doc,
            typed,
            undo: Vec::new(),
            redo: Vec::new(),
        })
    }

    /// The document typed: what the walker reads.
    pub fn typed(&self) -> &Scenario {
        &self.typed
    }

    /// Replaces the document with one that built when it was committed.
    fn restore(&mut self, doc: ScenarioDoc) -> ScenarioDoc {
        if let Ok(typed) = doc.build() {
            self.typed = typed;
        }
        std::mem::replace(&mut self.doc, doc)
    }

    pub fn doc(&self) -> &ScenarioDoc {
        &self.doc
    }

    pub fn value(&self) -> &Value {
        &self.doc.0
    }

    fn nodes_map(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.doc
            .0
            .get("nodes")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// Every node with its kind, in name order.
    pub fn nodes(&self) -> Vec<(String, NodeKind)> {
        self.nodes_map()
            .iter()
            .filter_map(|(n, v)| kind_of_value(v).map(|k| (n.clone(), k)))
            .collect()
    }

    pub fn kind_of(&self, name: &str) -> Option<NodeKind> {
        self.nodes_map().get(name).and_then(kind_of_value)
    }

    pub fn node_value(&self, name: &str) -> Option<&Value> {
        self.nodes_map().get(name)
    }

    /// The arrows of the drawing, deduplicated per (from, to), sorted.
    pub fn edges(&self) -> Vec<Edge> {
        let mut out: Vec<Edge> = self
            .typed
            .call_edges()
            .into_iter()
            .map(|e| Edge {
                from: e.from.to_string(),
                to: e.to.to_string(),
                kind: e.kind,
            })
            .collect();
        out.sort();
        out.dedup_by(|a, b| a.from == b.from && a.to == b.to);
        out
    }

    /// Positions written in the scenario's `[layout]`.
    pub fn layout(&self) -> BTreeMap<String, (f64, f64)> {
        let mut out = BTreeMap::new();
        if let Some(m) = self.doc.0.get("layout").and_then(Value::as_object) {
            for (k, v) in m {
                if let (Some(x), Some(y)) = (
                    v.get("x").and_then(Value::as_f64),
                    v.get("y").and_then(Value::as_f64),
                ) {
                    out.insert(k.clone(), (x, y));
                }
            }
        }
        out
    }

    /// Where each node is drawn: its `[layout]` position, else the automatic
    /// layered layout (in the same units).
    pub fn positions(&self) -> BTreeMap<String, (f64, f64)> {
        let mut pos = super::scene::auto_layout(&self.nodes(), &self.edges());
        for (k, p) in self.layout() {
            if pos.contains_key(&k) {
                pos.insert(k, p);
            }
        }
        pos
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Goes back one edit; false if there is none.
    pub fn undo(&mut self) -> bool {
        match self.undo.pop() {
            Some(prev) => {
                let cur = self.restore(prev);
                self.redo.push(cur);
                true
            }
            None => false,
        }
    }

    /// Re-applies the last undone edit; false if there is none.
    pub fn redo(&mut self) -> bool {
        match self.redo.pop() {
            Some(next) => {
                let cur = self.restore(next);
                self.undo.push(cur);
                true
            }
            None => false,
        }
    }

    /// Runs `f` on a copy of the document and checks that it builds, without
    /// committing. Returns the candidate and `f`'s result.
    pub fn try_edit<R>(
        &self,
        f: impl FnOnce(&mut Value) -> EditResult<R>,
    ) -> EditResult<(ScenarioDoc, Scenario, R)> {
        let mut v = self.doc.0.clone();
        let r = f(&mut v)?;
        let cand = ScenarioDoc::from_value(v)?;
        let typed = cand.build()?;
        Ok((cand, typed, r))
    }

    /// Like [`EditorDoc::try_edit`], then commits the candidate (an edit
    /// that changes nothing leaves no undo entry).
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Value) -> EditResult<R>) -> EditResult<R> {
        let (cand, typed, r) = self.try_edit(f)?;
        if cand != self.doc {
            self.typed = typed;
            let old = std::mem::replace(&mut self.doc, cand);
            self.undo.push(old);
            if self.undo.len() > MAX_UNDO {
                self.undo.remove(0);
            }
            self.redo.clear();
        }
        Ok(r)
    }

    /// A name not used by any node: `base`, else `base2`, `base3`...
    pub fn unique_name(&self, base: &str) -> String {
        let nodes = self.nodes_map();
        if !nodes.contains_key(base) {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base}{i}"))
            .find(|n| !nodes.contains_key(n))
            .expect("some name is free")
    }

    /// The first node of one of `kinds`, in name order.
    fn first_of(&self, kinds: &[NodeKind], except: &str) -> Option<String> {
        self.nodes()
            .into_iter()
            .find(|(n, k)| kinds.contains(k) && n != except)
            .map(|(n, _)| n)
    }

    /// A valid default body for a new node of `kind`.
    pub fn default_node(&self, kind: NodeKind) -> EditResult<Value> {
        Ok(match kind {
            NodeKind::Source => {
                let target = self
                    .first_of(
                        &[
                            NodeKind::Service,
                            NodeKind::LoadBalancer,
                            NodeKind::External,
                        ],
                        "",
                    )
                    .ok_or_else(|| {
                        ScenarioError::new("nodes", "add a service first: a source needs a target")
                    })?;
                json!({"kind": "source", "target": target,
                       "arrival": {"process": "poisson", "rate": 10.0}})
            }
            NodeKind::Service => json!({"kind": "service", "workers": 4,
                "service": {"dist": "exponential", "mean_s": 0.05}}),
            NodeKind::External => json!({"kind": "external",
                "latency": {"dist": "exponential", "mean_s": 0.1}}),
            NodeKind::Database => json!({"kind": "database", "cores": 8,
                "tables": {"items": {"rows": 100000.0}}}),
            NodeKind::Cache => json!({"kind": "cache", "capacity_entries": 10000}),
            NodeKind::Broker => json!({"kind": "broker", "partitions": 1, "consumers": 1,
                "process": {"dist": "exponential", "mean_s": 0.01}}),
            NodeKind::LoadBalancer => {
                let backend = self
                    .first_of(&[NodeKind::Service, NodeKind::External], "")
                    .ok_or_else(|| {
                        ScenarioError::new(
                            "nodes",
                            "add a service first: a load balancer needs a backend",
                        )
                    })?;
                json!({"kind": "load_balancer", "backends": [backend]})
            }
        })
    }

    /// Adds a node of `kind` with valid defaults and a unique name (the kind,
    /// then `service2`, ...). If the scenario has a `[layout]`, the node is
    /// placed below the others (at `at` if given). Returns the new name.
    pub fn add_node(&mut self, kind: NodeKind, at: Option<(f64, f64)>) -> EditResult<String> {
        let name = self.unique_name(kind.as_str());
        let body = self.default_node(kind)?;
        let layout = self.layout();
        let place = match at {
            Some(p) => Some(p),
            None if !layout.is_empty() => {
                let pos = self.positions();
                let n = pos.len().max(1) as f64;
                let mx = pos.values().map(|p| p.0).sum::<f64>() / n;
                let my = pos.values().map(|p| p.1).fold(f64::MIN, f64::max);
                Some((mx.round(), (my + super::scene::ROW_GAP).round()))
            }
            None => None,
        };
        let n2 = name.clone();
        self.edit(move |v| {
            nodes_mut(v)?.insert(n2.clone(), body);
            if let Some((x, y)) = place {
                layout_mut(v).insert(n2, json!({"x": x, "y": y}));
            }
            Ok(())
        })?;
        Ok(name)
    }

    /// Moves `name` to (x, y) in layout units. The first move writes every
    /// node's current position, so the others stay where they are drawn.
    pub fn move_node(&mut self, name: &str, x: f64, y: f64) -> EditResult<()> {
        if self.kind_of(name).is_none() {
            return refuse(format!("nodes.{name}"), "no such node");
        }
        if !(x.is_finite() && y.is_finite()) {
            return refuse(format!("layout.{name}"), "x and y must be finite");
        }
        let pos = self.positions();
        let name = name.to_string();
        self.edit(move |v| {
            let lay = layout_mut(v);
            for (n, (px, py)) in pos {
                lay.entry(n)
                    .or_insert_with(|| json!({"x": px.round(), "y": py.round()}));
            }
            lay.insert(name, json!({"x": x.round(), "y": y.round()}));
            Ok(())
        })
    }

    /// Connects `from` to `to` by what the two kinds mean (see the module
    /// docs of `editor`). Returns a sentence saying what changed.
    pub fn connect(&mut self, from: &str, to: &str) -> EditResult<String> {
        let fk = self
            .kind_of(from)
            .ok_or_else(|| ScenarioError::new(format!("nodes.{from}"), "no such node"))?;
        let tk = self
            .kind_of(to)
            .ok_or_else(|| ScenarioError::new(format!("nodes.{to}"), "no such node"))?;
        let fp = format!("nodes.{from}");
        if from == to {
            return refuse(fp, "a node cannot be connected to itself");
        }
        use NodeKind::*;
        let bad = |why: &str| -> EditResult<String> {
            refuse(
                fp.clone(),
                format!(
                    "cannot connect a {} to a {}: {why}",
                    kind_label(fk),
                    kind_label(tk)
                ),
            )
        };
        if tk == Source {
            return bad("nothing can call a source (sources only send requests)");
        }
        let (from_s, to_s) = (from.to_string(), to.to_string());
        match (fk, tk) {
            (Source, Service | External | LoadBalancer) => {
                if self.node_value(from).and_then(|v| v.get("target")) == Some(&json!(to)) {
                    return refuse(format!("{fp}.target"), format!("already targets {to:?}"));
                }
                self.edit(|v| {
                    let n = node_mut(v, &from_s)?;
                    n.insert("target".into(), json!(to_s));
                    // The old target's endpoint means nothing to the new one.
                    n.remove("endpoint");
                    Ok(())
                })?;
                Ok(format!("{from} now sends its requests to {to}"))
            }
            (Source, _) => bad("a source's target is a service, external or load balancer"),
            (Service, Service | External | LoadBalancer) => {
                self.append_step(from, json!({"call": {"to": to}}), "call")
            }
            (Service, Database) => self.connect_query(from, to),
            (Service, Cache) => self.connect_cache(from, to),
            (Cache, Database) => self.connect_cache_to_db(from, to),
            (Service, Broker) => {
                self.append_step(from, json!({"publish": {"broker": to}}), "publish")
            }
            (LoadBalancer, Service | External) => {
                let has = self
                    .node_value(from)
                    .and_then(|v| v.get("backends"))
                    .and_then(Value::as_array)
                    .is_some_and(|b| b.contains(&json!(to)));
                if has {
                    return refuse(
                        format!("{fp}.backends"),
                        format!("{to:?} is already a backend"),
                    );
                }
                self.edit(|v| {
                    let n = node_mut(v, &from_s)?;
                    let b = n.entry("backends").or_insert_with(|| json!([]));
                    match b.as_array_mut() {
                        Some(a) => a.push(json!(to_s)),
                        None => return refuse(format!("nodes.{from_s}.backends"), "not a list"),
                    }
                    Ok(())
                })?;
                Ok(format!("{to} is now a backend of {from}"))
            }
            (LoadBalancer, _) => bad("a load balancer's backends are services or externals"),
            (Broker, Service | External | LoadBalancer) => {
                self.edit(|v| {
                    let n = node_mut(v, &from_s)?;
                    n.remove("process");
                    n.insert("handler".into(), json!({"to": to_s}));
                    Ok(())
                })?;
                Ok(format!(
                    "{from}'s consumers now process messages by calling {to}"
                ))
            }
            (Broker, _) => bad("a broker's consumers call a service, external or load balancer"),
            (Service, Source) => bad("nothing can call a source"),
            (Database | Cache | External, _) => bad(&format!(
                "a {} does not call other nodes (connect from a service)",
                kind_label(fk)
            )),
        }
    }

    /// Appends `step` to `service`'s default handler (expanding the `service`
    /// shorthand into a compute step), or, for a service with only named
    /// endpoints, to each endpoint.
    fn append_step(&mut self, service: &str, step: Value, what: &str) -> EditResult<String> {
        let where_ = self.edit_steps(service, move |steps| {
            steps.push(step.clone());
            format!("steps[{}]", steps.len() - 1)
        })?;
        Ok(format!("added a {what} step at {where_}"))
    }

    /// Runs `f` on `service`'s step list: the default handler's (the
    /// `service` shorthand becomes a compute step first) or, for a service
    /// with only named endpoints, each endpoint's. Returns where `f` wrote.
    fn edit_steps(
        &mut self,
        service: &str,
        f: impl Fn(&mut Vec<Value>) -> String,
    ) -> EditResult<String> {
        let s = service.to_string();
        self.edit(move |v| {
            let n = node_mut(v, &s)?;
            if let Some(d) = n.remove("service") {
                n.insert("steps".into(), json!([{ "compute": d }]));
            }
            let has_steps = n
                .get("steps")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            let has_endpoints = n
                .get("endpoints")
                .and_then(Value::as_object)
                .is_some_and(|e| !e.is_empty());
            if has_steps || !has_endpoints {
                let st = n.entry("steps").or_insert_with(|| json!([]));
                let arr = st
                    .as_array_mut()
                    .ok_or_else(|| ScenarioError::new(format!("nodes.{s}.steps"), "not a list"))?;
                return Ok(format!("nodes.{s}.{}", f(arr)));
            }
            let eps = n
                .get_mut("endpoints")
                .and_then(Value::as_object_mut)
                .unwrap();
            for e in eps.values_mut() {
                if let Some(a) = e.get_mut("steps").and_then(Value::as_array_mut) {
                    f(a);
                }
            }
            Ok(format!("every endpoint of nodes.{s}"))
        })
    }

    /// A cache read put in front of `service`'s database queries
    /// (cache-aside): the queries move into its `on_miss`, so only misses
    /// reach the database. Without queries it is a plain read.
    fn connect_cache(&mut self, service: &str, cache: &str) -> EditResult<String> {
        let read = json!({"cache_read": {"cache": cache, "key": {"space": "keys", "n": 10000}}});
        let where_ = self.edit_steps(service, move |steps| {
            let first = steps.iter().position(is_query);
            let mut r = read.clone();
            match first {
                Some(i) => {
                    let queries: Vec<Value> =
                        steps.iter().filter(|s| is_query(s)).cloned().collect();
                    steps.retain(|s| !is_query(s));
                    r["cache_read"]["on_miss"] = Value::Array(queries);
                    steps.insert(i, r);
                    format!("steps[{i}] (the database queries now run only on a miss)")
                }
                None => {
                    steps.push(r);
                    format!("steps[{}]", steps.len() - 1)
                }
            }
        })?;
        Ok(format!("added a cache_read step at {where_}"))
    }

    /// A query of `db` from `service`: on a miss of the service's cache
    /// read, if it has one (cache-aside), else as a step of its own.
    fn connect_query(&mut self, service: &str, db: &str) -> EditResult<String> {
        let table = self.first_table(db)?;
        let query = json!({"query": {"db": db, "table": table}});
        let where_ = self.edit_steps(service, move |steps| {
            match steps.iter().rposition(|s| s.get("cache_read").is_some()) {
                Some(i) => {
                    let read = &mut steps[i]["cache_read"];
                    let on_miss = read
                        .as_object_mut()
                        .map(|o| o.entry("on_miss").or_insert_with(|| json!([])));
                    if let Some(Value::Array(a)) = on_miss {
                        a.push(query.clone());
                        return format!(
                            "steps[{i}].cache_read.on_miss[{}] (runs on a cache miss)",
                            a.len() - 1
                        );
                    }
                    steps.push(query.clone());
                    format!("steps[{}]", steps.len() - 1)
                }
                None => {
                    steps.push(query.clone());
                    format!("steps[{}]", steps.len() - 1)
                }
            }
        })?;
        Ok(format!("added a query step at {where_}"))
    }

    /// A cache connected to a database: every service that reads this cache
    /// queries the database on a miss (cache-aside; a query of that database
    /// already in the handler moves into the miss path).
    fn connect_cache_to_db(&mut self, cache: &str, db: &str) -> EditResult<String> {
        let readers: Vec<String> = self
            .edges()
            .into_iter()
            .filter(|e| e.to == cache && e.kind == EdgeKind::CacheRead)
            .map(|e| e.from)
            .collect();
        if readers.is_empty() {
            return refuse(
                format!("nodes.{cache}"),
                "no service reads this cache yet: connect a service to the cache first, then the cache to the database",
            );
        }
        let mut readers = readers;
        readers.dedup();
        for r in &readers {
            self.connect_cache_miss(r, cache, db)?;
        }
        Ok(format!(
            "{} now query {db} only on a miss of {cache}",
            readers.join(", ")
        ))
    }

    fn connect_cache_miss(&mut self, service: &str, cache: &str, db: &str) -> EditResult<()> {
        let table = self.first_table(db)?;
        let query = json!({"query": {"db": db, "table": table}});
        let (cache, db) = (cache.to_string(), db.to_string());
        self.edit_steps(service, move |steps| {
            let Some(i) = steps
                .iter()
                .position(|s| s["cache_read"]["cache"] == json!(cache))
            else {
                return String::new();
            };
            let of_db = |s: &Value| is_query(s) && s["query"]["db"] == json!(db);
            let mut moved: Vec<Value> = steps.iter().filter(|s| of_db(s)).cloned().collect();
            steps.retain(|s| !of_db(s));
            let i = steps
                .iter()
                .position(|s| s["cache_read"]["cache"] == json!(cache))
                .unwrap_or(i);
            if let Some(o) = steps[i]["cache_read"].as_object_mut() {
                let on_miss = o.entry("on_miss").or_insert_with(|| json!([]));
                if let Some(a) = on_miss.as_array_mut() {
                    if !a.iter().any(|s| of_db(s)) {
                        if moved.is_empty() {
                            moved.push(query.clone());
                        }
                        a.append(&mut moved);
                    }
                }
            }
            format!("steps[{i}].cache_read.on_miss")
        })?;
        Ok(())
    }

    /// The first table of database `db` (created if it has none, rather
    /// than write a dangling query).
    fn first_table(&mut self, db: &str) -> EditResult<String> {
        let table = self
            .node_value(db)
            .and_then(|v| v.get("tables"))
            .and_then(Value::as_object)
            .and_then(|t| t.keys().next().cloned());
        if let Some(t) = table {
            return Ok(t);
        }
        let d2 = db.to_string();
        self.edit(|v| {
            node_mut(v, &d2)?.insert("tables".into(), json!({"items": {"rows": 100000.0}}));
            Ok(())
        })?;
        Ok("items".to_string())
    }

    /// Deletes a node and every reference to it: steps that call it are
    /// removed (a cache read of a deleted cache keeps its `on_miss` steps),
    /// sources that target it are retargeted, it leaves load balancers'
    /// backends, brokers that it handled go back to a plain `process`, and
    /// its faults and layout go. Refused (with the reason) when the result
    /// cannot be valid, e.g. the last source or a balancer's only backend.
    pub fn delete_node(&mut self, name: &str) -> EditResult<String> {
        let kind = self
            .kind_of(name)
            .ok_or_else(|| ScenarioError::new(format!("nodes.{name}"), "no such node"))?;
        let nm = name.to_string();
        let others = self.nodes();
        let typed = self.typed.clone();
        let mut notes = Vec::new();
        let notes_ref = &mut notes;
        self.edit(move |v| {
            let nodes = nodes_mut(v)?;
            nodes.remove(&nm);
            let replacement = others
                .iter()
                .find(|(n, k)| {
                    n != &nm
                        && matches!(
                            k,
                            NodeKind::Service | NodeKind::LoadBalancer | NodeKind::External
                        )
                })
                .map(|(n, _)| n.clone());
            for (other, body) in nodes.iter_mut() {
                let Some(ok) = kind_of_value(body) else {
                    continue;
                };
                let obj = body.as_object_mut().expect("a node with a kind is a table");
                match ok {
                    NodeKind::Source if obj.get("target") == Some(&json!(nm)) => {
                        match &replacement {
                            Some(r) => {
                                obj.insert("target".into(), json!(r));
                                obj.remove("endpoint");
                                notes_ref.push(format!("{other} now targets {r}"));
                            }
                            None => {
                                return refuse(
                                    format!("nodes.{other}.target"),
                                    format!(
                                        "{other} sends to {nm} and nothing else could take its traffic; delete {other} first"
                                    ),
                                )
                            }
                        }
                    }
                    NodeKind::Service => scrub_service(obj, service(&typed, other), &nm),
                    NodeKind::LoadBalancer => {
                        if let Some(b) = obj.get_mut("backends").and_then(Value::as_array_mut) {
                            let before = b.len();
                            b.retain(|x| x != &json!(nm));
                            if b.is_empty() && before > 0 {
                                return refuse(
                                    format!("nodes.{other}.backends"),
                                    format!("{nm} is the only backend of {other}; add another backend or delete {other} first"),
                                );
                            }
                        }
                    }
                    NodeKind::Broker
                        if obj.get("handler").and_then(|h| h.get("to")) == Some(&json!(nm)) =>
                    {
                        obj.remove("handler");
                        obj.insert(
                            "process".into(),
                            json!({"dist": "exponential", "mean_s": 0.01}),
                        );
                        notes_ref.push(format!("{other}'s consumers process messages locally"));
                    }
                    _ => {}
                }
            }
            if let Some(m) = v.get_mut("layout").and_then(Value::as_object_mut) {
                m.remove(&nm);
            }
            if let Some(f) = v.get_mut("faults").and_then(Value::as_array_mut) {
                f.retain(|f| {
                    f.get("target") != Some(&json!(nm)) && f.get("peer") != Some(&json!(nm))
                });
            }
            Ok(())
        })?;
        let mut msg = format!("deleted {} {name}", kind_label(kind));
        if !notes.is_empty() {
            msg.push_str(&format!(" ({})", notes.join("; ")));
        }
        Ok(msg)
    }

    /// Deletes the arrow `from` → `to`: the caller's steps that reach `to`,
    /// a balancer's backend or a broker's handler. A source's target cannot
    /// be deleted (connect the source elsewhere instead).
    pub fn delete_edge(&mut self, from: &str, to: &str) -> EditResult<String> {
        let fk = self
            .kind_of(from)
            .ok_or_else(|| ScenarioError::new(format!("nodes.{from}"), "no such node"))?;
        if !self.edges().iter().any(|e| e.from == from && e.to == to) {
            return refuse(
                format!("nodes.{from}"),
                format!("no arrow from {from} to {to}"),
            );
        }
        let (f, t) = (from.to_string(), to.to_string());
        match fk {
            NodeKind::Source => refuse(
                format!("nodes.{from}.target"),
                "a source always has a target: connect it to another node, or delete the source",
            ),
            NodeKind::Service => {
                let typed = self.typed.clone();
                self.edit(|v| {
                    scrub_service(node_mut(v, &f)?, service(&typed, &f), &t);
                    Ok(())
                })?;
                Ok(format!("{from} no longer calls {to}"))
            }
            NodeKind::LoadBalancer => {
                self.edit(|v| {
                    let n = node_mut(v, &f)?;
                    if let Some(b) = n.get_mut("backends").and_then(Value::as_array_mut) {
                        b.retain(|x| x != &json!(t));
                        if b.is_empty() {
                            return refuse(
                                format!("nodes.{f}.backends"),
                                format!(
                                    "{t} is the only backend of {f}; a load balancer needs one"
                                ),
                            );
                        }
                    }
                    Ok(())
                })?;
                Ok(format!("{to} is no longer a backend of {from}"))
            }
            NodeKind::Broker => {
                self.edit(|v| {
                    let n = node_mut(v, &f)?;
                    n.remove("handler");
                    n.insert(
                        "process".into(),
                        json!({"dist": "exponential", "mean_s": 0.01}),
                    );
                    Ok(())
                })?;
                Ok(format!("{from}'s consumers process messages locally"))
            }
            _ => refuse(format!("nodes.{from}"), "this node makes no calls"),
        }
    }

    /// Deletes whatever is selected.
    pub fn delete_selection(&mut self, sel: &Selection) -> EditResult<String> {
        match sel {
            Selection::None => refuse("", "nothing is selected"),
            Selection::Node(n) => self.delete_node(n),
            Selection::Edge { from, to } => self.delete_edge(from, to),
        }
    }

    /// The document with one field of `node` set: `rel` is the dotted path
    /// relative to `nodes.<node>`; `raw` is read as JSON (a string field
    /// keeps plain text as a string); empty text is refused, never a deletion.
    fn with_field(v: &mut Value, node: &str, rel: &str, raw: &str) -> EditResult<()> {
        let full = format!("nodes.{node}.{rel}");
        if rel == "kind" {
            return refuse(
                full,
                "the kind of a node cannot change; add a new node instead",
            );
        }
        if raw.trim().is_empty() {
            // An empty field asks for a value: it never deletes the key
            // (removing a field is a structural edit, in the node's text).
            return refuse(
                full,
                "this field is empty: type a value (to remove the field, edit the node's text below)",
            );
        }
        let mut doc = ScenarioDoc(std::mem::take(v));
        let old = doc.get(&full).cloned();
        let res = {
            let value = match (&old, serde_json::from_str::<Value>(raw.trim())) {
                (Some(Value::String(_)), Ok(Value::String(s))) => Value::String(s),
                (Some(Value::String(_)), _) => Value::String(raw.to_string()),
                (_, Ok(v)) => v,
                (_, Err(_)) => Value::String(raw.to_string()),
            };
            doc.set_value(&full, value)
        };
        *v = doc.0;
        res
    }

    /// Checks a field edit without applying it.
    pub fn check_field(&self, node: &str, rel: &str, raw: &str) -> EditResult<()> {
        self.try_edit(|v| Self::with_field(v, node, rel, raw))
            .map(|_| ())
    }

    /// Sets a field of `node` (see [`EditorDoc::check_field`]).
    pub fn set_field(&mut self, node: &str, rel: &str, raw: &str) -> EditResult<()> {
        self.edit(|v| Self::with_field(v, node, rel, raw))
    }

    /// The node as TOML text (for the raw editor).
    pub fn node_text(&self, node: &str) -> String {
        self.node_value(node)
            .map(|v| to_toml_text(v).unwrap_or_else(|e| format!("# {e}")))
            .unwrap_or_default()
    }

    fn with_node_text(v: &mut Value, node: &str, text: &str) -> EditResult<()> {
        let path = format!("nodes.{node}");
        let body: Value = match Format::sniff(text) {
            Format::Json => serde_json::from_str(text)
                .map_err(|e| ScenarioError::new(&path, format!("JSON syntax error: {e}")))?,
            Format::Toml => toml::from_str(text).map_err(|e| {
                ScenarioError::new(&path, format!("TOML syntax error: {}", e.message()))
            })?,
        };
        if !body.is_object() {
            return refuse(path, "a node is a table of fields");
        }
        nodes_mut(v)?.insert(node.to_string(), body);
        Ok(())
    }

    /// Checks a replacement text (TOML or JSON) of a whole node.
    pub fn check_node_text(&self, node: &str, text: &str) -> EditResult<()> {
        self.try_edit(|v| Self::with_node_text(v, node, text))
            .map(|_| ())
    }

    /// Replaces a whole node with `text` (TOML or JSON): structural edits.
    pub fn replace_node(&mut self, node: &str, text: &str) -> EditResult<()> {
        if self.kind_of(node).is_none() {
            return refuse(format!("nodes.{node}"), "no such node");
        }
        self.edit(|v| Self::with_node_text(v, node, text))
    }

    /// The scenario as TOML (what `on_apply` receives): the same text the
    /// engine host writes for the same document.
    pub fn to_toml(&self) -> String {
        self.doc.to_toml()
    }

    /// Whether `text` is this document, whatever its formatting (also when
    /// a number came back without its decimal point: the worker's replies
    /// cross JavaScript, which has one number type).
    pub fn means(&self, text: &str) -> bool {
        ScenarioDoc::parse(text, sim_core::Format::sniff(text))
            .is_ok_and(|other| self.doc.diff(&other).is_empty())
    }
}

/// TOML text of a JSON value (nulls dropped: TOML has none, and an absent
/// optional field means the same).
pub fn to_toml_text(v: &Value) -> Result<String, String> {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, x)| !x.is_null())
                    .map(|(k, x)| (k.clone(), strip(x)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().filter(|x| !x.is_null()).map(strip).collect()),
            x => x.clone(),
        }
    }
    toml::to_string_pretty(&strip(v)).map_err(|e| format!("cannot write TOML: {e}"))
}

/// Leaves of a JSON value as (dotted path, value); empty tables and lists
/// are leaves too.
pub fn flatten(v: &Value) -> Vec<(String, Value)> {
    fn go(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        let join = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    go(&join(k), x, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, x) in a.iter().enumerate() {
                    go(&join(&i.to_string()), x, out);
                }
            }
            _ => out.push((prefix.to_string(), v.clone())),
        }
    }
    let mut out = Vec::new();
    go("", v, &mut out);
    // `kind` first: it says what the rest means.
    out.sort_by_key(|(p, _)| p != "kind");
    out
}

/// A leaf as the inspector shows it: strings bare, everything else as JSON.
pub fn leaf_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A `query` step.
fn is_query(step: &Value) -> bool {
    step.get("query").is_some()
}

fn nodes_mut(v: &mut Value) -> EditResult<&mut Map<String, Value>> {
    v.get_mut("nodes")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ScenarioError::new("nodes", "must be a table of named nodes"))
}

fn node_mut<'a>(v: &'a mut Value, name: &str) -> EditResult<&'a mut Map<String, Value>> {
    nodes_mut(v)?
        .get_mut(name)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ScenarioError::new(format!("nodes.{name}"), "no such node"))
}

fn layout_mut(v: &mut Value) -> &mut Map<String, Value> {
    let root = v.as_object_mut().expect("a scenario is a table");
    let lay = root
        .entry("layout")
        .or_insert_with(|| Value::Object(Map::new()));
    if !lay.is_object() {
        *lay = Value::Object(Map::new());
    }
    lay.as_object_mut().unwrap()
}

/// The typed service `name` of `sc` (the editor's committed document).
fn service<'a>(sc: &'a Scenario, name: &str) -> Option<&'a ServiceSpec> {
    match sc.nodes.get(name) {
        Some(NodeSpec::Service(s)) => Some(s),
        _ => None,
    }
}

/// The JSON value at a path relative to `v` (`.cache_read.on_miss`).
fn json_at_mut<'a>(v: &'a mut Value, rel: &str) -> Option<&'a mut Value> {
    let segs = sim_core::scenario::split_path(rel.trim_start_matches('.')).ok()?;
    segs.iter().try_fold(v, |cur, seg| match cur {
        Value::Object(m) => m.get_mut(seg),
        Value::Array(a) => a.get_mut(seg.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Removes from the JSON list `steps` every step that reaches `target`,
/// reading what each step is from `typed` (the same list, typed; sim-core's
/// `StepSpec::target` and `blocks` say what a step calls and where its
/// nested steps are). A cache read of `target` is replaced by its `on_miss`
/// steps; a write that invalidates `target` stops invalidating; a repeat,
/// lock or parallel step left without steps goes too. Steps that stay keep
/// their JSON as written.
fn scrub_steps(steps: &mut Vec<Value>, typed: &[StepSpec], target: &str) {
    let old = std::mem::take(steps);
    for (mut json, st) in old.into_iter().zip(typed) {
        if st.target().is_some_and(|(t, _)| t == target) {
            if let StepSpec::CacheRead(c) = st {
                if let Some(miss) = json_at_mut(&mut json, ".cache_read.on_miss") {
                    let mut miss = std::mem::take(miss).as_array().cloned().unwrap_or_default();
                    scrub_steps(&mut miss, &c.on_miss, target);
                    steps.extend(miss);
                }
            }
            continue;
        }
        if let StepSpec::Write(w) = st {
            if w.cache.as_deref() == Some(target) {
                if let Some(Value::Object(w)) = json_at_mut(&mut json, ".write") {
                    w.remove("cache");
                    w.remove("invalidate");
                }
            }
        }
        let mut emptied = false;
        for b in st.blocks() {
            if let Some(list) = json_at_mut(&mut json, &b.suffix).and_then(Value::as_array_mut) {
                scrub_steps(list, b.steps, target);
                emptied |= list.is_empty();
            }
        }
        let needs_steps = matches!(
            st,
            StepSpec::Repeat(_) | StepSpec::Locked(_) | StepSpec::Parallel(_)
        );
        if !(needs_steps && emptied) {
            steps.push(json);
        }
    }
}

/// A small compute step that keeps a handler non-empty.
fn filler_step() -> Value {
    json!({"compute": {"dist": "exponential", "mean_s": 0.01}})
}

/// Removes `target` from a service's handlers (`typed`: the service as
/// committed), keeping them valid.
fn scrub_service(obj: &mut Map<String, Value>, typed: Option<&ServiceSpec>, target: &str) {
    let Some(typed) = typed else { return };
    let has_eps = !typed.endpoints.is_empty();
    if let Some(a) = obj.get_mut("steps").and_then(Value::as_array_mut) {
        let had = !a.is_empty();
        scrub_steps(a, &typed.steps, target);
        if a.is_empty() && had {
            if has_eps {
                obj.remove("steps");
            } else {
                a.push(filler_step());
            }
        }
    }
    if let Some(eps) = obj.get_mut("endpoints").and_then(Value::as_object_mut) {
        for (name, e) in eps.iter_mut() {
            let Some(ep) = typed.endpoints.get(name) else {
                continue;
            };
            if let Some(a) = e.get_mut("steps").and_then(Value::as_array_mut) {
                scrub_steps(a, &ep.steps, target);
                if a.is_empty() {
                    a.push(filler_step());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::NodeSpec;

    const CHAIN: &str = r#"
version = 1
name = "chain"
duration_s = 60
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 20 }
timeout_s = 2.0
[nodes.api]
kind = "service"
workers = 4
queue = { capacity = 50 }
steps = [
  { compute = { dist = "constant", value_s = 0.004 } },
  { cache_read = { cache = "cache", key = { space = "p", n = 100 }, on_miss = [ { query = { db = "db", table = "users" } } ] } },
  { call = { to = "pay" } },
]
[nodes.pay]
kind = "external"
latency = { dist = "exponential", mean_s = 0.1 }
[nodes.cache]
kind = "cache"
capacity_entries = 50
[nodes.db]
kind = "database"
tables = { users = { rows = 1000 } }
[[faults]]
at_s = 10
target = "pay"
kind = "hang"
"#;

    fn doc() -> EditorDoc {
        EditorDoc::parse(CHAIN).unwrap()
    }

    fn builds(d: &EditorDoc) -> sim_core::Scenario {
        d.doc().build().expect("the document always builds")
    }

    fn service_steps(d: &EditorDoc, name: &str) -> Vec<Value> {
        d.node_value(name).unwrap()["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn parses_and_lists_edges() {
        let d = doc();
        let e: Vec<(String, String, EdgeKind)> = d
            .edges()
            .into_iter()
            .map(|e| (e.from, e.to, e.kind))
            .collect();
        assert_eq!(
            e,
            vec![
                ("api".into(), "cache".into(), EdgeKind::CacheRead),
                ("api".into(), "db".into(), EdgeKind::Query),
                ("api".into(), "pay".into(), EdgeKind::Call),
                ("clients".into(), "api".into(), EdgeKind::Target),
            ]
        );
        assert!(EditorDoc::parse("version = 1\nnodes = {}").is_err());
    }

    #[test]
    fn add_node_of_every_kind_builds_with_unique_names() {
        let mut d = doc();
        for &k in NodeKind::ALL {
            let n = d.add_node(k, None).unwrap();
            builds(&d);
            assert_eq!(d.kind_of(&n), Some(k));
        }
        // "cache" existed already: the new one is cache2; the others take
        // the kind's name.
        for n in [
            "source",
            "service",
            "external",
            "database",
            "cache2",
            "broker",
            "load_balancer",
        ] {
            assert!(d.kind_of(n).is_some(), "{n} missing: {:?}", d.nodes());
        }
        assert_eq!(d.add_node(NodeKind::Service, None).unwrap(), "service2");
        assert_eq!(d.add_node(NodeKind::Service, None).unwrap(), "service3");
        assert_eq!(d.nodes().len(), 5 + 7 + 2);
        let sc = builds(&d);
        assert!(matches!(sc.nodes["service2"], NodeSpec::Service(_)));
    }

    #[test]
    fn add_node_with_layout_places_it_below() {
        let mut d = doc();
        d.move_node("api", 300.0, 100.0).unwrap();
        let n = d.add_node(NodeKind::Service, None).unwrap();
        let lay = d.layout();
        let maxy = lay
            .iter()
            .filter(|(k, _)| **k != n)
            .map(|(_, p)| p.1)
            .fold(f64::MIN, f64::max);
        assert!(lay[&n].1 > maxy, "{lay:?}");
        builds(&d);
        let n2 = d.add_node(NodeKind::Cache, Some((7.0, 9.0))).unwrap();
        assert_eq!(d.layout()[&n2], (7.0, 9.0));
    }

    #[test]
    fn move_node_freezes_others_and_round_trips_undo() {
        let mut d = doc();
        let before = d.positions();
        assert!(d.layout().is_empty());
        d.move_node("db", 1000.0, -50.0).unwrap();
        let lay = d.layout();
        assert_eq!(lay.len(), 5);
        assert_eq!(lay["db"], (1000.0, -50.0));
        for (k, p) in &before {
            if k != "db" {
                assert_eq!(lay[k], (p.0.round(), p.1.round()), "{k}");
            }
        }
        assert_eq!(builds(&d).layout.len(), 5);
        assert!(d.move_node("ghost", 1.0, 1.0).is_err());
        assert!(d.move_node("db", f64::NAN, 1.0).is_err());
        assert!(d.undo());
        assert!(d.layout().is_empty());
        assert!(d.redo());
        assert_eq!(d.layout()["db"], (1000.0, -50.0));
    }

    #[test]
    fn connect_by_kinds() {
        let mut d = doc();
        d.add_node(NodeKind::Service, None).unwrap(); // "service"
        d.add_node(NodeKind::Broker, None).unwrap();
        d.add_node(NodeKind::LoadBalancer, None).unwrap();
        // source -> service: retarget
        d.connect("clients", "service").unwrap();
        assert_eq!(d.node_value("clients").unwrap()["target"], "service");
        // service -> service: call step, the shorthand becomes steps
        d.connect("service", "api").unwrap();
        let st = service_steps(&d, "service");
        assert_eq!(st.len(), 2);
        assert!(st[0].get("compute").is_some());
        assert_eq!(st[1], json!({"call": {"to": "api"}}));
        assert!(d.node_value("service").unwrap().get("service").is_none());
        // service -> database: a query of an existing table
        d.connect("service", "db").unwrap();
        assert_eq!(
            service_steps(&d, "service")[2],
            json!({"query": {"db": "db", "table": "users"}})
        );
        // service -> cache: cache-aside, the query moves to the miss path
        d.connect("service", "cache").unwrap();
        let st = service_steps(&d, "service");
        assert_eq!(st.len(), 3, "{st:?}");
        assert_eq!(st[2]["cache_read"]["cache"], "cache");
        assert_eq!(
            st[2]["cache_read"]["on_miss"],
            json!([{"query": {"db": "db", "table": "users"}}])
        );
        // service -> broker
        d.connect("service", "broker").unwrap();
        assert_eq!(
            service_steps(&d, "service")[3],
            json!({"publish": {"broker": "broker"}})
        );
        // service -> external
        d.connect("api", "pay").unwrap();
        assert_eq!(service_steps(&d, "api").len(), 4);
        // load balancer -> service: backend
        d.connect("load_balancer", "service").unwrap();
        let lb = d.node_value("load_balancer").unwrap()["backends"].clone();
        assert_eq!(lb.as_array().unwrap().len(), 2, "{lb}");
        // broker -> service: handler
        d.connect("broker", "pay").unwrap();
        let b = d.node_value("broker").unwrap();
        assert_eq!(b["handler"], json!({"to": "pay"}));
        assert!(b.get("process").is_none());
        builds(&d);
        let edges = d.edges();
        for (f, t, k) in [
            ("clients", "service", EdgeKind::Target),
            ("service", "api", EdgeKind::Call),
            ("service", "db", EdgeKind::Query),
            ("service", "cache", EdgeKind::CacheRead),
            ("service", "broker", EdgeKind::Publish),
            ("load_balancer", "service", EdgeKind::Backend),
            ("broker", "pay", EdgeKind::Handler),
        ] {
            assert!(
                edges
                    .iter()
                    .any(|e| e.from == f && e.to == t && e.kind == k),
                "{f}->{t} missing: {edges:?}"
            );
        }
    }

    /// A service that queries a database on every request, then a cache
    /// drawn between them (service -> cache, or cache -> database): the
    /// cache is cache-aside, so the database sees only the misses.
    const DIRECT: &str = r#"
version = 1
name = "direct"
duration_s = 60
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 50 }
[nodes.api]
kind = "service"
workers = 8
steps = [ { query = { db = "db", table = "users" } } ]
[nodes.cache]
kind = "cache"
capacity_entries = 20000
[nodes.db]
kind = "database"
tables = { users = { rows = 1000 } }
"#;

    fn db_arrivals(d: &EditorDoc) -> (u64, u64) {
        let r = sim_core::Sim::new(&builds(d), 3)
            .unwrap()
            .run_for(60.0)
            .unwrap();
        (r.nodes["api"].arrived, r.nodes["db"].arrived)
    }

    #[test]
    fn a_cache_between_a_service_and_its_database_relieves_the_database() {
        let plain = EditorDoc::parse(DIRECT).unwrap();
        let (api0, db0) = db_arrivals(&plain);
        // Every request queries the database: db arrivals = api arrivals.
        assert!(api0 > 2_000 && db0 >= api0, "{api0} {db0}");
        let mut a = EditorDoc::parse(DIRECT).unwrap();
        a.connect("api", "cache").unwrap();
        let st = service_steps(&a, "api");
        assert_eq!(st.len(), 1, "{st:?}");
        assert_eq!(
            st[0]["cache_read"]["on_miss"],
            json!([{"query": {"db": "db", "table": "users"}}])
        );
        // 10,000 keys, uniform by default, 20,000 entries: after each key's
        // first miss every read hits, so at 50/s for 60 s (~3,000 reads)
        // the database sees at most the distinct keys drawn, well under the
        // reads.
        let (api1, db1) = db_arrivals(&a);
        assert!(api1 > 2_000 && db1 < api1, "{api1} {db1}");
        // The other way round: the service reads the cache, then the cache
        // is connected to the database.
        let mut b = EditorDoc::parse(DIRECT).unwrap();
        b.edit(|v| {
            node_mut(v, "api")?.insert(
                "steps".into(),
                json!([{"cache_read": {"cache": "cache", "key": {"space": "k", "n": 100}}},
                       {"query": {"db": "db", "table": "users"}}]),
            );
            Ok(())
        })
        .unwrap();
        b.connect("cache", "db").unwrap();
        let st = service_steps(&b, "api");
        assert_eq!(st.len(), 1, "{st:?}");
        let (api2, db2) = db_arrivals(&b);
        // 100 keys: at most 100 misses (plus none after), out of ~3,000.
        assert!(api2 > 2_000 && db2 <= 100, "{api2} {db2}");
        // A service -> database connection of a service with a cache read
        // goes on the miss path too.
        let mut c = EditorDoc::parse(DIRECT).unwrap();
        c.connect("api", "cache").unwrap();
        c.connect("api", "db").unwrap();
        let st = service_steps(&c, "api");
        assert_eq!(
            st[0]["cache_read"]["on_miss"].as_array().unwrap().len(),
            2,
            "{st:?}"
        );
        // A cache no service reads cannot be connected to a database.
        let mut e = EditorDoc::parse(DIRECT).unwrap();
        let err = e.connect("cache", "db").unwrap_err();
        assert!(err.message.contains("no service reads this cache"), "{err}");
    }

    #[test]
    fn bad_pairs_are_refused_and_change_nothing() {
        let mut d = doc();
        let v0 = d.value().clone();
        for (f, t, path, needle) in [
            ("db", "api", "nodes.db", "does not call"),
            ("cache", "api", "nodes.cache", "does not call"),
            ("pay", "api", "nodes.pay", "does not call"),
            ("api", "clients", "nodes.api", "nothing can call a source"),
            ("clients", "db", "nodes.clients", "target is a service"),
            ("api", "api", "nodes.api", "itself"),
            ("clients", "api", "nodes.clients.target", "already targets"),
            ("api", "ghost", "nodes.ghost", "no such node"),
        ] {
            let e = d.connect(f, t).unwrap_err();
            assert_eq!(e.path, path, "{f}->{t}: {e}");
            assert!(e.message.contains(needle), "{f}->{t}: {e}");
            assert_eq!(d.value(), &v0, "{f}->{t} changed the document");
        }
        assert!(!d.can_undo());
        // A cycle is refused by validation, with the engine's message.
        d.add_node(NodeKind::Service, None).unwrap();
        d.connect("api", "service").unwrap();
        let v1 = d.value().clone();
        let e = d.connect("service", "api").unwrap_err();
        assert!(e.message.contains("cycle"), "{e}");
        assert_eq!(d.value(), &v1);
    }

    #[test]
    fn delete_node_cleans_references() {
        let mut d = doc();
        // Deleting the cache keeps the fallback query inline.
        d.delete_node("cache").unwrap();
        let st = service_steps(&d, "api");
        assert_eq!(st.len(), 3, "{st:?}");
        assert_eq!(st[1], json!({"query": {"db": "db", "table": "users"}}));
        builds(&d);
        // Deleting the external removes its call and its fault.
        d.delete_node("pay").unwrap();
        assert_eq!(service_steps(&d, "api").len(), 2);
        assert!(d.value()["faults"].as_array().unwrap().is_empty());
        builds(&d);
        // Deleting the database: the handler keeps its compute step.
        d.delete_node("db").unwrap();
        assert_eq!(service_steps(&d, "api").len(), 1);
        assert!(d.edges().iter().all(|e| e.to != "db"));
        builds(&d);
        // The api is the only target: its source has nowhere to go.
        let e = d.delete_node("api").unwrap_err();
        assert_eq!(e.path, "nodes.clients.target", "{e}");
        // With another service the source is retargeted.
        d.add_node(NodeKind::Service, None).unwrap();
        let msg = d.delete_node("api").unwrap();
        assert!(msg.contains("clients now targets service"), "{msg}");
        builds(&d);
        // The last source cannot go.
        let e = d.delete_node("clients").unwrap_err();
        assert!(e.message.contains("source"), "{e}");
        builds(&d);
        assert_eq!(
            d.nodes(),
            vec![
                ("clients".to_string(), NodeKind::Source),
                ("service".to_string(), NodeKind::Service)
            ]
        );
    }

    #[test]
    fn delete_node_from_balancer_broker_nested_and_layout() {
        let text = r#"
version = 1
[nodes.c]
kind = "source"
target = "lb"
arrival = { process = "poisson", rate = 5 }
[nodes.lb]
kind = "load_balancer"
backends = ["a", "b"]
[nodes.a]
kind = "service"
steps = [ { repeat = { count = 2, steps = [ { call = { to = "x" } } ] } },
          { parallel = [ { call = { to = "x" } }, { publish = { broker = "q" } } ] },
          { choose = [ { p = 0.5, steps = [ { call = { to = "x" } } ] }, { p = 0.5, steps = [] } ] } ]
[nodes.b]
kind = "service"
service = { dist = "constant", value_s = 0.01 }
[nodes.x]
kind = "external"
latency = { dist = "constant", value_s = 0.01 }
[nodes.q]
kind = "broker"
handler = { to = "x" }
[layout]
x = { x = 1.0, y = 2.0 }
"#;
        let mut d = EditorDoc::parse(text).unwrap();
        d.delete_node("x").unwrap();
        builds(&d);
        let st = service_steps(&d, "a");
        // repeat emptied -> dropped; parallel keeps the publish; choose keeps
        // its (now empty) branches.
        assert_eq!(st.len(), 2, "{st:?}");
        assert_eq!(st[0]["parallel"].as_array().unwrap().len(), 1);
        assert!(st[1].get("choose").is_some());
        let q = d.node_value("q").unwrap();
        assert!(q.get("handler").is_none() && q.get("process").is_some());
        assert!(d.layout().is_empty());
        d.delete_node("b").unwrap();
        assert_eq!(d.node_value("lb").unwrap()["backends"], json!(["a"]));
        let e = d.delete_node("a").unwrap_err();
        assert_eq!(e.path, "nodes.lb.backends", "{e}");
        builds(&d);
    }

    #[test]
    fn delete_edge_variants() {
        let mut d = doc();
        d.delete_edge("api", "pay").unwrap();
        assert!(!d.edges().iter().any(|e| e.from == "api" && e.to == "pay"));
        builds(&d);
        let e = d.delete_edge("clients", "api").unwrap_err();
        assert_eq!(e.path, "nodes.clients.target");
        assert!(d.delete_edge("api", "pay").is_err());
        d.delete_selection(&Selection::Edge {
            from: "api".into(),
            to: "cache".into(),
        })
        .unwrap();
        assert_eq!(service_steps(&d, "api")[1]["query"]["db"], "db");
        d.delete_selection(&Selection::Node("pay".into())).unwrap();
        assert!(d.kind_of("pay").is_none());
        assert!(d.delete_selection(&Selection::None).is_err());
        builds(&d);
    }

    #[test]
    fn undo_redo_round_trip_every_op() {
        let mut d = doc();
        let v0 = d.value().clone();
        d.add_node(NodeKind::Service, None).unwrap();
        d.connect("api", "service").unwrap();
        d.move_node("service", 5.0, 6.0).unwrap();
        d.set_field("service", "workers", "9").unwrap();
        d.delete_node("pay").unwrap();
        let v5 = d.value().clone();
        let mut states = vec![v5.clone()];
        for _ in 0..5 {
            assert!(d.undo());
            builds(&d);
            states.push(d.value().clone());
        }
        assert_eq!(d.value(), &v0);
        assert!(!d.undo());
        for i in (0..5).rev() {
            assert!(d.redo());
            builds(&d);
            assert_eq!(d.value(), &states[i]);
        }
        assert_eq!(d.value(), &v5);
        assert!(!d.redo());
        // A new edit clears the redo stack.
        d.undo();
        d.set_field("api", "workers", "5").unwrap();
        assert!(!d.can_redo());
    }

    #[test]
    fn set_field_validates_and_keeps_types() {
        let mut d = doc();
        d.set_field("api", "workers", "12").unwrap();
        assert_eq!(d.node_value("api").unwrap()["workers"], json!(12));
        d.set_field("api", "steps.0.compute.value_s", "0.5")
            .unwrap();
        // A string field keeps text as a string.
        d.set_field("clients", "arrival.process", "constant")
            .unwrap();
        assert_eq!(
            d.node_value("clients").unwrap()["arrival"]["process"],
            "constant"
        );
        builds(&d);
        let v = d.value().clone();
        let undo_len = d.undo.len();
        for (node, rel, raw, path) in [
            ("api", "workers", "0", "nodes.api.workers"),
            ("api", "workers", "lots", "nodes.api.workers"),
            (
                "clients",
                "arrival.rate",
                "-1",
                "nodes.clients.arrival.rate",
            ),
            ("clients", "target", "ghost", "nodes.clients.target"),
            ("api", "kind", "cache", "nodes.api.kind"),
            ("clients", "arrival", "", "nodes.clients.arrival"),
            // Empty text asks for a value: it does not delete the field.
            ("api", "workers", "", "nodes.api.workers"),
            (
                "clients",
                "arrival.rate",
                "  ",
                "nodes.clients.arrival.rate",
            ),
        ] {
            let e = d.check_field(node, rel, raw).unwrap_err();
            assert_eq!(e.path, path, "{rel}={raw}: {e}");
            let e2 = d.set_field(node, rel, raw).unwrap_err();
            assert_eq!(e, e2);
            assert_eq!(d.value(), &v);
        }
        assert_eq!(d.undo.len(), undo_len);
        assert!(d.check_field("api", "workers", "3").is_ok());
        assert_eq!(d.value(), &v, "check does not apply");
        // Setting the same value leaves no undo entry.
        d.set_field("api", "workers", "12").unwrap();
        assert_eq!(d.undo.len(), undo_len);
    }

    #[test]
    fn replace_node_text() {
        let mut d = doc();
        let t = d.node_text("api");
        assert!(t.contains("workers = 4"), "{t}");
        // Round trip of the node's own text changes nothing.
        d.replace_node("api", &t).unwrap();
        assert!(!d.can_undo());
        let new = t.replace("workers = 4", "workers = 7");
        d.replace_node("api", &new).unwrap();
        assert_eq!(d.node_value("api").unwrap()["workers"], json!(7));
        let e = d.check_node_text("api", "workers = [").unwrap_err();
        assert!(e.message.contains("TOML syntax error"), "{e}");
        assert_eq!(e.path, "nodes.api");
        let e = d.check_node_text("api", "kind = \"service\"").unwrap_err();
        assert_eq!(e.path, "nodes.api.service", "{e}");
        d.replace_node(
            "pay",
            r#"{"kind":"external","latency":{"dist":"constant","value_s":0.2}}"#,
        )
        .unwrap();
        assert_eq!(
            d.node_value("pay").unwrap()["latency"]["value_s"],
            json!(0.2)
        );
        builds(&d);
    }

    #[test]
    fn toml_round_trip_preserves_everything() {
        let mut d = doc();
        d.move_node("api", 10.0, 20.0).unwrap();
        d.add_node(NodeKind::Broker, None).unwrap();
        let t = d.to_toml();
        let back = EditorDoc::parse(&t).unwrap();
        assert_eq!(back.value(), d.value(), "{t}");
        // JSON in, with a null, still writes TOML that builds.
        let json = r#"{"version":1,"name":null,"nodes":{"c":{"kind":"source","target":"s","arrival":{"process":"poisson","rate":1}},"s":{"kind":"service","service":{"dist":"constant","value_s":0.1}}}}"#;
        let j = EditorDoc::from_doc(ScenarioDoc(serde_json::from_str(json).unwrap()));
        // `name = null` is not a string: the original does not build either.
        assert!(j.is_err());
        let ok = json.replace("\"name\":null,", "");
        let j = EditorDoc::parse(&ok).unwrap();
        assert!(EditorDoc::parse(&j.to_toml()).is_ok());
    }

    #[test]
    fn flatten_lists_every_leaf() {
        let d = doc();
        let f = flatten(d.node_value("api").unwrap());
        let paths: Vec<&str> = f.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths[0], "kind");
        for p in [
            "workers",
            "queue.capacity",
            "steps.0.compute.dist",
            "steps.0.compute.value_s",
            "steps.1.cache_read.key.space",
            "steps.1.cache_read.on_miss.0.query.table",
            "steps.2.call.to",
        ] {
            assert!(paths.contains(&p), "{p} missing: {paths:?}");
        }
        assert_eq!(leaf_text(&json!("x")), "x");
        assert_eq!(leaf_text(&json!(1.5)), "1.5");
        let f = flatten(&json!({"a": [], "b": {}}));
        assert_eq!(f.len(), 2);
    }
}

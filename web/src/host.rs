//! The engine host: owns the simulations (one per [`Lane`]) and answers
//! [`ToHost`] commands with [`FromHost`] replies. It runs in a web worker
//! (`src/bin/worker.rs`), so the page stays responsive however hard the
//! engine works; it is plain Rust, so it is unit-tested natively and also
//! serves as the same-thread fallback when a worker cannot start.

use sim_core::{Edit, Sim};

use crate::clock;
use crate::engine::{Applied, Engine};
use crate::model::CHART_WINDOWS;
use crate::protocol::{FromHost, Lane, LaneFrame, LaneInfo, ToHost};
use crate::seed_check::SeedCheckRun;
use crate::traces::{self, SLOW_LIST_LEN};

/// Work (events and calls, `Sim::work`) per bounded run between two looks
/// at the clock.
const CHUNK_WORK: u64 = 4_096;
/// At `max` speed, the furthest one frame may move the clock (simulated ns).
const MAX_HORIZON_NS: u64 = 3_600 * 1_000_000_000;
/// Windows sent per lane and frame, at most (what the charts keep).
pub const MAX_WINDOWS_PER_FRAME: usize = 4 * CHART_WINDOWS;

struct LaneRt {
    engine: Engine,
    id: String,
    /// The scenario text the lane runs: as loaded, then, after an edit, the
    /// edited document's TOML.
    text: String,
    /// End of the last window sent, simulated seconds.
    sent_until_s: f64,
}

impl LaneRt {
    fn sim(&self) -> &Sim {
        self.engine.sim()
    }

    fn info(&self, lane: Lane) -> LaneInfo {
        let sc = self.engine.scenario();
        let snap = self.sim().snapshot();
        LaneInfo {
            lane,
            id: self.id.clone(),
            text: self.text.clone(),
            seed: self.engine.seed(),
            controls: self.engine.controls.clone(),
            topology: self.engine.topology.clone(),
            node_names: snap.nodes.iter().map(|n| n.name.clone()).collect(),
            slo: sc.slo.as_ref().map(|s| (s.latency_s, s.target)),
            window_s: sc.metrics.window_s,
        }
    }

    /// Applies `edits` to this lane's document: the replies say whether the
    /// change went live or restarted the lane, and describe the lane anew.
    fn edit(&mut self, lane: Lane, edits: &[Edit], reason: &str) -> Vec<FromHost> {
        match self.engine.edit(edits) {
            Ok(applied) => {
                self.text = self.engine.doc().to_toml();
                let (live, note) = match applied {
                    Applied::Live => (
                        true,
                        format!("{reason}: applied live at t = {:.1} s", self.sim().now_s()),
                    ),
                    Applied::Restarted(why) => {
                        self.sent_until_s = f64::NEG_INFINITY;
                        (false, format!("{reason}: restarted at t = 0 ({why})"))
                    }
                };
                vec![
                    FromHost::Applied {
                        lane,
                        live,
                        note,
                        text: self.text.clone(),
                    },
                    FromHost::Loaded(Box::new(self.info(lane))),
                ]
            }
            Err(e) => vec![error(Some(lane), reason, e)],
        }
    }

    fn frame(&mut self, lane: Lane, traces: bool) -> LaneFrame {
        let snapshot = self.sim().snapshot();
        let windows = self
            .sim()
            .windows_after(self.sent_until_s, MAX_WINDOWS_PER_FRAME);
        if let Some(w) = windows.last() {
            self.sent_until_s = w.t_end_s;
        }
        let requests =
            snapshot.end_to_end.arrived + snapshot.edges.iter().map(|e| e.calls).sum::<u64>();
        LaneFrame {
            lane,
            windows,
            traces: traces.then(|| traces::slowest(self.sim().recent_traces(), SLOW_LIST_LEN)),
            requests,
            snapshot,
        }
    }
}

/// The simulations behind the page.
#[derive(Default)]
pub struct Host {
    lanes: [Option<LaneRt>; 2],
    /// A lesson check in progress (one run per `CheckStep`).
    check: Option<SeedCheckRun>,
}

fn error(lane: Option<Lane>, context: impl Into<String>, message: impl Into<String>) -> FromHost {
    FromHost::Error {
        lane,
        context: context.into(),
        message: message.into(),
    }
}

impl Host {
    pub fn new() -> Host {
        Host::default()
    }

    /// Lanes that exist, in order.
    fn live(&mut self) -> impl Iterator<Item = (Lane, &mut LaneRt)> {
        self.lanes
            .iter_mut()
            .zip(Lane::ALL)
            .filter_map(|(l, lane)| l.as_mut().map(|l| (lane, l)))
    }

    /// The engine stopped lane `i`'s run.
    fn halted(&self, i: usize) -> bool {
        self.lanes[i]
            .as_ref()
            .is_some_and(|l| l.sim().halted().is_some())
    }

    pub fn has(&self, lane: Lane) -> bool {
        self.lanes[lane.index()].is_some()
    }

    /// The simulated clock of `lane`, ns.
    pub fn now(&self, lane: Lane) -> Option<u64> {
        self.lanes[lane.index()].as_ref().map(|l| l.sim().now())
    }

    fn frame(
        &mut self,
        advance: bool,
        traces: bool,
        reached: bool,
        compute_ms: f64,
        note: Option<String>,
    ) -> FromHost {
        let lanes = self.live().map(|(lane, l)| l.frame(lane, traces)).collect();
        FromHost::Frame {
            advance,
            lanes,
            reached,
            compute_ms,
            note,
        }
    }

    /// Handles one command; the replies go back to the page in order.
    pub fn handle(&mut self, msg: ToHost) -> Vec<FromHost> {
        match msg {
            ToHost::Hello => vec![FromHost::Ready {
                version: env!("CARGO_PKG_VERSION").to_string(),
            }],
            ToHost::Bench {
                scenario,
                duration_s,
            } => vec![FromHost::Bench {
                json: crate::bench_run(&scenario, duration_s),
            }],
            ToHost::Load {
                lane,
                id,
                text,
                seed,
            } => match Engine::with_seed(&text, seed) {
                Ok(engine) => {
                    let rt = LaneRt {
                        engine,
                        id,
                        text,
                        sent_until_s: f64::NEG_INFINITY,
                    };
                    let info = rt.info(lane);
                    self.lanes[lane.index()] = Some(rt);
                    vec![
                        FromHost::Loaded(Box::new(info)),
                        self.frame(false, true, true, 0.0, None),
                    ]
                }
                Err(e) => vec![error(Some(lane), id, e)],
            },
            ToHost::Drop { lane } => {
                self.lanes[lane.index()] = None;
                vec![]
            }
            ToHost::Advance {
                wall_dt_ms,
                speed,
                budget_ms,
                traces,
                until_s,
            } => {
                let start = clock::now_ms();
                let dt_s = wall_dt_ms.max(0.0) / 1e3;
                let delta = speed.sim_advance_ns(dt_s);
                let mut out = Vec::new();
                let until = until_s.map(sim_core::secs_to_ns);
                let reached = self.advance(delta, until, budget_ms, start, &mut out);
                let compute_ms = clock::now_ms() - start;
                out.push(self.frame(true, traces, reached, compute_ms, None));
                out
            }
            ToHost::Step => {
                let start = clock::now_ms();
                let step = self
                    .live()
                    .map(|(_, l)| sim_core::secs_to_ns(l.engine.scenario().metrics.window_s))
                    .max()
                    .unwrap_or(1_000_000_000);
                let mut out = Vec::new();
                let reached = self.advance(Some(step), None, f64::INFINITY, start, &mut out);
                out.push(self.frame(false, true, reached, clock::now_ms() - start, None));
                out
            }
            ToHost::Reset { seed } => {
                let mut out = Vec::new();
                for (lane, l) in self.live() {
                    let seed = seed.unwrap_or(l.engine.seed());
                    let res = l.engine.reseed(seed);
                    l.sent_until_s = f64::NEG_INFINITY;
                    match res {
                        Ok(()) => out.push(FromHost::Loaded(Box::new(l.info(lane)))),
                        Err(e) => out.push(error(Some(lane), "reset", e)),
                    }
                }
                out.push(self.frame(false, true, true, 0.0, None));
                out
            }
            ToHost::Edit {
                lane,
                edits,
                reason,
            } => {
                let mut out = Vec::new();
                for (l_id, l) in self.live().filter(|(l, _)| lane.is_none_or(|x| x == *l)) {
                    out.extend(l.edit(l_id, &edits, &reason));
                }
                if out.is_empty() {
                    let which = lane.map_or("any", Lane::label);
                    return vec![error(lane, reason, format!("no lane {which} to edit"))];
                }
                out.push(self.frame(false, true, true, 0.0, None));
                out
            }
            ToHost::Inject { button, target } => {
                let mut out = Vec::new();
                let mut note = None;
                for (lane, l) in self.live() {
                    let t = target.clone().unwrap_or_default();
                    match l.engine.inject(button, &t) {
                        Ok(()) => {
                            let on = if button.targeted() {
                                format!(" on {t}")
                            } else {
                                String::new()
                            };
                            note = Some(format!(
                                "{}{on} at t = {:.1} s",
                                button.label(),
                                l.sim().now_s()
                            ));
                        }
                        Err(e) => out.push(error(Some(lane), button.label(), e)),
                    }
                }
                out.push(self.frame(false, true, true, 0.0, note));
                out
            }
            ToHost::Report => {
                let reports = self
                    .live()
                    .map(|(lane, l)| (lane, Box::new(l.engine.sim().report())))
                    .collect();
                vec![FromHost::Reports(reports)]
            }
            ToHost::CheckStart { id } => match SeedCheckRun::start(&id) {
                Ok(run) => {
                    let (done, total) = run.progress();
                    self.check = Some(run);
                    vec![FromHost::CheckProgress { id, done, total }]
                }
                Err(message) => vec![FromHost::CheckFailed { id, message }],
            },
            ToHost::CheckStep { id } => self.check_step(&id),
            ToHost::CheckCancel { id } => {
                if self.check.as_ref().is_some_and(|c| c.id == id) {
                    self.check = None;
                }
                vec![]
            }
        }
    }

    /// One run of the check in progress, and where it stands.
    fn check_step(&mut self, id: &str) -> Vec<FromHost> {
        let Some(run) = self.check.as_mut().filter(|c| c.id == id) else {
            return vec![];
        };
        match run.step() {
            Some(result) => {
                let id = std::mem::take(&mut run.id);
                self.check = None;
                vec![FromHost::Checked {
                    id,
                    result: Box::new(result),
                }]
            }
            None => {
                let (done, total) = run.progress();
                vec![FromHost::CheckProgress {
                    id: run.id.clone(),
                    done,
                    total,
                }]
            }
        }
    }

    /// Moves every lane toward `now + delta` (None: as far as the budget
    /// allows), keeping the lanes within one window of each other so that
    /// A and B always compare the same stretch of simulated time. Returns
    /// whether every lane reached the target. A lane whose run the engine
    /// stopped (a zero-time loop, the in-flight budget) stays where it
    /// stopped: its error goes to `errors` once, when it happens.
    fn advance(
        &mut self,
        delta: Option<u64>,
        until: Option<u64>,
        budget_ms: f64,
        start_ms: f64,
        errors: &mut Vec<FromHost>,
    ) -> bool {
        let Some(t0) = self.live().map(|(_, l)| l.sim().now()).min() else {
            return true;
        };
        let target = t0
            .saturating_add(delta.unwrap_or(MAX_HORIZON_NS))
            .min(until.unwrap_or(u64::MAX));
        loop {
            // The lane furthest behind goes next, up to one window past the other.
            let mut times: Vec<(u64, usize)> = self
                .lanes
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.as_ref().map(|l| (l.sim().now(), i)))
                .filter(|&(t, i)| t < target && !self.halted(i))
                .collect();
            if times.is_empty() {
                return true;
            }
            times.sort_unstable();
            let (t, i) = times[0];
            let l = self.lanes[i].as_mut().expect("listed lane exists");
            let window = sim_core::secs_to_ns(l.engine.scenario().metrics.window_s).max(1);
            let lead = times.get(1).map_or(t, |&(u, _)| u);
            let goal = target.min(lead.max(t).saturating_add(window));
            if let Err(e) = l.engine.sim_mut().run_until_bounded(goal, CHUNK_WORK) {
                errors.push(error(Some(Lane::ALL[i]), "run", e.to_string()));
            }
            if clock::now_ms() - start_ms >= budget_ms {
                return self.live().all(|(_, l)| l.sim().now() >= target);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::MMC_TOML;
    use crate::model::Speed;
    use crate::scenarios::FaultButton;
    use sim_core::Edit;

    fn load(h: &mut Host, lane: Lane, text: &str) -> Vec<FromHost> {
        h.handle(ToHost::Load {
            lane,
            id: "t".into(),
            text: text.into(),
            seed: None,
        })
    }

    fn frame(out: &[FromHost]) -> (&[LaneFrame], bool) {
        out.iter()
            .find_map(|m| match m {
                FromHost::Frame { lanes, reached, .. } => Some((lanes.as_slice(), *reached)),
                _ => None,
            })
            .expect("a frame")
    }

    fn advance(h: &mut Host, dt_ms: f64, speed: Speed) -> Vec<FromHost> {
        h.handle(ToHost::Advance {
            wall_dt_ms: dt_ms,
            speed,
            budget_ms: 10_000.0,
            traces: false,
            until_s: None,
        })
    }

    #[test]
    fn the_benchmark_runs_in_the_host_and_answers_with_its_json() {
        // The page's `bench_run` is a message to the worker: the same JSON
        // as `crate::bench_run`, errors included.
        let mut h = Host::new();
        let out = h.handle(ToHost::Bench {
            scenario: crate::engine::MMC_TOML.into(),
            duration_s: 50.0,
        });
        let [FromHost::Bench { json }] = &out[..] else {
            panic!("{out:?}")
        };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert!(v["arrivals_departures"].as_u64().unwrap() > 0, "{v}");
        let out = h.handle(ToHost::Bench {
            scenario: "garbage [".into(),
            duration_s: 1.0,
        });
        assert!(matches!(&out[..], [FromHost::Bench { json }] if json.contains("error")));
    }

    #[test]
    fn hello_and_load_describe_the_lane() {
        let mut h = Host::new();
        assert!(matches!(h.handle(ToHost::Hello)[0], FromHost::Ready { .. }));
        let out = load(&mut h, Lane::A, MMC_TOML);
        let FromHost::Loaded(info) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(info.node_names, ["server"]);
        assert_eq!(info.controls.workers.as_ref().unwrap().base, 10);
        assert_eq!(info.seed, 1);
        let (lanes, _) = frame(&out);
        assert_eq!(lanes.len(), 1);
        assert_eq!(lanes[0].snapshot.t_s, 0.0);
    }

    #[test]
    fn a_bad_scenario_is_an_error_naming_the_field() {
        let mut h = Host::new();
        let out = load(
            &mut h,
            Lane::A,
            &MMC_TOML.replace("workers = 10", "workers = -1"),
        );
        match &out[0] {
            FromHost::Error { message, .. } => {
                assert!(message.contains("nodes.server.workers"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(!h.has(Lane::A));
    }

    #[test]
    fn frames_send_each_window_once() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        let mut seen = Vec::new();
        for _ in 0..10 {
            // 10 frames of 0.25 s at 10x: 25 simulated seconds
            let out = advance(&mut h, 250.0, Speed::X(10));
            let (lanes, reached) = frame(&out);
            assert!(reached);
            seen.extend(lanes[0].windows.iter().map(|w| w.t_end_s));
        }
        let expected: Vec<f64> = (1..=25).map(|s| s as f64).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn two_lanes_advance_to_the_same_time() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        load(
            &mut h,
            Lane::B,
            &MMC_TOML.replace("workers = 10", "workers = 12"),
        );
        let out = advance(&mut h, 1_000.0, Speed::X(50));
        let (lanes, reached) = frame(&out);
        assert!(reached);
        assert_eq!(lanes.len(), 2);
        assert_eq!(lanes[0].snapshot.t_s, 50.0);
        assert_eq!(lanes[1].snapshot.t_s, 50.0);
        // Max speed with a small budget: both lanes move, within a window.
        let out = h.handle(ToHost::Advance {
            wall_dt_ms: 16.0,
            speed: Speed::Max,
            budget_ms: 5.0,
            traces: true,
            until_s: None,
        });
        let (lanes, _) = frame(&out);
        let (a, b) = (lanes[0].snapshot.t_s, lanes[1].snapshot.t_s);
        assert!(a > 50.0 && b > 50.0, "{a} {b}");
        assert!((a - b).abs() <= 1.0 + 1e-9, "{a} {b}");
        assert!(lanes[0].traces.is_some());
        // Same seed, different workers: the arrivals are the same stream.
        assert!(lanes[0].requests > 0);
        h.handle(ToHost::Drop { lane: Lane::B });
        let out = advance(&mut h, 100.0, Speed::X(10));
        assert_eq!(frame(&out).0.len(), 1);
    }

    #[test]
    fn reset_with_a_seed_restarts_and_keeps_the_edits() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        h.handle(ToHost::Edit {
            lane: None,
            edits: vec![Edit::set("nodes.server.workers", 14.into())],
            reason: "workers".into(),
        });
        advance(&mut h, 1_000.0, Speed::X(20));
        let out = h.handle(ToHost::Reset { seed: Some(99) });
        let FromHost::Loaded(info) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(info.seed, 99);
        let (lanes, _) = frame(&out);
        assert_eq!(lanes[0].snapshot.t_s, 0.0);
        assert_eq!(lanes[0].snapshot.nodes[0].workers, 14);
        // The same seed twice gives the same run.
        let a = frame(&advance(&mut h, 1_000.0, Speed::X(20))).0[0]
            .snapshot
            .clone();
        h.handle(ToHost::Reset { seed: Some(99) });
        let b = frame(&advance(&mut h, 1_000.0, Speed::X(20))).0[0]
            .snapshot
            .clone();
        assert_eq!(a, b);
    }

    #[test]
    fn until_stops_every_lane_exactly() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        load(&mut h, Lane::B, MMC_TOML);
        let out = h.handle(ToHost::Advance {
            wall_dt_ms: 16.0,
            speed: Speed::Max,
            budget_ms: 10_000.0,
            traces: false,
            until_s: Some(120.0),
        });
        let (lanes, reached) = frame(&out);
        assert!(reached);
        assert_eq!(lanes[0].snapshot.t_s, 120.0);
        assert_eq!(lanes[1].snapshot.t_s, 120.0);
    }

    #[test]
    fn step_moves_one_window() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        let out = h.handle(ToHost::Step);
        let (lanes, _) = frame(&out);
        assert_eq!(lanes[0].snapshot.t_s, 1.0);
        assert_eq!(lanes[0].windows.len(), 1);
    }

    #[test]
    fn faults_and_params_report_errors_per_lane() {
        let mut h = Host::new();
        let chain = crate::scenarios::find("chain.toml").unwrap().text;
        load(&mut h, Lane::A, chain);
        advance(&mut h, 500.0, Speed::X(10));
        let out = h.handle(ToHost::Inject {
            button: FaultButton::Crash,
            target: Some("db".into()),
        });
        let note = out.iter().find_map(|m| match m {
            FromHost::Frame { note, .. } => note.clone(),
            _ => None,
        });
        assert!(note.unwrap().starts_with("Crash 10 s on db at t = 5.0"));
        let out = h.handle(ToHost::Inject {
            button: FaultButton::Flush,
            target: Some("db".into()),
        });
        assert!(matches!(&out[0], FromHost::Error { context, .. } if context == "Flush cache"));
        let out = h.handle(ToHost::Inject {
            button: FaultButton::Spike,
            target: None,
        });
        assert!(!matches!(&out[0], FromHost::Error { .. }), "{out:?}");
        let out = h.handle(ToHost::Edit {
            lane: None,
            edits: vec![Edit::set("nodes.api.workers", 0.into())],
            reason: "workers".into(),
        });
        match &out[0] {
            FromHost::Error { lane, message, .. } => {
                assert_eq!(*lane, Some(Lane::A));
                assert!(
                    message.contains("nodes.api.workers: must be an integer between 1 and 100000"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn edits_go_live_or_restart_and_report_it() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        advance(&mut h, 1_000.0, Speed::X(10));
        let out = h.handle(ToHost::Edit {
            lane: Some(Lane::A),
            edits: vec![Edit::set("nodes.server.workers", 11.into())],
            reason: "inspector".into(),
        });
        let FromHost::Applied {
            live, note, text, ..
        } = &out[0]
        else {
            panic!("{out:?}")
        };
        assert!(*live, "{note}");
        assert!(
            note.starts_with("inspector: applied live at t = 10.0 s"),
            "{note}"
        );
        // the reply's text is the edited document: what the page shares
        let sc = sim_core::Scenario::from_toml_str(text).unwrap();
        assert!(matches!(&sc.nodes["server"], sim_core::NodeSpec::Service(s) if s.workers == 11));
        let (lanes, _) = frame(&out);
        assert_eq!(lanes[0].snapshot.nodes[0].workers, 11);
        assert_eq!(lanes[0].snapshot.t_s, 10.0);
        // an edit the engine cannot take live restarts the lane
        let out = h.handle(ToHost::Edit {
            lane: Some(Lane::A),
            edits: vec![Edit::set("metrics.window_s", 2.into())],
            reason: "inspector".into(),
        });
        let FromHost::Applied { live, note, .. } = &out[0] else {
            panic!("{out:?}")
        };
        assert!(!*live && note.contains("restarted at t = 0"), "{note}");
        assert_eq!(frame(&out).0[0].snapshot.t_s, 0.0);
        // a bad edit changes nothing and names the field
        let out = h.handle(ToHost::Edit {
            lane: Some(Lane::A),
            edits: vec![Edit::remove("nodes.server.kind")],
            reason: "inspector".into(),
        });
        assert!(
            matches!(&out[0], FromHost::Error { message, .. } if message.contains("nodes.server.kind")),
            "{out:?}"
        );
        let out = h.handle(ToHost::Edit {
            lane: Some(Lane::B),
            edits: vec![],
            reason: "inspector".into(),
        });
        assert!(matches!(&out[0], FromHost::Error { .. }), "{out:?}");
    }

    #[test]
    fn an_edit_for_every_lane_reaches_both() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        load(&mut h, Lane::B, MMC_TOML);
        let out = h.handle(ToHost::Edit {
            lane: None,
            edits: vec![Edit::number("nodes.clients.arrival.rate", 9.5).unwrap()],
            reason: "arrival rate".into(),
        });
        let texts: Vec<&String> = out
            .iter()
            .filter_map(|m| match m {
                FromHost::Loaded(info) => Some(&info.text),
                _ => None,
            })
            .collect();
        assert_eq!(texts.len(), 2);
        for t in texts {
            assert!(t.contains("rate = 9.5"), "{t}");
        }
    }

    #[test]
    fn reports_come_from_every_lane() {
        let mut h = Host::new();
        load(&mut h, Lane::A, MMC_TOML);
        load(&mut h, Lane::B, MMC_TOML);
        advance(&mut h, 1_000.0, Speed::X(30));
        let out = h.handle(ToHost::Report);
        let FromHost::Reports(r) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].1.end_to_end.arrived, r[1].1.end_to_end.arrived);
    }

    /// A lesson check is planned on `CheckStart`, moves one run per
    /// `CheckStep` of its own lesson, and ignores another lesson's steps
    /// and cancels (a late message from a check the page has left).
    #[test]
    fn a_lesson_check_moves_one_run_per_step_of_its_own_lesson() {
        let mut h = Host::new();
        let out = h.handle(ToHost::CheckStart { id: "NOPE".into() });
        assert!(
            matches!(&out[0], FromHost::CheckFailed { message, .. } if message.contains("NOPE"))
        );
        let id = "THEORY-LITTLE".to_string();
        let out = h.handle(ToHost::CheckStart { id: id.clone() });
        let FromHost::CheckProgress { done: 0, total, .. } = out[0] else {
            panic!("{out:?}")
        };
        assert!(total >= 20, "two states on at least 10 seeds: {total}");
        assert!(h
            .handle(ToHost::CheckStep { id: "OTHER".into() })
            .is_empty());
        assert!(h
            .handle(ToHost::CheckCancel { id: "OTHER".into() })
            .is_empty());
        let out = h.handle(ToHost::CheckStep { id: id.clone() });
        assert!(
            matches!(out[0], FromHost::CheckProgress { done: 1, .. }),
            "{out:?}"
        );
        h.handle(ToHost::CheckCancel { id: id.clone() });
        assert!(h.handle(ToHost::CheckStep { id }).is_empty());
    }
}

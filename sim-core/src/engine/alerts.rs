//! Alert rules on the SLO (`alerts` in a scenario), evaluated as each
//! metrics window closes over the root requests that ended in it: what a
//! monitoring system would page on. They watch the run and change nothing
//! in it.
//!
//! A request is bad if it failed or took longer than the SLO's latency. A
//! rule keeps the (bad, ended) counts of the windows it looks back over,
//! with running sums for its long and short spans, so closing a window
//! costs a few additions a rule. At the start of a run a rule looks back
//! over the windows there are (as a monitoring system's `rate` over a
//! range does).

use super::Time;
use crate::calendar::ns_to_secs;
use crate::report::AlertReport;
use std::collections::{BTreeMap, VecDeque};

/// A rule, in metrics windows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AlertRule {
    /// Bad fraction over the last `windows` above `above`.
    Threshold { windows: usize, above: f64 },
    /// Bad fraction / `budget` above `above` over both the last `long` and
    /// the last `short` windows.
    BurnRate {
        long: usize,
        short: usize,
        above: f64,
        budget: f64,
    },
}

impl AlertRule {
    /// Windows the rule looks back over.
    fn span(&self) -> usize {
        match *self {
            AlertRule::Threshold { windows, .. } => windows,
            AlertRule::BurnRate { long, .. } => long,
        }
    }
    fn short_span(&self) -> usize {
        match *self {
            AlertRule::Threshold { windows, .. } => windows,
            AlertRule::BurnRate { short, .. } => short,
        }
    }
    /// Whether the rule fires on these (bad, ended) sums.
    fn fires(&self, long: (u64, u64), short: (u64, u64)) -> bool {
        let frac = |(bad, ended): (u64, u64)| (ended > 0).then(|| bad as f64 / ended as f64);
        match *self {
            AlertRule::Threshold { above, .. } => frac(long).is_some_and(|f| f > above),
            AlertRule::BurnRate { above, budget, .. } => {
                let burns = |s| frac(s).is_some_and(|f| f / budget > above);
                burns(long) && burns(short)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AlertCfg {
    pub name: String,
    pub rule: AlertRule,
}

/// Episodes a report lists per alert (its count covers every one).
const LISTED_EPISODES: usize = 50;

/// One rule's state.
#[derive(Default)]
struct Watch {
    /// (bad, ended) per window, newest last; at most the rule's span.
    recent: VecDeque<(u64, u64)>,
    long: (u64, u64),
    short: (u64, u64),
    /// Firing since then.
    since: Option<Time>,
    fired: u64,
    first: Option<Time>,
    /// Time spent firing in episodes that ended.
    fired_for: Time,
    /// The first episodes: start, end (None while firing).
    episodes: Vec<(Time, Option<Time>)>,
}

impl Watch {
    /// The window ending at `now` closed with `bad` of `ended` requests bad.
    fn close_window(&mut self, rule: &AlertRule, now: Time, bad: u64, ended: u64) {
        let add = |s: &mut (u64, u64), (b, e): (u64, u64)| *s = (s.0 + b, s.1 + e);
        let sub = |s: &mut (u64, u64), (b, e): (u64, u64)| *s = (s.0 - b, s.1 - e);
        self.recent.push_back((bad, ended));
        add(&mut self.long, (bad, ended));
        add(&mut self.short, (bad, ended));
        let n = self.recent.len();
        if n > rule.short_span() {
            sub(&mut self.short, self.recent[n - 1 - rule.short_span()]);
        }
        if n > rule.span() {
            let old = self.recent.pop_front().expect("a window");
            sub(&mut self.long, old);
        }
        match (self.since, rule.fires(self.long, self.short)) {
            (None, true) => {
                self.since = Some(now);
                self.fired += 1;
                self.first.get_or_insert(now);
                if self.episodes.len() < LISTED_EPISODES {
                    self.episodes.push((now, None));
                }
            }
            (Some(since), false) => {
                self.since = None;
                self.fired_for += now - since;
                if let Some(last @ (_, None)) = self.episodes.last_mut() {
                    last.1 = Some(now);
                }
            }
            _ => {}
        }
    }

    fn report(&self, now: Time) -> AlertReport {
        let open = self.since.map_or(0, |s| now - s);
        AlertReport {
            fired: self.fired,
            first_s: self.first.map(ns_to_secs),
            firing_s: ns_to_secs(self.fired_for + open),
            firing_at_end: self.since.is_some(),
            episodes: self
                .episodes
                .iter()
                .map(|&(a, b)| [ns_to_secs(a), ns_to_secs(b.unwrap_or(now))])
                .collect(),
        }
    }
}

/// Every rule's state, in the configuration's order.
#[derive(Default)]
pub(crate) struct Alerts {
    watches: Vec<Watch>,
}

impl Alerts {
    pub(crate) fn new(cfg: &[AlertCfg]) -> Alerts {
        Alerts {
            watches: cfg.iter().map(|_| Watch::default()).collect(),
        }
    }

    /// A window closed at `now`: every rule sees its counts.
    pub(crate) fn close_window(&mut self, cfg: &[AlertCfg], now: Time, bad: u64, ended: u64) {
        for (w, c) in self.watches.iter_mut().zip(cfg) {
            w.close_window(&c.rule, now, bad, ended);
        }
    }

    /// A live reconfiguration: a rule whose name and definition are
    /// unchanged keeps its state; a new or changed one starts watching now.
    pub(crate) fn migrate(&mut self, old: &[AlertCfg], new: &[AlertCfg]) {
        let mut kept: Vec<Option<Watch>> = std::mem::take(&mut self.watches)
            .into_iter()
            .map(Some)
            .collect();
        self.watches = new
            .iter()
            .map(|c| {
                old.iter()
                    .position(|o| o == c)
                    .and_then(|i| kept[i].take())
                    .unwrap_or_default()
            })
            .collect();
    }

    pub(crate) fn report(&self, cfg: &[AlertCfg], now: Time) -> BTreeMap<String, AlertReport> {
        cfg.iter()
            .zip(&self.watches)
            .map(|(c, w)| (c.name.clone(), w.report(now)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = 1_000_000_000;

    fn fired_at(rule: AlertRule, windows: &[(u64, u64)]) -> Vec<bool> {
        let mut w = Watch::default();
        windows
            .iter()
            .enumerate()
            .map(|(i, &(b, e))| {
                w.close_window(&rule, (i as Time + 1) * S, b, e);
                w.since.is_some()
            })
            .collect()
    }

    #[test]
    fn a_threshold_fires_while_its_window_is_above_and_counts_episodes() {
        // Over 2 windows, above 10% bad: 0/10, then 5/10 (5/20 = 25%),
        // 0/10 (5/20), 0/10 (0/20), 3/10 (3/20 = 15%).
        let rule = AlertRule::Threshold {
            windows: 2,
            above: 0.1,
        };
        let seen = fired_at(rule.clone(), &[(0, 10), (5, 10), (0, 10), (0, 10), (3, 10)]);
        assert_eq!(seen, [false, true, true, false, true]);
        let mut w = Watch::default();
        for (i, &(b, e)) in [(0, 10), (5, 10), (0, 10), (0, 10), (3, 10)]
            .iter()
            .enumerate()
        {
            w.close_window(&rule, (i as Time + 1) * S, b, e);
        }
        let r = w.report(6 * S);
        assert_eq!(r.fired, 2);
        assert_eq!(r.first_s, Some(2.0));
        // Firing from 2 s to 4 s, then from 5 s to the end at 6 s.
        assert_eq!(r.firing_s, 3.0);
        assert!(r.firing_at_end);
        assert_eq!(r.episodes, vec![[2.0, 4.0], [5.0, 6.0]]);
    }

    #[test]
    fn a_burn_rate_needs_both_windows_to_burn() {
        // Budget 1% (a 99% SLO), page at 10x: more than 10% bad over both
        // the last 4 windows and the last 1.
        let rule = AlertRule::BurnRate {
            long: 4,
            short: 1,
            above: 10.0,
            budget: 0.01,
        };
        // A one-window blip of 50% bad: the short window burns at 50x,
        // the long one at 50/40 = 12.5x, so it fires; the next window is
        // clean: the short one stops burning and the alert resets at once,
        // although the long window still holds the blip.
        let blip = fired_at(rule.clone(), &[(0, 10), (0, 10), (0, 10), (5, 10), (0, 10)]);
        assert_eq!(blip, [false, false, false, true, false]);
        // A steady 5% bad burns at 5x: never pages.
        let steady = fired_at(rule.clone(), &[(1, 20); 6]);
        assert!(steady.iter().all(|f| !f));
        // A sustained 20%: pages at the first window and stays on.
        let incident = fired_at(rule, &[(2, 10); 6]);
        assert!(incident.iter().all(|f| *f));
    }

    #[test]
    fn no_requests_is_no_evidence() {
        let rule = AlertRule::Threshold {
            windows: 1,
            above: 0.0,
        };
        assert_eq!(
            fired_at(rule, &[(0, 0), (1, 1), (0, 0)]),
            [false, true, false]
        );
    }

    #[test]
    fn a_reconfiguration_keeps_unchanged_rules_and_restarts_changed_ones() {
        let rule = |above| AlertCfg {
            name: "page".into(),
            rule: AlertRule::Threshold { windows: 1, above },
        };
        let old = vec![rule(0.1)];
        let mut a = Alerts::new(&old);
        a.close_window(&old, S, 5, 10);
        a.migrate(&old, &old);
        assert_eq!(a.report(&old, 2 * S)["page"].fired, 1);
        let new = vec![rule(0.6)];
        a.migrate(&old, &new);
        assert_eq!(a.report(&new, 2 * S)["page"].fired, 0);
    }
}

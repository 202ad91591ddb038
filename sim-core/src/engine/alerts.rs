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

/// A rule. Its spans are durations, turned into whole metrics windows
/// when evaluated: the CLI may widen the window before a run starts
/// (`Sim::auto_window`), and a span must keep its length in time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AlertRule {
    /// Bad fraction over the last `span` above `above`.
    Threshold { span: Time, above: f64 },
    /// Bad fraction / `budget` above `above` over both the last `long` and
    /// the last `short`.
    BurnRate {
        long: Time,
        short: Time,
        above: f64,
        budget: f64,
    },
}

impl AlertRule {
    /// The long and the short span in windows of `window` (at least one
    /// each). A threshold has one span: its short span is the same, so the
    /// running sums of a rule need not know its kind.
    fn windows(&self, window: Time) -> (usize, usize) {
        let n = |span: Time| ((span as f64 / window as f64).round() as usize).max(1);
        match *self {
            AlertRule::Threshold { span, .. } => (n(span), n(span)),
            AlertRule::BurnRate { long, short, .. } => (n(long), n(short)),
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
    /// (bad, ended) per window, newest last; at most the rule's long span.
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
    /// Adds a window's counts to the running sums, dropping what falls
    /// out of the spans `(long, short)`.
    fn push(&mut self, (long, short): (usize, usize), counts: (u64, u64)) {
        let add = |s: &mut (u64, u64), (b, e): (u64, u64)| *s = (s.0 + b, s.1 + e);
        let sub = |s: &mut (u64, u64), (b, e): (u64, u64)| *s = (s.0 - b, s.1 - e);
        self.recent.push_back(counts);
        add(&mut self.long, counts);
        add(&mut self.short, counts);
        let n = self.recent.len();
        if n > short {
            sub(&mut self.short, self.recent[n - 1 - short]);
        }
        if n > long {
            let old = self.recent.pop_front().expect("a window");
            sub(&mut self.long, old);
        }
    }

    /// The window ending at `now` closed with `bad` of `ended` requests bad.
    fn close_window(&mut self, rule: &AlertRule, window: Time, now: Time, bad: u64, ended: u64) {
        self.push(rule.windows(window), (bad, ended));
        match (self.since, rule.fires(self.long, self.short)) {
            (None, true) => {
                self.since = Some(now);
                self.fired += 1;
                self.first.get_or_insert(now);
                if self.episodes.len() < LISTED_EPISODES {
                    self.episodes.push((now, None));
                }
            }
            (Some(_), false) => self.stop(now),
            _ => {}
        }
    }

    /// An episode ends at `now`.
    fn stop(&mut self, now: Time) {
        if let Some(since) = self.since.take() {
            self.fired_for += now - since;
            if let Some(last @ (_, None)) = self.episodes.last_mut() {
                last.1 = Some(now);
            }
        }
    }

    /// A rule changed at `now`: the new one keeps the old one's record
    /// (an episode in progress ends here) and looks back over `history`,
    /// the windows the run still holds, oldest first; it fires again only
    /// when the new rule's own sums say so.
    fn restart(
        mut self,
        rule: &AlertRule,
        window: Time,
        now: Time,
        history: &[(u64, u64)],
    ) -> Watch {
        self.stop(now);
        let mut w = Watch {
            fired: self.fired,
            first: self.first,
            fired_for: self.fired_for,
            episodes: self.episodes,
            ..Watch::default()
        };
        let spans = rule.windows(window);
        for &c in &history[history.len().saturating_sub(spans.0)..] {
            w.push(spans, c);
        }
        w
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

    /// A window of width `window` closed at `now`: every rule sees its
    /// counts.
    pub(crate) fn close_window(
        &mut self,
        cfg: &[AlertCfg],
        window: Time,
        now: Time,
        (bad, ended): (u64, u64),
    ) {
        for (w, c) in self.watches.iter_mut().zip(cfg) {
            w.close_window(&c.rule, window, now, bad, ended);
        }
    }

    /// A live reconfiguration at `now`: a rule whose name and definition
    /// are unchanged keeps its state; a changed one (same name) keeps its
    /// record and looks back over `history` (the kept windows' counts,
    /// oldest first) under its new definition; a new one starts with that
    /// history and no record.
    pub(crate) fn migrate(
        &mut self,
        old: &[AlertCfg],
        new: &[AlertCfg],
        window: Time,
        now: Time,
        history: &[(u64, u64)],
    ) {
        let mut kept: Vec<Option<Watch>> = std::mem::take(&mut self.watches)
            .into_iter()
            .map(Some)
            .collect();
        let mut take = |pick: &dyn Fn(&AlertCfg) -> bool| {
            old.iter().position(pick).and_then(|i| kept[i].take())
        };
        self.watches = new
            .iter()
            .map(|c| match take(&|o| o == c) {
                Some(same) => same,
                None => take(&|o| o.name == c.name)
                    .unwrap_or_default()
                    .restart(&c.rule, window, now, history),
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

    /// Whether the rule is firing after each window (1 s wide).
    fn fired_at(rule: AlertRule, windows: &[(u64, u64)]) -> Vec<bool> {
        let mut w = Watch::default();
        windows
            .iter()
            .enumerate()
            .map(|(i, &(b, e))| {
                w.close_window(&rule, S, (i as Time + 1) * S, b, e);
                w.since.is_some()
            })
            .collect()
    }

    #[test]
    fn a_threshold_fires_while_its_window_is_above_and_counts_episodes() {
        // Over 2 windows, above 10% bad: 0/10, then 5/10 (5/20 = 25%),
        // 0/10 (5/20), 0/10 (0/20), 3/10 (3/20 = 15%).
        let rule = AlertRule::Threshold {
            span: 2 * S,
            above: 0.1,
        };
        let counts = [(0, 10), (5, 10), (0, 10), (0, 10), (3, 10)];
        assert_eq!(
            fired_at(rule.clone(), &counts),
            [false, true, true, false, true]
        );
        let mut w = Watch::default();
        for (i, &(b, e)) in counts.iter().enumerate() {
            w.close_window(&rule, S, (i as Time + 1) * S, b, e);
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
    fn a_span_keeps_its_length_when_the_window_widens() {
        // 10 s over 1 s windows is 10 windows, over 5 s windows 2.
        let rule = AlertRule::Threshold {
            span: 10 * S,
            above: 0.0,
        };
        assert_eq!(rule.windows(S), (10, 10));
        assert_eq!(rule.windows(5 * S), (2, 2));
        assert_eq!(rule.windows(60 * S), (1, 1), "at least one window");
    }

    #[test]
    fn a_burn_rate_needs_both_windows_to_burn() {
        // Budget 1% (a 99% SLO), page at 10x: more than 10% bad over both
        // the last 4 windows and the last 1.
        let rule = AlertRule::BurnRate {
            long: 4 * S,
            short: S,
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
            span: S,
            above: 0.0,
        };
        assert_eq!(
            fired_at(rule, &[(0, 0), (1, 1), (0, 0)]),
            [false, true, false]
        );
    }

    #[test]
    fn a_reconfiguration_keeps_unchanged_rules_and_the_record_of_changed_ones() {
        let rule = |above| AlertCfg {
            name: "page".into(),
            rule: AlertRule::Threshold { span: 2 * S, above },
        };
        let old = vec![rule(0.1)];
        let mut a = Alerts::new(&old);
        a.close_window(&old, S, S, (5, 10));
        a.migrate(&old, &old, S, S, &[]);
        let r = &a.report(&old, 2 * S)["page"];
        assert_eq!((r.fired, r.firing_at_end), (1, true));
        // Changed at 2 s: the episode in progress ends there, the record
        // stays, and the new rule (above 60%) looks back over the kept
        // windows: 5/10 is below its line, so it does not fire.
        let new = vec![rule(0.6)];
        a.migrate(&old, &new, S, 2 * S, &[(5, 10)]);
        let r = &a.report(&new, 3 * S)["page"];
        assert_eq!((r.fired, r.firing_at_end), (1, false));
        assert_eq!(r.episodes, vec![[1.0, 2.0]]);
        // Its sums hold the history: one more window at 9/10 makes
        // 14/20 = 70% over its 2 windows: it fires.
        a.close_window(&new, S, 3 * S, (9, 10));
        assert_eq!(a.report(&new, 3 * S)["page"].fired, 2);
    }
}

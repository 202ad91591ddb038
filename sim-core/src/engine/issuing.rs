//! Sources issuing requests: open-loop arrivals (Poisson, constant,
//! scheduled rates, load spikes) and closed-loop users who think between
//! requests.

use super::call::Origin;
use super::config::{ArrivalCfg, BodyCfg};
use super::event::Event;
use super::ids::{NEVER, NONE};
use super::job::Attrs;
use super::node::BodyState;
use super::source::{next_arrival, sender};
use super::Sim;
use rand_distr::Distribution;

impl Sim {
    /// Starts source `i`: its first arrival, or every user's first think.
    pub(super) fn start_source(&mut self, i: u32) {
        let now = self.now();
        let BodyCfg::Source(s) = &self.cfg.nodes[i as usize].body else {
            return;
        };
        let BodyState::Source(st) = &mut self.nodes[i as usize].body else {
            unreachable!()
        };
        match &s.arrival {
            ArrivalCfg::Closed { users, think } => {
                for u in 0..*users {
                    st.start_user(u);
                    let t = think.sample(self.streams.get(s.arrival_stream));
                    self.cal
                        .schedule(now.saturating_add(t), Event::UserWake { src: i, user: u });
                }
            }
            a => {
                if let Some(t) =
                    next_arrival(a, st.spike(), self.streams.get(s.arrival_stream), now)
                {
                    let gen = st.gen();
                    self.cal.schedule_slot(t, Event::Arrival { src: i, gen });
                }
            }
        }
    }

    /// Redraws a source's next arrival from now (after a rate change).
    pub(super) fn rearm_source(&mut self, i: u32) {
        let now = self.now();
        let BodyCfg::Source(s) = &self.cfg.nodes[i as usize].body else {
            return;
        };
        if s.arrival.closed() {
            return;
        }
        let BodyState::Source(st) = &mut self.nodes[i as usize].body else {
            unreachable!()
        };
        let gen = st.bump_gen();
        if let Some(t) = next_arrival(
            &s.arrival,
            st.spike(),
            self.streams.get(s.arrival_stream),
            now,
        ) {
            self.cal.schedule_slot(t, Event::Arrival { src: i, gen });
        }
    }

    /// Closed loop: users `from..to` start thinking now (the user count grew).
    pub(super) fn start_users(&mut self, src: u32, from: u32, to: u32) {
        let now = self.now();
        let BodyCfg::Source(s) = &self.cfg.nodes[src as usize].body else {
            return;
        };
        let ArrivalCfg::Closed { think, .. } = &s.arrival else {
            return;
        };
        let BodyState::Source(st) = &mut self.nodes[src as usize].body else {
            unreachable!()
        };
        for u in from..to {
            if st.start_user(u) {
                let t = think.sample(self.streams.get(s.arrival_stream));
                self.cal
                    .schedule(now.saturating_add(t), Event::UserWake { src, user: u });
            }
        }
    }

    pub(super) fn on_arrival(&mut self, src: u32, gen: u32) {
        let now = self.now();
        let BodyCfg::Source(s) = &self.cfg.nodes[src as usize].body else {
            return;
        };
        let BodyState::Source(st) = &self.nodes[src as usize].body else {
            unreachable!()
        };
        if st.gen() != gen {
            return;
        }
        // Poisson at its own rate (the common case) inline; the rest as
        // `next_arrival` says.
        let rng = self.streams.get(s.arrival_stream);
        let next = match &s.arrival {
            ArrivalCfg::Poisson { exp, .. } if st.spike() == 1.0 => {
                Some(now.saturating_add((exp.sample(rng) + 0.5) as super::Time))
            }
            a => next_arrival(a, st.spike(), rng, now),
        };
        if let Some(t) = next {
            self.cal.schedule_slot(t, Event::Arrival { src, gen });
        }
        self.issue_root(src, None);
    }

    pub(super) fn on_user_wake(&mut self, src: u32, user: u32) {
        let BodyCfg::Source(s) = &self.cfg.nodes[src as usize].body else {
            return;
        };
        if let ArrivalCfg::Closed { users, .. } = &s.arrival {
            if user >= *users {
                if let BodyState::Source(st) = &mut self.nodes[src as usize].body {
                    st.stop_user(user);
                }
                return;
            }
        }
        self.issue_root(src, Some(user as u64));
    }

    /// Source `src` issues a request (of closed-loop user `closed_user`).
    fn issue_root(&mut self, src: u32, closed_user: Option<u64>) {
        let now = self.now();
        let measured = now >= self.cfg.warmup;
        let BodyCfg::Source(s) = &self.cfg.nodes[src as usize].body else {
            unreachable!("only sources issue root calls")
        };
        let (user, items) = sender(s, &mut self.streams, closed_user);
        let (client, edge) = (s.client, s.edge);
        let trace = self.tracer.begin(src, now);
        let attrs = Attrs {
            user,
            items,
            client,
            trace,
            depth: 0,
        };
        self.stats.arrive(src);
        let user = closed_user.map_or(NONE, |u| u as u32);
        let task = self.edge_task(edge, &attrs);
        let origin = Origin::Root {
            src,
            measured,
            user,
        };
        self.start_call(edge, origin, task, attrs, NEVER, (NONE, NONE));
    }
}

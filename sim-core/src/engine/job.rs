//! Jobs: one attempt of a call, at one replica of the callee, from the hop
//! until it answers. A job's record is small (the hot part every request
//! needs); the registers only some programs use (loop counters, held locks,
//! the key a cache lookup read) live in a side table and exist only for the
//! jobs of programs that use them ([`super::config::Needs`]).

use super::config::Needs;
use super::ids::{slot, Ref, Slab, NONE};
use crate::calendar::Time;

/// Attributes a request carries down the call tree.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attrs {
    pub user: u64,
    pub items: u32,
    pub client: u32,
    /// The root request's trace, if it is traced.
    pub trace: Ref,
    /// Depth in the call tree.
    pub depth: u8,
}

impl Default for Attrs {
    fn default() -> Self {
        Attrs {
            user: 0,
            items: 0,
            client: 0,
            trace: Ref::NONE,
            depth: 0,
        }
    }
}

/// What the callee is asked to do.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Task {
    /// Run the service's endpoint program.
    Handler {
        endpoint: u32,
    },
    /// A database query.
    Query {
        rows: u32,
        key: Option<(u32, u64)>,
        write: bool,
    },
    CacheGet {
        ckey: u64,
    },
    CacheSet {
        ckey: u64,
        size: u64,
        version: u32,
    },
    Publish {
        partition: u32,
    },
}

impl Task {
    #[inline(always)]
    pub(crate) fn endpoint(&self) -> usize {
        match self {
            Task::Handler { endpoint } => *endpoint as usize,
            _ => 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobState {
    /// On the wire to its station.
    Transit,
    /// Waiting for a worker (first start, or an event-loop continuation).
    Queued,
    /// Holding a worker.
    Running,
    /// At the station without a worker (leaky-bucket delay, event-loop wait,
    /// hung).
    Parked,
}

/// What a job must do when it next gets a worker back (event loop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resume {
    No,
    Advance,
    Fail,
}

pub(crate) struct Job {
    gen: u32,
    live: bool,
    pub node: u32,
    pub rep: u32,
    pub call: Ref,
    pub attempt: u8,
    pub state: JobState,
    pub started: bool,
    pub measured: bool,
    /// A child call failed (the step fails when the last child ends).
    pub failed: bool,
    /// The program ends when the compute now running does (the
    /// interpreter saw no op after it).
    pub ends: bool,
    pub resume: Resume,
    pub task: Task,
    pub attrs: Attrs,
    pub t_arrive: Time,
    pub deadline: Time,
    /// The next op of the program.
    pub ip: u32,
    /// Outstanding children of the current call step.
    pub pending: u32,
    /// Remaining sequential calls of the current call step.
    pub seq_left: u32,
    /// CPU added to the first compute (request decompression).
    pub extra_cpu: Time,
    /// Index of the job's registers in the side table; [`NO_REGS`] once
    /// its program is known to need none, [`UNPREPARED`] before the job's
    /// first step looked.
    regs: u32,
}

/// A job whose program needs no registers.
const NO_REGS: u32 = NONE;
/// A job whose first step has not yet asked what its program needs (it
/// has no registers yet either).
const UNPREPARED: u32 = NONE - 1;
slot!(Job);

impl Job {
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn new(
        node: u32,
        rep: u32,
        call: Ref,
        attempt: u8,
        task: Task,
        attrs: Attrs,
        deadline: Time,
    ) -> impl FnOnce(u32) -> Job {
        move |gen| Job {
            gen,
            live: true,
            node,
            rep,
            call,
            attempt,
            state: JobState::Transit,
            started: false,
            measured: false,
            failed: false,
            ends: false,
            resume: Resume::No,
            task,
            attrs,
            t_arrive: 0,
            deadline,
            ip: 0,
            pending: 0,
            seq_left: 0,
            extra_cpu: 0,
            regs: UNPREPARED,
        }
    }

    /// Whether the job has registers (its program needs them).
    #[inline(always)]
    pub(crate) fn has_regs(&self) -> bool {
        self.regs < UNPREPARED
    }
}

/// The registers of a program that loops, locks or reads a cache.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Registers {
    /// Remaining iterations of the enclosing repeats, innermost at
    /// `depth - 1`.
    pub loops: [u32; 4],
    pub depth: u8,
    /// Cache registers: key space, key, and the version read.
    pub space: u32,
    pub key: u64,
    pub version: u32,
    /// This job fills a single-flight slot: (cache node, cache key).
    pub sf: Option<(u32, u64)>,
    /// Held locks: (lock, key), in acquisition order.
    pub locks: [(u32, u64); 2],
    pub nlocks: u8,
    pub lock_since: Time,
}

impl Default for Registers {
    fn default() -> Self {
        Registers {
            loops: [0; 4],
            depth: 0,
            space: NONE,
            key: 0,
            version: 0,
            sf: None,
            locks: [(NONE, 0); 2],
            nlocks: 0,
            lock_since: 0,
        }
    }
}

/// Every live job, and the side table of registers.
pub(crate) struct Jobs {
    slab: Slab<Job>,
    regs: Vec<Registers>,
    free_regs: Vec<u32>,
}

impl Jobs {
    pub(crate) fn new() -> Jobs {
        Jobs {
            slab: Slab::new(),
            regs: Vec::new(),
            free_regs: Vec::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn insert(&mut self, make: impl FnOnce(u32) -> Job) -> Ref {
        self.slab.insert(make)
    }

    #[inline(always)]
    pub(crate) fn get(&self, r: Ref) -> Option<&Job> {
        self.slab.get(r)
    }

    #[inline(always)]
    pub(crate) fn get_mut(&mut self, r: Ref) -> Option<&mut Job> {
        self.slab.get_mut(r)
    }

    /// The live job `r` (a logic error if it is gone).
    #[inline(always)]
    pub(crate) fn at(&mut self, r: Ref) -> &mut Job {
        self.slab.get_mut(r).expect("live job")
    }

    /// Ends a job's life, freeing its registers.
    #[inline]
    pub(crate) fn remove(&mut self, r: Ref) {
        let free_regs = &mut self.free_regs;
        self.slab.remove_if(r, |j| {
            if j.has_regs() {
                free_regs.push(j.regs);
            }
            true
        });
    }

    /// The job's registers (its program must need them: `prepare`).
    #[inline(always)]
    pub(crate) fn regs(&mut self, r: Ref) -> &mut Registers {
        let i = self.slab.get(r).expect("live job").regs;
        &mut self.regs[i as usize]
    }

    /// The job, given the registers its program needs (`needs` reads them
    /// from the job, asked once in the job's life), and those registers:
    /// one lookup.
    #[inline(always)]
    pub(crate) fn prepare(
        &mut self,
        r: Ref,
        needs: impl FnOnce(&Job) -> Needs,
    ) -> (&mut Job, Option<&mut Registers>) {
        let j = self.slab.get_mut(r).expect("live job");
        if j.regs == UNPREPARED {
            j.regs = if needs(j).any() {
                new_regs(&mut self.regs, &mut self.free_regs)
            } else {
                NO_REGS
            };
        }
        let regs = if j.has_regs() {
            Some(&mut self.regs[j.regs as usize])
        } else {
            None
        };
        (j, regs)
    }

    /// The job and its registers (if its program needs any).
    #[inline(always)]
    pub(crate) fn with_regs(&mut self, r: Ref) -> (&mut Job, Option<&mut Registers>) {
        let j = self.slab.get_mut(r).expect("live job");
        let regs = if j.has_regs() {
            Some(&mut self.regs[j.regs as usize])
        } else {
            None
        };
        (j, regs)
    }

    /// The job's registers, if it has any.
    #[inline(always)]
    pub(crate) fn regs_of(&self, j: &Job) -> Option<&Registers> {
        j.has_regs().then(|| &self.regs[j.regs as usize])
    }

    /// Live jobs with their references, in slot order.
    pub(crate) fn live(&self) -> impl Iterator<Item = (Ref, &Job)> {
        self.slab.live()
    }
}

/// A fresh set of registers in the side table `regs` (a free one first).
#[cold]
fn new_regs(regs: &mut Vec<Registers>, free: &mut Vec<u32>) -> u32 {
    match free.pop() {
        Some(i) => {
            regs[i as usize] = Registers::default();
            i
        }
        None => {
            regs.push(Registers::default());
            (regs.len() - 1) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(jobs: &mut Jobs) -> Ref {
        let task = Task::Handler { endpoint: 0 };
        jobs.insert(Job::new(0, 0, Ref::NONE, 0, task, Attrs::default(), 0))
    }

    #[test]
    fn a_job_asks_once_what_registers_its_program_needs() {
        let mut jobs = Jobs::new();
        let (plain, looping) = (job(&mut jobs), job(&mut jobs));
        let mut asked = 0;
        for _ in 0..3 {
            let (j, regs) = jobs.prepare(plain, |_| {
                asked += 1;
                Needs::default()
            });
            assert!(regs.is_none() && !j.has_regs());
        }
        assert_eq!(asked, 1, "asked at the first step only");
        let loops = Needs {
            loops: true,
            ..Needs::default()
        };
        let (j, regs) = jobs.prepare(looping, |_| loops);
        assert!(regs.is_some() && j.has_regs());
        jobs.prepare(looping, |_| unreachable!("asked again"))
            .1
            .unwrap()
            .depth = 2;
        // Freed with the job, and handed clean to the next that needs them.
        jobs.remove(looping);
        let next = job(&mut jobs);
        assert!(!jobs.get(next).unwrap().has_regs(), "none before it asks");
        let (_, regs) = jobs.prepare(next, |_| loops);
        assert_eq!(regs.map(|r| r.depth), Some(0));
        assert_eq!(jobs.regs.len(), 1, "the freed set was reused");
    }
}

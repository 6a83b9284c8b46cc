//! Long-polling claims waiting for a job, and the targeted wake-up that hands each newly queued
//! job to one waiting claim that can run it.
//!
//! Every waiting claim registers (worker, the job types, team and labels it may take) before it
//! queries the queue. When a job is queued, [`ClaimWaiters::job_queued`] sends a *signal* (job
//! id, type, team, labels) to one registered claim it fits — an idle one first, oldest first —
//! and to no other, so
//! a job wakes one claim and claims that cannot take it keep waiting. A signal is never lost:
//!
//! - the woken claim queries the queue after taking the signal; finding nothing means the job
//!   is gone (someone else claimed it) and the signal is done with;
//! - when it claims another (older) job instead, or leaves without querying (it timed out,
//!   its worker started draining, its client went away, a query failed), the signals it still
//!   holds pass on to another fitting waiting claim.
//!
//! Claims of one server process only: several Trellis processes on one PostgreSQL database each
//! wake their own waiting claims (a claim of another process finds the job at its next poll).

#[cfg(test)]
use crate::store::ClaimFilter;
use crate::store::ClaimScope;
use grape_api::JobType;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;
use uuid::Uuid;

/// A queued job a waiting claim was woken for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// The job.
    pub job_id: Uuid,
    /// Its type.
    pub job_type: JobType,
    /// Its team.
    pub team: String,
    /// Its labels.
    pub labels: Vec<String>,
}

impl Signal {
    fn fits(&self, scope: &ClaimScope) -> bool {
        scope.fits(&self.job_type, &self.team, &self.labels)
    }
}

#[derive(Debug)]
struct Waiter {
    worker: Uuid,
    filter: ClaimScope,
    notify: Arc<Notify>,
    /// Signals received and not yet taken by a queue query.
    pending: Vec<Signal>,
    /// Signals taken by the queue query running now.
    in_flight: Vec<Signal>,
}

impl Waiter {
    fn idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_empty()
    }
}

#[derive(Debug, Default)]
struct Inner {
    next: u64,
    /// By registration order: the oldest waiting claim first.
    waiters: BTreeMap<u64, Waiter>,
}

impl Inner {
    /// Gives `signal` to one fitting waiter (an idle one first); false when none fits.
    fn dispatch(&mut self, signal: Signal) -> bool {
        let fits = |w: &Waiter| signal.fits(&w.filter);
        let chosen = self
            .waiters
            .iter()
            .find(|(_, w)| w.idle() && fits(w))
            .or_else(|| self.waiters.iter().find(|(_, w)| fits(w)))
            .map(|(id, _)| *id);
        let Some(w) = chosen.and_then(|id| self.waiters.get_mut(&id)) else {
            return false;
        };
        w.pending.push(signal);
        w.notify.notify_one();
        true
    }
}

/// Counters of the wake-ups (exposed in `/metrics`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WakeStats {
    /// Signals delivered to a waiting claim (including passed-on ones).
    pub delivered: u64,
    /// Jobs queued while no waiting claim could take them.
    pub unclaimed: u64,
}

/// The registry of waiting claims.
#[derive(Debug, Default)]
pub struct ClaimWaiters {
    inner: Mutex<Inner>,
    stats: Mutex<WakeStats>,
}

impl ClaimWaiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, delivered: bool) {
        let mut s = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        if delivered {
            s.delivered += 1;
        } else {
            s.unclaimed += 1;
        }
    }

    /// Registers a waiting claim of `worker` for jobs fitting `filter` (types, team, labels).
    /// Register before querying the queue, so a job queued after the query wakes it.
    pub fn register(self: &Arc<Self>, worker: Uuid, filter: impl Into<ClaimScope>) -> WaitGuard {
        let filter = filter.into();
        let notify = Arc::new(Notify::new());
        let mut inner = self.lock();
        let id = inner.next;
        inner.next += 1;
        inner.waiters.insert(
            id,
            Waiter {
                worker,
                filter,
                notify: notify.clone(),
                pending: Vec::new(),
                in_flight: Vec::new(),
            },
        );
        WaitGuard {
            registry: self.clone(),
            id,
            notify,
        }
    }

    /// A job became QUEUED: wakes one waiting claim that can take it (type, team, labels);
    /// whether one could.
    pub fn job_queued(&self, signal: Signal) -> bool {
        let delivered = self.lock().dispatch(signal);
        self.count(delivered);
        delivered
    }

    /// Wakes every waiting claim of `worker` without a job (its status or job types changed,
    /// or it was deleted): they look at the worker again.
    pub fn kick(&self, worker: Uuid) {
        for w in self.lock().waiters.values().filter(|w| w.worker == worker) {
            w.notify.notify_one();
        }
    }

    /// Wake-up counters so far.
    pub fn stats(&self) -> WakeStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of claims waiting now.
    pub fn waiting(&self) -> usize {
        self.lock().waiters.len()
    }
}

/// One registered waiting claim; passes its unserved signals on when dropped.
#[derive(Debug)]
pub struct WaitGuard {
    registry: Arc<ClaimWaiters>,
    id: u64,
    notify: Arc<Notify>,
}

impl WaitGuard {
    /// Starts a queue query with the worker's current `filter`: takes the pending signals that
    /// fit it (the others pass on at once).
    pub fn begin_query(&self, filter: &ClaimScope) {
        let mut inner = self.registry.lock();
        let Some(w) = inner.waiters.get_mut(&self.id) else {
            return;
        };
        w.filter = filter.clone();
        let (fit, unfit): (Vec<_>, Vec<_>) = std::mem::take(&mut w.pending)
            .into_iter()
            .partition(|s| s.fits(filter));
        w.in_flight.extend(fit);
        for s in unfit {
            let delivered = inner.dispatch(s);
            self.registry.count(delivered);
        }
    }

    /// The query found no fitting job: the jobs of the signals it took are gone.
    pub fn found_nothing(&self) {
        if let Some(w) = self.registry.lock().waiters.get_mut(&self.id) {
            w.in_flight.clear();
        }
    }

    /// The query claimed `job_id`: its signal is served — also when it arrived while the query
    /// ran (still pending), so it is not passed on for a job already taken; the others pass on
    /// when this guard is dropped.
    pub fn claimed(&self, job_id: Uuid) {
        if let Some(w) = self.registry.lock().waiters.get_mut(&self.id) {
            w.in_flight.retain(|s| s.job_id != job_id);
            w.pending.retain(|s| s.job_id != job_id);
        }
    }

    /// Waits for a signal or a kick (returns at once when one arrived since the last wait).
    pub async fn wait(&self) {
        self.notify.notified().await;
    }
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        let Some(w) = inner.waiters.remove(&self.id) else {
            return;
        };
        for s in w.in_flight.into_iter().chain(w.pending) {
            let delivered = inner.dispatch(s);
            self.registry.count(delivered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(t: &[JobType]) -> ClaimFilter {
        ClaimFilter::Only(t.to_vec())
    }

    fn any() -> ClaimScope {
        ClaimFilter::Any.into()
    }

    /// A job of `job_type` in team `default` without labels.
    fn sig(job_id: Uuid, job_type: JobType) -> Signal {
        Signal {
            job_id,
            job_type,
            team: "default".into(),
            labels: Vec::new(),
        }
    }

    fn pending(r: &ClaimWaiters, g: &WaitGuard) -> Vec<Uuid> {
        r.lock().waiters[&g.id]
            .pending
            .iter()
            .map(|s| s.job_id)
            .collect()
    }

    #[test]
    fn a_signal_arriving_during_the_query_that_claims_its_job_is_not_passed_on() {
        let r = Arc::new(ClaimWaiters::default());
        let a = r.register(Uuid::new_v4(), ClaimFilter::Any);
        let b = r.register(Uuid::new_v4(), ClaimFilter::Any);
        a.begin_query(&any());
        let j = Uuid::new_v4();
        // Queued while a's first query runs; that query finds and claims it.
        r.job_queued(sig(j, JobType::Exec));
        assert_eq!(pending(&r, &a), [j]);
        a.claimed(j);
        drop(a);
        assert!(pending(&r, &b).is_empty(), "a served signal was passed on");
        assert_eq!(r.stats().delivered, 1);
    }

    #[test]
    fn a_job_wakes_one_fitting_waiter_oldest_idle_first() {
        let r = Arc::new(ClaimWaiters::default());
        let plan = r.register(Uuid::new_v4(), only(&[JobType::Plan]));
        let any1 = r.register(Uuid::new_v4(), ClaimFilter::Any);
        let any2 = r.register(Uuid::new_v4(), ClaimFilter::Any);
        let (j1, j2, j3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        r.job_queued(sig(j1, JobType::Exec));
        assert!(
            pending(&r, &plan).is_empty(),
            "a PLAN-only claim is not woken by EXEC"
        );
        assert_eq!(pending(&r, &any1), vec![j1]);
        assert!(pending(&r, &any2).is_empty());
        r.job_queued(sig(j2, JobType::Exec));
        assert_eq!(pending(&r, &any2), vec![j2], "an idle waiter is preferred");
        r.job_queued(sig(j3, JobType::Plan));
        assert_eq!(pending(&r, &plan), vec![j3]);
        let none = r.register(Uuid::new_v4(), only(&[]));
        r.job_queued(sig(Uuid::new_v4(), JobType::Apply));
        assert!(pending(&r, &none).is_empty());
        assert_eq!(
            r.stats(),
            WakeStats {
                delivered: 4,
                unclaimed: 0
            }
        );
    }

    #[test]
    fn unserved_signals_pass_on() {
        let r = Arc::new(ClaimWaiters::default());
        let a = r.register(Uuid::new_v4(), ClaimFilter::Any);
        let (j1, j2) = (Uuid::new_v4(), Uuid::new_v4());
        r.job_queued(sig(j1, JobType::Exec));
        let b = r.register(Uuid::new_v4(), ClaimFilter::Any);
        // `a` claims an older job, not j1: j1 passes on to `b` when `a` leaves.
        a.begin_query(&any());
        a.claimed(Uuid::new_v4());
        drop(a);
        assert_eq!(pending(&r, &b), vec![j1]);
        // `b` finds nothing: j1 is gone; a signal arriving during its query stays pending.
        b.begin_query(&any());
        r.job_queued(sig(j2, JobType::Exec));
        b.found_nothing();
        assert_eq!(pending(&r, &b), vec![j2]);
        // `b` leaves without a query (timeout): j2 passes on, here to no one.
        drop(b);
        assert_eq!(r.waiting(), 0);
        assert_eq!(
            r.stats(),
            WakeStats {
                delivered: 3,
                unclaimed: 1
            }
        );
    }

    #[test]
    fn a_claim_whose_types_changed_passes_unfitting_signals_on() {
        let r = Arc::new(ClaimWaiters::default());
        let a = r.register(Uuid::new_v4(), ClaimFilter::Any);
        let b = r.register(Uuid::new_v4(), only(&[JobType::Plan]));
        let j = Uuid::new_v4();
        r.job_queued(sig(j, JobType::Plan));
        assert_eq!(pending(&r, &a), vec![j]);
        a.begin_query(&only(&[JobType::Exec]).into());
        assert_eq!(pending(&r, &b), vec![j]);
    }

    #[test]
    fn a_job_wakes_only_a_claim_of_its_team_that_offers_its_labels() {
        let r = Arc::new(ClaimWaiters::default());
        let scope = |team: Option<&str>, labels: &[&str]| ClaimScope {
            types: ClaimFilter::Any,
            team: team.map(str::to_owned),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        };
        let other_team = r.register(Uuid::new_v4(), scope(Some("b"), &["gpu"]));
        let no_gpu = r.register(Uuid::new_v4(), scope(Some("a"), &[]));
        let right = r.register(Uuid::new_v4(), scope(Some("a"), &["gpu"]));
        let j = Uuid::new_v4();
        r.job_queued(Signal {
            job_id: j,
            job_type: JobType::Exec,
            team: "a".into(),
            labels: vec!["gpu".into()],
        });
        assert!(pending(&r, &other_team).is_empty());
        assert!(pending(&r, &no_gpu).is_empty());
        assert_eq!(pending(&r, &right), vec![j]);
        let platform = r.register(Uuid::new_v4(), scope(None, &[]));
        let k = Uuid::new_v4();
        r.job_queued(sig(k, JobType::Exec));
        assert_eq!(
            pending(&r, &platform),
            vec![k],
            "a platform claim takes any team's job"
        );
    }

    #[tokio::test]
    async fn wait_returns_after_a_signal_or_kick() {
        let r = Arc::new(ClaimWaiters::default());
        let worker = Uuid::new_v4();
        let a = r.register(worker, ClaimFilter::Any);
        r.job_queued(sig(Uuid::new_v4(), JobType::Exec));
        a.wait().await;
        r.kick(worker);
        a.wait().await;
    }
}

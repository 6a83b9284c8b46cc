//! Process signals, mapped to one enum in one function.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// What a SIGINT/SIGTERM asks of the worker, by how many have arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// The first signal: stop claiming, let the running job finish within the grace period.
    Drain,
    /// The second signal: cancel the running job now (SIGINT, interrupt grace, SIGKILL).
    CancelJob,
    /// The third signal: exit at once; the outbox finishes the job's story on the next start.
    Quit,
}

impl Shutdown {
    /// The meaning of the `nth` termination signal (1-based).
    pub fn from_count(nth: usize) -> Self {
        match nth {
            0 | 1 => Shutdown::Drain,
            2 => Shutdown::CancelJob,
            _ => Shutdown::Quit,
        }
    }
}

/// Listens for SIGINT and SIGTERM and sends what each one means. Installing the handlers
/// happens before this returns, so no signal arriving afterwards is missed.
pub fn listen() -> std::io::Result<mpsc::UnboundedReceiver<Shutdown>> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut count = 0usize;
        loop {
            let name = tokio::select! {
                s = int.recv() => s.map(|()| "SIGINT"),
                s = term.recv() => s.map(|()| "SIGTERM"),
            };
            let Some(name) = name else { return };
            count += 1;
            let what = Shutdown::from_count(count);
            tracing::info!(signal = name, action = ?what, "signal received");
            if tx.send(what).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation() {
        assert_eq!(Shutdown::from_count(1), Shutdown::Drain);
        assert_eq!(Shutdown::from_count(2), Shutdown::CancelJob);
        assert_eq!(Shutdown::from_count(3), Shutdown::Quit);
        assert_eq!(Shutdown::from_count(9), Shutdown::Quit);
    }
}

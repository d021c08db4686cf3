//! A stop flag a background thread waits on between rounds, so that it
//! ends at once when told to instead of at the end of its period.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Shared between the thread and whoever stops it.
#[derive(Clone, Default)]
pub(crate) struct StopFlag(Arc<(Mutex<bool>, Condvar)>);

impl StopFlag {
    /// Sets the flag and wakes the waiting thread.
    pub(crate) fn stop(&self) {
        let (flag, wake) = &*self.0;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }

    /// Waits `period` unless stopped first; true when stopped.
    pub(crate) fn wait(&self, period: Duration) -> bool {
        let (flag, wake) = &*self.0;
        let guard = flag.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = wake
            .wait_timeout_while(guard, period, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_ends_the_wait_at_once() {
        let flag = StopFlag::default();
        assert!(!flag.wait(Duration::from_millis(1)));
        let other = flag.clone();
        let waiter = std::thread::spawn(move || other.wait(Duration::from_secs(600)));
        flag.stop();
        assert!(waiter.join().unwrap());
    }
}

//! Retry delays of the outputs: doubling up to a cap.

use std::time::Duration;

use crate::config::SyslogOutputConfig;

/// Exponential backoff, by default with jitter: the nth delay is drawn
/// from `[d/2, d]` where `d = min(initial * 2^n, max)`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
    /// Draw from the upper half (`[d/2, d]`) rather than take `d` itself.
    jitter: bool,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Backoff {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            ^ u64::from(std::process::id()).rotate_left(32);
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
            rng: seed | 1,
            jitter: true,
        }
    }

    /// The reconnect backoff a syslog output's configuration sets.
    pub(crate) fn of_syslog_output(config: &SyslogOutputConfig) -> Backoff {
        Backoff::new(
            Duration::from_millis(config.backoff_initial_ms),
            Duration::from_millis(config.backoff_max_ms),
        )
    }

    /// Without jitter: the nth delay is exactly `min(initial * 2^n, max)`.
    pub(crate) fn exact(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            jitter: false,
            ..Backoff::new(initial, max)
        }
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The next delay (and one more attempt counted).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        let full = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        if !self.jitter {
            return full;
        }
        // xorshift64*: jitter only, no security role.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let random = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let half = full / 2;
        let span = (full - half).as_nanos() as u64;
        let jitter = if span == 0 { 0 } else { random % (span + 1) };
        half + Duration::from_nanos(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let bounds = [100u64, 200, 400, 800, 1000, 1000, 1000];
        for full in bounds {
            let d = backoff.next_delay();
            assert!(
                d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full),
                "{d:?} not in [{}, {full}] ms",
                full / 2
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_jitter_varies() {
        let mut backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
        let delays: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff.next_delay()).collect();
        assert!(delays.len() > 1);
    }

    #[test]
    fn exact_backoff_doubles_without_jitter() {
        let mut backoff = Backoff::exact(Duration::from_secs(1), Duration::from_secs(30));
        let delays: Vec<u64> = (0..7).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    }
}

//! The domain's clock: epoch seconds, injected so that the money rules
//! (expiry, quarantine, late payments) can be tested at a fixed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where the domain reads the time: the system clock, or a fixed time that
/// only moves when a test moves it.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    /// A clock standing at `epoch` until [`Clock::set`] or [`Clock::advance`].
    pub fn fixed(epoch: i64) -> Clock {
        Clock::Fixed(Arc::new(AtomicI64::new(epoch)))
    }

    /// Now, in epoch seconds.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp(),
            Clock::Fixed(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a fixed clock to `epoch`; the system clock ignores it.
    pub fn set(&self, epoch: i64) {
        if let Clock::Fixed(t) = self {
            t.store(epoch, Ordering::SeqCst);
        }
    }

    /// Moves a fixed clock on by `secs`; the system clock ignores it.
    pub fn advance(&self, secs: i64) {
        if let Clock::Fixed(t) = self {
            t.fetch_add(secs, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let c = Clock::fixed(1_000);
        assert_eq!(c.now(), 1_000);
        c.advance(5);
        assert_eq!(c.clone().now(), 1_005, "clones share the time");
        c.set(7);
        assert_eq!(c.now(), 7);
        assert!(Clock::System.now() > 1_600_000_000);
    }
}

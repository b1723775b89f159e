//! Where payment notifications come from. Each source turns what it
//! receives into a [`crate::parser::Notice`] (or a payment it already knows
//! the amount of) and hands it to [`crate::Collector::observe`]; each keeps
//! its health in the store.

pub mod dbus;
pub mod lan;

/// Pushes signed more than this far from our clock are refused.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

//! Where payment notifications come from. Each source turns what it
//! receives into a [`crate::parser::Notice`] (or a payment it already knows
//! the amount of) and hands it to [`crate::Collector::observe`]. Sources
//! sit behind one trait, so new ones (Windows' Phone Link, macOS) slot in;
//! `run` supervises them and reports their health.

pub mod dbus;
pub mod forwarders;
pub mod lan;
pub mod mirror;
pub mod sender;
pub mod smsforwarder;
pub mod throttle;
pub mod vmq;

use crate::Collector;
use jiufu_protocol::Channel;
use jiufu_protocol::collector::SourceKind;
use std::sync::Arc;

/// Pushes signed more than this far from our clock are refused.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// What it is; its word names it in health reports and logs.
    fn kind(&self) -> SourceKind;

    /// The channels it can see payments for; none when it only carries
    /// another source's traffic (the LAN listener carries the phone's).
    fn channels(&self) -> Vec<Channel> {
        Channel::ALL.to_vec()
    }

    /// Runs until it fails; the supervisor records the error and starts it again.
    async fn run(&self, c: Arc<Collector>) -> anyhow::Result<()>;
}

//! The bad-signature throttle: an address that sent `limit` wrong
//! signatures within a minute is refused at every merchant-facing endpoint
//! (before any key is tried) until that minute is over. Guessing a key, or
//! testing one guess against every merchant of a by-key protocol, then
//! costs a minute per `limit` guesses. IPv6 clients count per /64 (one
//! host usually holds a whole /64). In memory, per instance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window a count covers.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past this, finished windows are dropped,
/// then addresses under the limit; an address over it is never forgotten
/// early (a flood of fresh addresses cannot reset a blocked one).
const MAX_ADDRESSES: usize = 100_000;

#[derive(Debug)]
pub struct BadSigns {
    /// Wrong signatures allowed per address per window; 0 turns the throttle off.
    limit: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl BadSigns {
    pub fn new(limit: u32) -> BadSigns {
        BadSigns { limit, seen: Mutex::new(HashMap::new()) }
    }

    /// False while `ip` is over its limit.
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        self.allows_at(ip, Instant::now())
    }

    /// Counts a wrong signature from `ip`.
    pub fn failed(&self, ip: Option<IpAddr>) {
        self.failed_at(ip, Instant::now());
    }

    fn allows_at(&self, ip: Option<IpAddr>, now: Instant) -> bool {
        let (Some(ip), true) = (ip, self.limit > 0) else { return true };
        let Ok(seen) = self.seen.lock() else { return true };
        match seen.get(&bucket(ip)) {
            Some((start, count)) => now.duration_since(*start) >= WINDOW || *count < self.limit,
            None => true,
        }
    }

    fn failed_at(&self, ip: Option<IpAddr>, now: Instant) {
        let (Some(ip), true) = (ip, self.limit > 0) else { return };
        let Ok(mut seen) = self.seen.lock() else { return };
        let key = bucket(ip);
        if seen.len() >= MAX_ADDRESSES && !seen.contains_key(&key) {
            seen.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if seen.len() >= MAX_ADDRESSES {
                let limit = self.limit;
                seen.retain(|_, (_, count)| *count >= limit);
            }
            if seen.len() >= MAX_ADDRESSES {
                // Every remembered address is blocked: this one is not counted.
                return;
            }
        }
        let entry = seen.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// IPv4 addresses count alone, IPv6 ones by their /64.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_fresh_addresses_does_not_free_a_blocked_one() {
        let t = BadSigns::new(3);
        let blocked = Some("203.0.113.1".parse().unwrap());
        let now = Instant::now();
        for _ in 0..3 {
            t.failed_at(blocked, now);
        }
        assert!(!t.allows_at(blocked, now));
        for n in 0..(MAX_ADDRESSES as u32 + 10) {
            t.failed_at(Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))), now);
        }
        assert!(!t.allows_at(blocked, now), "still blocked after the table filled up");
        assert!(t.allows_at(blocked, now + WINDOW), "until its minute is over");
    }

    #[test]
    fn an_address_is_refused_after_its_limit_until_the_minute_is_over() {
        let t = BadSigns::new(3);
        let a = Some("203.0.113.1".parse().unwrap());
        let b = Some("203.0.113.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.allows_at(a, start));
            t.failed_at(a, start);
        }
        assert!(!t.allows_at(a, start + Duration::from_secs(59)), "over the limit within the minute");
        assert!(t.allows_at(b, start), "another address is not affected");
        assert!(t.allows_at(None, start), "an unknown address is never throttled");
        assert!(t.allows_at(a, start + WINDOW), "a new minute");
        t.failed_at(a, start + WINDOW);
        assert!(t.allows_at(a, start + WINDOW), "the count started again");
    }

    #[test]
    fn ipv6_counts_per_64_and_zero_is_off() {
        let t = BadSigns::new(1);
        t.failed(Some("2001:db8:1:2::1".parse().unwrap()));
        assert!(!t.allows(Some("2001:db8:1:2:ffff::9".parse().unwrap())), "same /64");
        assert!(t.allows(Some("2001:db8:1:3::1".parse().unwrap())), "another /64");
        let off = BadSigns::new(0);
        let a = Some("203.0.113.1".parse().unwrap());
        for _ in 0..100 {
            off.failed(a);
        }
        assert!(off.allows(a));
    }
}

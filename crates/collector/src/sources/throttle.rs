//! Bad signatures, counted per sending address: after [`LIMIT`] within
//! [`WINDOW`], the address is refused for [`BLOCK`] without any sign being
//! computed, so a key cannot be guessed at network speed. The table is
//! capped; IPv6 senders count per /64 (one host can hold a whole /64).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bad signatures allowed within [`WINDOW`].
pub const LIMIT: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long an address that went over the limit is refused.
pub const BLOCK: Duration = Duration::from_secs(5 * 60);
/// Addresses tracked at most; past this, new addresses share one entry.
pub const CAP: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Entry {
    since: Instant,
    bad: u32,
    blocked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Throttle {
    table: Mutex<HashMap<IpAddr, Entry>>,
}

/// The unit an address is counted in: an IPv4 address, or an IPv6 /64.
fn unit(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The shared entry for addresses that found the table full.
const OVERFLOW: IpAddr = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);

impl Throttle {
    /// Whether `ip` is refused right now.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(table) = self.table.lock() else { return false };
        let key = if table.contains_key(&unit(ip)) || table.len() < CAP { unit(ip) } else { OVERFLOW };
        table.get(&key).and_then(|e| e.blocked_until).is_some_and(|until| now < until)
    }

    /// Counts a bad signature from `ip`; true when it is now refused.
    pub fn bad_sign(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut table) = self.table.lock() else { return false };
        let mut key = unit(ip);
        if !table.contains_key(&key) && table.len() >= CAP {
            table.retain(|_, e| match e.blocked_until {
                Some(until) => now < until,
                None => now.duration_since(e.since) < WINDOW,
            });
            if table.len() >= CAP {
                key = OVERFLOW;
            }
        }
        let e = table.entry(key).or_insert(Entry { since: now, bad: 0, blocked_until: None });
        if e.blocked_until.is_some_and(|until| now >= until) || now.duration_since(e.since) >= WINDOW {
            *e = Entry { since: now, bad: 0, blocked_until: None };
        }
        e.bad += 1;
        if e.bad >= LIMIT {
            e.blocked_until = Some(now + BLOCK);
        }
        e.blocked_until.is_some()
    }

    pub fn len(&self) -> usize {
        self.table.lock().map(|t| t.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn five_bad_signs_in_a_minute_block_that_address_for_a_while() {
        let t = Throttle::default();
        let start = Instant::now();
        for i in 0..LIMIT - 1 {
            assert!(!t.bad_sign(ip("192.0.2.7"), start + Duration::from_secs(i as u64)));
        }
        assert!(!t.blocked(ip("192.0.2.7"), start + Duration::from_secs(10)));
        assert!(t.bad_sign(ip("192.0.2.7"), start + Duration::from_secs(10)));
        assert!(t.blocked(ip("192.0.2.7"), start + Duration::from_secs(11)));
        assert!(!t.blocked(ip("192.0.2.8"), start + Duration::from_secs(11)), "others are not");
        assert!(!t.blocked(ip("192.0.2.7"), start + Duration::from_secs(10) + BLOCK), "for a while only");
    }

    #[test]
    fn slow_failures_never_block() {
        let t = Throttle::default();
        let start = Instant::now();
        for i in 0..20u64 {
            assert!(!t.bad_sign(ip("192.0.2.9"), start + WINDOW * (i as u32) / 3));
        }
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..LIMIT {
            t.bad_sign(ip(&format!("2001:db8:1:2::{i:x}")), now);
        }
        assert!(t.blocked(ip("2001:db8:1:2:ffff::1"), now));
        assert!(!t.blocked(ip("2001:db8:1:3::1"), now));
        for _ in 0..LIMIT {
            t.bad_sign(ip("::ffff:192.0.2.1"), now);
        }
        assert!(t.blocked(ip("192.0.2.1"), now));
    }

    #[test]
    fn the_table_is_capped_and_overflow_is_still_throttled() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..CAP as u32 + 100 {
            t.bad_sign(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)), now);
        }
        assert!(t.len() <= CAP + 1, "{}", t.len());
        // The newcomers shared one entry, which went over the limit.
        assert!(t.blocked(ip("11.0.0.1"), now));
    }
}

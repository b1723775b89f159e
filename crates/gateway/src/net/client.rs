//! Who is asking: the one place that says which address a request came
//! from. The peer's address, unless that peer is a proxy the operator
//! listed in `JIUFU_TRUSTED_PROXIES`; then the nearest address in
//! `X-Forwarded-For` that is not itself such a proxy. A header from anyone
//! else is ignored, so a client cannot choose its own address. Used for the
//! per-payer order cap of browser-driven shop orders and the bad-signature
//! throttle (and, later, the console's audit log).

use crate::Shared;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// Addresses and networks (`10.0.0.1`, `10.0.0.0/8`, `fd00::/8`) whose
/// `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// A comma- or space-separated list of IPs and CIDR networks.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let ip: IpAddr = addr.parse().map_err(|_| format!("{item:?} is not an IP address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("{item:?} has a bad prefix length"))?,
                None => max,
            };
            nets.push((canonical(ip), bits));
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(net, bits)| same_prefix(*net, ip, *bits))
    }

    /// The client's address: `peer`, or when `peer` is trusted, the
    /// right-most `X-Forwarded-For` entry that is not trusted (the left-most
    /// when all are). The walk goes from the right, over what the trusted
    /// proxies appended, so whatever a client wrote to the left of its own
    /// address (garbage included) is never read; an unreadable entry among
    /// the trusted hops leaves the proxy's own address.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut hops: Vec<Option<IpAddr>> = Vec::new();
        // Entry by entry from the bytes: a client's non-ASCII entry spoils
        // only itself, not the addresses the proxies appended after it.
        for value in headers.get_all("x-forwarded-for") {
            for item in value.as_bytes().split(|b| *b == b',') {
                let item = std::str::from_utf8(item).map(str::trim).unwrap_or("\u{fffd}");
                if !item.is_empty() {
                    hops.push(parse_hop(item).map(canonical));
                }
            }
        }
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.contains(*ip) => continue,
                Some(ip) => return *ip,
                None => return peer,
            }
        }
        hops.first().copied().flatten().unwrap_or(peer)
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:5678`.
fn parse_hop(item: &str) -> Option<IpAddr> {
    item.parse::<IpAddr>().ok().or_else(|| item.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn same_prefix(net: IpAddr, ip: IpAddr, bits: u8) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// The request's client address (see the module). `None` only when the
/// request did not come through a listener (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The address as an order's payer `ip`; empty when unknown. An IPv6
    /// client is its /64 (`2001:db8:1:2::/64`): one subscriber holds a whole
    /// /64, so single addresses would let it rotate past the payer cap.
    pub fn payer(&self) -> String {
        match self.0 {
            Some(IpAddr::V6(v6)) => {
                let net = std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
                format!("{net}/64")
            }
            Some(v4) => v4.to_string(),
            None => String::new(),
        }
    }
}

impl FromRequestParts<Shared> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddr(peer.map(|p| app.config.trusted_proxies.client(p, &parts.headers))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_listed_proxies() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8,fd00::/8").unwrap();
        let h = headers(&["203.0.113.7"]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h), ip("203.0.113.7"));
        assert_eq!(trusted.client(ip("::ffff:127.0.0.1"), &h), ip("203.0.113.7"), "a mapped address is the IPv4 one");
        // Anyone else's header is ignored: a client cannot pick its address.
        assert_eq!(trusted.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        assert_eq!(TrustedProxies::default().client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
        // The client may send its own X-Forwarded-For: the proxy appends, the
        // right-most untrusted entry is the one the proxy saw.
        let spoofed = headers(&["1.1.1.1, 203.0.113.7, 10.1.2.3"]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &spoofed), ip("203.0.113.7"));
        let two_headers = headers(&["1.1.1.1", "203.0.113.8:4711"]);
        assert_eq!(trusted.client(ip("10.9.9.9"), &two_headers), ip("203.0.113.8"));
        // Only proxies, or nothing readable: the proxy's own address at worst.
        assert_eq!(trusted.client(ip("127.0.0.1"), &headers(&["10.0.0.2"])), ip("10.0.0.2"));
        assert_eq!(trusted.client(ip("127.0.0.1"), &headers(&["not-an-ip"])), ip("127.0.0.1"));
        assert_eq!(trusted.client(ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        assert_eq!(trusted.client(ip("fd00::5"), &headers(&["[2001:db8::1]:443"])), ip("2001:db8::1"));
        // Garbage a client wrote to the left of its own address is never
        // read: it cannot make itself the proxy.
        let garbage = headers(&["not-an-ip, 203.0.113.9"]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &garbage), ip("203.0.113.9"));
        let garbage_between = headers(&["1.1.1.1, 💥, 203.0.113.10, 10.0.0.7"]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &garbage_between), ip("203.0.113.10"));
    }

    #[test]
    fn an_ipv6_payer_is_its_64() {
        assert_eq!(ClientAddr(Some(ip("2001:db8:1:2:aaaa::1"))).payer(), "2001:db8:1:2::/64");
        assert_eq!(ClientAddr(Some(ip("2001:db8:1:2:bbbb::9"))).payer(), "2001:db8:1:2::/64");
        assert_eq!(ClientAddr(Some(ip("203.0.113.7"))).payer(), "203.0.113.7");
        assert_eq!(ClientAddr(None).payer(), "");
    }

    #[test]
    fn lists_parse_or_say_what_is_wrong() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let t = TrustedProxies::parse("192.168.0.0/16 ::1").unwrap();
        assert!(t.contains(ip("192.168.44.1")) && t.contains(ip("::1")) && !t.contains(ip("192.169.0.1")));
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["localhost", "10.0.0.0/33", "::/129", "10.0.0.1/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}

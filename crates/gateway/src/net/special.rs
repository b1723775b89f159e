//! Special-purpose addresses: the IANA IPv4 and IPv6 Special-Purpose Address
//! Registries as data (records as of the 2025-04 registry update), plus the
//! multicast, site-local and other non-unicast space of the address-space
//! registries, and the IPv6 forms that carry an IPv4 address inside.
//!
//! Policy for merchant callbacks: an address in any block below is refused,
//! including the few the registries mark "globally reachable" (anycast
//! service addresses, AS112 sinks, ORCHID and DET identifiers): none of them
//! is where a shop's web server lives. An IPv6 address that embeds an IPv4
//! address (IPv4-mapped, IPv4-compatible, NAT64 well-known prefix, 6to4,
//! Teredo) is judged by the IPv4 address(es) inside it instead, because that
//! is where a connection to it ends up. Any other IPv6 address outside
//! global unicast `2000::/3` is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One block of a registry: its first address, prefix length, the
/// registry's name for it and the RFC that defines it.
#[derive(Debug, Clone, Copy)]
pub struct Block<A> {
    pub first: A,
    pub len: u8,
    pub name: &'static str,
    pub rfc: &'static str,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, name: &'static str, rfc: &'static str) -> Block<Ipv4Addr> {
    Block { first: Ipv4Addr::new(a, b, c, d), len, name, rfc }
}

const fn v6(s: [u16; 8], len: u8, name: &'static str, rfc: &'static str) -> Block<Ipv6Addr> {
    Block { first: Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]), len, name, rfc }
}

/// Every record of the IANA IPv4 Special-Purpose Address Registry, then the
/// IPv4 space outside it that is not unicast.
pub const IPV4: &[Block<Ipv4Addr>] = &[
    v4(0, 0, 0, 0, 8, "\"This network\"", "RFC 791 §3.2"),
    v4(0, 0, 0, 0, 32, "\"This host on this network\"", "RFC 1122 §3.2.1.3"),
    v4(10, 0, 0, 0, 8, "Private-Use", "RFC 1918"),
    v4(100, 64, 0, 0, 10, "Shared Address Space", "RFC 6598"),
    v4(127, 0, 0, 0, 8, "Loopback", "RFC 1122 §3.2.1.3"),
    v4(169, 254, 0, 0, 16, "Link Local", "RFC 3927"),
    v4(172, 16, 0, 0, 12, "Private-Use", "RFC 1918"),
    v4(192, 0, 0, 0, 24, "IETF Protocol Assignments", "RFC 6890 §2.1"),
    v4(192, 0, 0, 0, 29, "IPv4 Service Continuity Prefix", "RFC 7335"),
    v4(192, 0, 0, 8, 32, "IPv4 dummy address", "RFC 7600"),
    v4(192, 0, 0, 9, 32, "Port Control Protocol Anycast (globally reachable)", "RFC 7723"),
    v4(192, 0, 0, 10, 32, "Traversal Using Relays around NAT Anycast (globally reachable)", "RFC 8155"),
    v4(192, 0, 0, 170, 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2"),
    v4(192, 0, 0, 171, 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2"),
    v4(192, 0, 2, 0, 24, "Documentation (TEST-NET-1)", "RFC 5737"),
    v4(192, 31, 196, 0, 24, "AS112-v4 (globally reachable)", "RFC 7535"),
    v4(192, 52, 193, 0, 24, "AMT (globally reachable)", "RFC 7450"),
    v4(192, 88, 99, 0, 24, "Deprecated (6to4 Relay Anycast)", "RFC 7526"),
    v4(192, 88, 99, 2, 32, "6a44-relay anycast address", "RFC 6751"),
    v4(192, 168, 0, 0, 16, "Private-Use", "RFC 1918"),
    v4(192, 175, 48, 0, 24, "Direct Delegation AS112 Service (globally reachable)", "RFC 7534"),
    v4(198, 18, 0, 0, 15, "Benchmarking", "RFC 2544"),
    v4(198, 51, 100, 0, 24, "Documentation (TEST-NET-2)", "RFC 5737"),
    v4(203, 0, 113, 0, 24, "Documentation (TEST-NET-3)", "RFC 5737"),
    v4(240, 0, 0, 0, 4, "Reserved", "RFC 1112 §4"),
    v4(255, 255, 255, 255, 32, "Limited Broadcast", "RFC 8190, RFC 919 §7"),
    // Not in the special-purpose registry (IPv4 Multicast Address Space registry):
    v4(224, 0, 0, 0, 4, "Multicast", "RFC 5771"),
];

/// Every record of the IANA IPv6 Special-Purpose Address Registry, then the
/// IPv6 space outside it that is not global unicast. The blocks that embed
/// an IPv4 address are in [`embedded_ipv4`] and decided there first.
pub const IPV6: &[Block<Ipv6Addr>] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "Loopback Address", "RFC 4291"),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "Unspecified Address", "RFC 4291"),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, "IPv4-mapped Address (embedded IPv4 decides)", "RFC 4291"),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, "IPv4-IPv6 Translation, well-known prefix (embedded IPv4 decides)", "RFC 6052"),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "IPv4-IPv6 Translation, local-use prefix", "RFC 8215"),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "Discard-Only Address Block", "RFC 6666"),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "Dummy IPv6 Prefix", "RFC 9780"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF Protocol Assignments", "RFC 2928"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "TEREDO (embedded IPv4 decides)", "RFC 4380, RFC 8190"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128, "Port Control Protocol Anycast (globally reachable)", "RFC 7723"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128, "Traversal Using Relays around NAT Anycast (globally reachable)", "RFC 8155"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 3], 128, "DNS-SD Service Registration Protocol Anycast (globally reachable)", "RFC 9665"),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "Benchmarking", "RFC 5180, RFC Errata 1752"),
    v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, "AMT (globally reachable)", "RFC 7450"),
    v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, "AS112-v6 (globally reachable)", "RFC 7535"),
    v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28, "Deprecated (previously ORCHID)", "RFC 4843"),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, "ORCHIDv2 (globally reachable)", "RFC 7343"),
    v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28, "Drone Remote ID Protocol Entity Tags (DETs) Prefix (globally reachable)", "RFC 9374"),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "Documentation", "RFC 3849"),
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, "6to4 (embedded IPv4 decides)", "RFC 3056"),
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, "Direct Delegation AS112 Service (globally reachable)", "RFC 7534"),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "Documentation", "RFC 9637"),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "Segment Routing (SRv6) SIDs", "RFC 9602"),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "Unique-Local", "RFC 4193, RFC 8190"),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "Link-Local Unicast", "RFC 4291"),
    // Not in the special-purpose registry (IPv6 Address Space registry):
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible Address, deprecated (embedded IPv4 decides)", "RFC 4291 §2.5.5.1"),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "Site-Local, deprecated", "RFC 3879"),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "Multicast", "RFC 4291 §2.7"),
];

fn in_v4(block: &Block<Ipv4Addr>, ip: Ipv4Addr) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(block.len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(block.first)
}

fn in_v6(block: &Block<Ipv6Addr>, ip: Ipv6Addr) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(block.len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(block.first)
}

/// The most specific IPv4 block `ip` is in, if any.
pub fn ipv4_block(ip: Ipv4Addr) -> Option<&'static Block<Ipv4Addr>> {
    IPV4.iter().filter(|b| in_v4(b, ip)).max_by_key(|b| b.len)
}

/// The most specific IPv6 block `ip` is in, if any.
pub fn ipv6_block(ip: Ipv6Addr) -> Option<&'static Block<Ipv6Addr>> {
    IPV6.iter().filter(|b| in_v6(b, ip)).max_by_key(|b| b.len)
}

/// The IPv4 addresses an IPv6 address carries, for the forms that carry
/// them: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d` (RFC 6052 §2.2, /96), 6to4 `2002:AABB:CCDD::/48`
/// (RFC 3056 §2) and Teredo `2001:0:SSSS:SSSS:flags:port:CCCC:CCCC` with
/// its server and its client, whose address is stored inverted (RFC 4380 §4).
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Vec<Ipv4Addr>> {
    let bits = u128::from(ip);
    let low32 = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
    let s = ip.segments();
    if bits >> 32 == 0xffff || bits >> 32 == 0 {
        return Some(vec![low32(0)]);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(vec![low32(0)]);
    }
    if s[0] == 0x2002 {
        return Some(vec![low32(80)]);
    }
    if s[0] == 0x2001 && s[1] == 0 {
        let server = low32(64);
        let client = Ipv4Addr::from(!(bits as u32));
        return Some(vec![server, client]);
    }
    None
}

/// Why `ip` is not a public unicast address a callback may go to, or None
/// when it is one.
pub fn non_public_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => ipv4_block(v4).map(|b| format!("{v4} is in {}/{} {} ({})", b.first, b.len, b.name, b.rfc)),
        IpAddr::V6(v6) => {
            if let Some(inner) = embedded_ipv4(v6) {
                return inner
                    .into_iter()
                    .find_map(|v4| ipv4_block(v4).map(|b| format!("{v6} carries {v4}, in {}/{} {} ({})", b.first, b.len, b.name, b.rfc)));
            }
            if let Some(b) = ipv6_block(v6) {
                return Some(format!("{v6} is in {}/{} {} ({})", b.first, b.len, b.name, b.rfc));
            }
            (v6.segments()[0] & 0xe000 != 0x2000).then(|| format!("{v6} is outside global unicast 2000::/3"))
        }
    }
}

#[cfg(test)]
#[path = "special_tests.rs"]
mod tests;

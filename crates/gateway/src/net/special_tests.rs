use super::*;

fn public(text: &str) -> bool {
    let ip: IpAddr = text.parse().unwrap_or_else(|_| panic!("{text} is not an address"));
    non_public_reason(ip).is_none()
}

fn check(cases: &[(&str, bool)]) {
    for (addr, expected) in cases {
        assert_eq!(public(addr), *expected, "{addr}: expected {}", if *expected { "public" } else { "refused" });
    }
}

#[test]
fn every_block_is_aligned_and_refused_at_both_ends() {
    for b in IPV4 {
        let first = u32::from(b.first);
        let host = u32::MAX.checked_shr(u32::from(b.len)).unwrap_or(0);
        assert_eq!(first & host, 0, "{}/{} is not aligned", b.first, b.len);
        for ip in [first, first | host] {
            assert!(!public(&Ipv4Addr::from(ip).to_string()), "{} in {}/{}", Ipv4Addr::from(ip), b.first, b.len);
        }
    }
    for b in IPV6 {
        let first = u128::from(b.first);
        let host = u128::MAX.checked_shr(u32::from(b.len)).unwrap_or(0);
        assert_eq!(first & host, 0, "{}/{} is not aligned", b.first, b.len);
        if b.name.contains("embedded IPv4 decides") {
            continue;
        }
        for ip in [first, first | host] {
            assert!(!public(&Ipv6Addr::from(ip).to_string()), "{} in {}/{}", Ipv6Addr::from(ip), b.first, b.len);
        }
    }
}

#[test]
fn ipv4_block_edges() {
    check(&[
        // 0.0.0.0/8, 0.0.0.0/32
        ("0.0.0.0", false),
        ("0.255.255.255", false),
        ("1.0.0.0", true),
        // 10.0.0.0/8
        ("9.255.255.255", true),
        ("10.0.0.0", false),
        ("10.255.255.255", false),
        ("11.0.0.0", true),
        // 100.64.0.0/10
        ("100.63.255.255", true),
        ("100.64.0.0", false),
        ("100.127.255.255", false),
        ("100.128.0.0", true),
        // 127.0.0.0/8
        ("126.255.255.255", true),
        ("127.0.0.0", false),
        ("127.255.255.255", false),
        ("128.0.0.0", true),
        // 169.254.0.0/16
        ("169.253.255.255", true),
        ("169.254.0.0", false),
        ("169.254.255.255", false),
        ("169.255.0.0", true),
        // 172.16.0.0/12
        ("172.15.255.255", true),
        ("172.16.0.0", false),
        ("172.31.255.255", false),
        ("172.32.0.0", true),
        // 192.0.0.0/24 and its more specific records (/29, .8, .9, .10, .170, .171)
        ("191.255.255.255", true),
        ("192.0.0.0", false),
        ("192.0.0.7", false),
        ("192.0.0.8", false),
        ("192.0.0.9", false),
        ("192.0.0.10", false),
        ("192.0.0.170", false),
        ("192.0.0.171", false),
        ("192.0.0.255", false),
        ("192.0.1.0", true),
        // 192.0.2.0/24
        ("192.0.1.255", true),
        ("192.0.2.0", false),
        ("192.0.2.255", false),
        ("192.0.3.0", true),
        // 192.31.196.0/24
        ("192.31.195.255", true),
        ("192.31.196.0", false),
        ("192.31.196.255", false),
        ("192.31.197.0", true),
        // 192.52.193.0/24
        ("192.52.192.255", true),
        ("192.52.193.0", false),
        ("192.52.193.255", false),
        ("192.52.194.0", true),
        // 192.88.99.0/24, 192.88.99.2/32
        ("192.88.98.255", true),
        ("192.88.99.0", false),
        ("192.88.99.2", false),
        ("192.88.99.255", false),
        ("192.88.100.0", true),
        // 192.168.0.0/16
        ("192.167.255.255", true),
        ("192.168.0.0", false),
        ("192.168.255.255", false),
        ("192.169.0.0", true),
        // 192.175.48.0/24
        ("192.175.47.255", true),
        ("192.175.48.0", false),
        ("192.175.48.255", false),
        ("192.175.49.0", true),
        // 198.18.0.0/15
        ("198.17.255.255", true),
        ("198.18.0.0", false),
        ("198.19.255.255", false),
        ("198.20.0.0", true),
        // 198.51.100.0/24
        ("198.51.99.255", true),
        ("198.51.100.0", false),
        ("198.51.100.255", false),
        ("198.51.101.0", true),
        // 203.0.113.0/24
        ("203.0.112.255", true),
        ("203.0.113.0", false),
        ("203.0.113.255", false),
        ("203.0.114.0", true),
        // 224.0.0.0/4 multicast, 240.0.0.0/4, 255.255.255.255/32
        ("223.255.255.255", true),
        ("224.0.0.0", false),
        ("239.255.255.255", false),
        ("240.0.0.0", false),
        ("255.255.255.254", false),
        ("255.255.255.255", false),
        ("8.8.8.8", true),
    ]);
}

#[test]
fn ipv6_block_edges() {
    check(&[
        // ::/128, ::1/128 and IPv4-compatible ::/96
        ("::", false),
        ("::1", false),
        ("::127.0.0.1", false),
        ("::10.0.0.1", false),
        ("::192.0.0.1", false),
        ("::8.8.8.8", true),
        ("::1:0:0:0", false),
        // IPv4-mapped ::ffff:0:0/96
        ("::ffff:127.0.0.1", false),
        ("::ffff:192.0.0.1", false),
        ("::ffff:100.64.0.1", false),
        ("::ffff:8.8.8.8", true),
        ("::fffe:ffff:ffff", false),
        ("::1:0:0:0:0", false),
        // NAT64 well-known 64:ff9b::/96: the embedded IPv4 decides
        ("64:ff9b::8.8.8.8", true),
        ("64:ff9b::127.0.0.1", false),
        ("64:ff9b::192.168.1.1", false),
        ("64:ff9b::192.0.0.1", false),
        ("64:ff9b::1:0:0", false),
        ("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false),
        // NAT64 local-use 64:ff9b:1::/48
        ("64:ff9b:1::", false),
        ("64:ff9b:1::808:808", false),
        ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", false),
        // 100::/64 discard-only, 100:0:0:1::/64 dummy
        ("100::", false),
        ("100::ffff:ffff:ffff:ffff", false),
        ("100:0:0:1::", false),
        ("100:0:0:1:ffff:ffff:ffff:ffff", false),
        // 2001::/23 and its more specific records
        ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("2001:1::", false),
        ("2001:1::1", false),
        ("2001:1::2", false),
        ("2001:1::3", false),
        ("2001:2::", false),
        ("2001:2:0:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:3::", false),
        ("2001:3:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:4:112::", false),
        ("2001:4:112:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:10::", false),
        ("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:20::", false),
        ("2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:30::", false),
        ("2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:200::", true),
        // 2001:db8::/32
        ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("2001:db8::", false),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:db9::", true),
        // 2002::/16 6to4: the IPv4 in bits 16-47 decides
        ("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("2002:808:808::1", true),
        ("2002:7f00:1::1", false),
        ("2002:c0a8:101::", false),
        ("2002::", false),
        ("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2003::", true),
        // 2620:4f:8000::/48
        ("2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", true),
        ("2620:4f:8000::", false),
        ("2620:4f:8000:ffff:ffff:ffff:ffff:ffff", false),
        ("2620:4f:8001::", true),
        // 3fff::/20
        ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("3fff::", false),
        ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("3fff:1000::", true),
        // outside 2000::/3: 5f00::/16, fc00::/7, fe80::/10, fec0::/10, ff00::/8, unassigned
        ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("4000::", false),
        ("5f00::", false),
        ("5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("fc00::", false),
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("fe80::", false),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("fec0::", false),
        ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("ff00::", false),
        ("ff02::1", false),
        ("ff0e::1", false),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:4860:4860::8888", true),
        ("2400:cb00::1", true),
    ]);
}

#[test]
fn teredo_server_and_obfuscated_client() {
    // server 65.54.227.120; client 8.8.8.8 stored inverted as f7f7:f7f7
    assert_eq!(
        embedded_ipv4("2001:0:4136:e378:8000:63bf:f7f7:f7f7".parse().unwrap()),
        Some(vec![Ipv4Addr::new(65, 54, 227, 120), Ipv4Addr::new(8, 8, 8, 8)])
    );
    check(&[
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", true),
        // client 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", false),
        // client 192.168.1.1
        ("2001:0:4136:e378:8000:63bf:3f57:fefe", false),
        // client 0.0.0.0 (all ones inverted)
        ("2001:0:4136:e378:8000:63bf:ffff:ffff", false),
        // server 10.0.0.1
        ("2001:0:a00:1:8000:63bf:f7f7:f7f7", false),
        // the Teredo prefix's neighbours in 2001::/23
        ("2001:1:4136:e378:8000:63bf:f7f7:f7f7", false),
    ]);
}

#[test]
fn reasons_name_the_block() {
    let why = non_public_reason("192.0.0.9".parse().unwrap()).unwrap();
    assert!(why.contains("192.0.0.9/32") && why.contains("RFC 7723"), "{why}");
    let why = non_public_reason("64:ff9b::7f00:1".parse().unwrap()).unwrap();
    assert!(why.contains("127.0.0.1") && why.contains("Loopback"), "{why}");
    let why = non_public_reason("fec0::1".parse().unwrap()).unwrap();
    assert!(why.contains("Site-Local"), "{why}");
}

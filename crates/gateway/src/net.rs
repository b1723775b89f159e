//! Outbound safety: merchant callbacks go to public addresses only, unless
//! the operator allows private ones (`JIUFU_ALLOW_PRIVATE_NOTIFY=true`).
//! Checked when an order is created (literal hosts) and again when the
//! notifier connects (every resolved address), so DNS cannot point a
//! callback at the gateway's own network.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks that `text` is an absolute http(s) URL a callback may go to.
pub fn check_callback_url(text: &str, allow_private: bool) -> Result<Url, String> {
    if text.len() > 1024 {
        return Err("is longer than 1024 characters".into());
    }
    let url = Url::parse(text).map_err(|_| "must be an absolute http(s) URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let private = match url.host() {
        None => return Err("must name a host".into()),
        Some(Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || !d.contains('.')
        }
    };
    if private && !allow_private {
        return Err("points to a loopback or private address".into());
    }
    Ok(url)
}

/// Loopback, private, link-local, shared, unspecified and similar
/// non-public addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || v6 == Ipv6Addr::LOCALHOST
            }
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        || o[0] >= 240
}

/// Resolves names with the system resolver and drops non-public addresses.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| !is_private(a.ip())).collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for merchant notifications: 10 s timeout, no redirects,
/// and (unless allowed) no connections to private addresses.
pub fn notify_client(allow_private: bool) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(NOTIFY_TIMEOUT)
        .connect_timeout(NOTIFY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("jiufu-gateway/", env!("CARGO_PKG_VERSION")))
        .no_proxy();
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
    }
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls() {
        assert!(check_callback_url("https://shop.example.com/notify?x=1", false).is_ok());
        for bad in ["ftp://shop.example.com/", "/notify", "notify", "https://user:pw@shop.example.com/", "javascript:alert(1)"] {
            assert!(check_callback_url(bad, true).is_err(), "{bad}");
        }
        for private in [
            "http://127.0.0.1:9/",
            "http://localhost/",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://192.168.1.1/",
            "http://169.254.169.254/",
            "http://intranet/",
        ] {
            assert!(check_callback_url(private, false).is_err(), "{private}");
            assert!(check_callback_url(private, true).is_ok(), "{private}");
        }
    }

    #[test]
    fn private_ranges() {
        assert!(is_private("100.64.0.1".parse().unwrap()));
        assert!(is_private("::ffff:127.0.0.1".parse().unwrap()));
        assert!(is_private("fd00::1".parse().unwrap()));
        assert!(!is_private("8.8.8.8".parse().unwrap()));
        assert!(!is_private("2001:4860::8888".parse().unwrap()));
    }
}

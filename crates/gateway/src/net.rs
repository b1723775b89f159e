//! Outbound safety: merchant callbacks go to public addresses only, unless
//! the operator allows private ones (`JIUFU_ALLOW_PRIVATE_NOTIFY=true`).
//! Checked when an order is created (literal hosts) and again when the
//! notifier connects (every resolved address), so DNS cannot point a
//! callback at the gateway's own network.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

pub mod client;
pub mod special;
pub mod throttle;

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
        Some(Host::Ipv4(ip)) => special::non_public_reason(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => special::non_public_reason(IpAddr::V6(ip)),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            (d == "localhost" || d.ends_with(".localhost") || !d.contains('.')).then(|| format!("{d} is a local name"))
        }
    };
    match private {
        Some(why) if !allow_private => Err(format!("points to a non-public address: {why}")),
        _ => Ok(url),
    }
}

/// True for every address that is not public unicast: each block of the
/// IANA special-purpose registries, multicast, and IPv6 forms whose embedded
/// IPv4 address is one of those (see [`special`]).
pub fn is_private(ip: IpAddr) -> bool {
    special::non_public_reason(ip).is_some()
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
            "http://0x7f.1/",
            "http://[::127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b:1::808:808]/",
            "http://[2002:c0a8:101::1]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "http://[fec0::1]/",
            "http://[ff02::1]/",
            "http://224.0.0.1/",
            "http://192.0.0.1/",
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
        assert!(!is_private("64:ff9b::808:808".parse().unwrap()));
    }

    #[test]
    fn refusals_say_why() {
        let why = check_callback_url("http://[64:ff9b::a00:1]:8080/n", false).unwrap_err();
        assert!(why.contains("10.0.0.1") && why.contains("Private-Use"), "{why}");
        assert!(check_callback_url("http://[64:ff9b::808:808]/n", false).is_ok());
    }
}

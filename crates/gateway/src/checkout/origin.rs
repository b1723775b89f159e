//! Whether a browser request comes from the gateway's own pages.
//!
//! The gateway's own origins are the origin of `JIUFU_PUBLIC_URL` and the
//! host the request came to (the `Host` header, as `http` or `https`: a TLS
//! proxy in front decides the scheme). A request is refused when
//! - `Sec-Fetch-Site` is `cross-site`, or
//! - it has an `Origin` that is not one of those (`Origin: null` only with
//!   `Sec-Fetch-Site: same-origin`, which a browser alone sets), or
//! - it has no `Origin` but a `Referer` whose origin is not one of those.
//!
//! A request without any of these headers (a plain client, an old browser)
//! passes: the check is against other web pages driving a payer's browser,
//! not against clients that could send any header anyway.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN, REFERER};
use url::Url;

/// The header value as text; a value that is not text reads as garbage,
/// so that it is refused rather than ignored.
fn text(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().map(str::trim).unwrap_or("\u{fffd}"))
}

fn own_origins(headers: &HeaderMap, public_url: &str) -> Vec<url::Origin> {
    let mut own = Vec::with_capacity(3);
    if let Ok(url) = Url::parse(public_url) {
        own.push(url.origin());
    }
    let host = text(headers, HOST).filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)));
    if let Some(host) = host {
        for scheme in ["http", "https"] {
            if let Ok(url) = Url::parse(&format!("{scheme}://{host}/")) {
                own.push(url.origin());
            }
        }
    }
    own
}

fn is_own(url_text: &str, headers: &HeaderMap, public_url: &str) -> bool {
    match Url::parse(url_text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => own_origins(headers, public_url).contains(&url.origin()),
        _ => false,
    }
}

/// Ok when the request may come from the gateway's own page; otherwise why not.
pub fn check(headers: &HeaderMap, public_url: &str) -> Result<(), String> {
    let fetch_site = text(headers, "sec-fetch-site");
    if fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return Err("Sec-Fetch-Site is cross-site".into());
    }
    if let Some(origin) = text(headers, ORIGIN) {
        let vouched = origin == "null" && fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("same-origin"));
        return if vouched || is_own(origin, headers, public_url) { Ok(()) } else { Err(format!("Origin {origin:?} is not this gateway")) };
    }
    if let Some(referer) = text(headers, REFERER) {
        return if is_own(referer, headers, public_url) { Ok(()) } else { Err("the Referer is not a page of this gateway".into()) };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "https://pay.example.com";

    fn verdict(pairs: &[(&'static str, &str)]) -> bool {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        check(&h, PUBLIC).is_ok()
    }

    #[test]
    fn own_pages_pass() {
        assert!(verdict(&[]), "no browser headers: a plain client");
        assert!(verdict(&[("origin", "https://pay.example.com")]));
        assert!(verdict(&[("origin", "https://pay.example.com:443"), ("sec-fetch-site", "same-origin")]));
        assert!(verdict(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")]));
        assert!(verdict(&[("host", "pay.internal"), ("origin", "https://pay.internal")]), "behind a TLS proxy");
        assert!(verdict(&[("host", "[::1]:8080"), ("origin", "http://[::1]:8080")]));
        assert!(verdict(&[("referer", "https://pay.example.com/transfer/abc?lang=en")]));
        assert!(verdict(&[("origin", "null"), ("sec-fetch-site", "same-origin")]), "a no-referrer page of our own");
        assert!(verdict(&[("sec-fetch-site", "same-origin")]));
        assert!(verdict(&[("sec-fetch-site", "none")]));
    }

    #[test]
    fn other_pages_are_refused() {
        for bad in [
            vec![("origin", "https://evil.example")],
            vec![("origin", "https://pay.example.com.evil.example")],
            vec![("origin", "http://pay.example.com:8443")],
            vec![("origin", "null")],
            vec![("origin", "null"), ("sec-fetch-site", "cross-site")],
            vec![("origin", "null"), ("sec-fetch-site", "same-site")],
            vec![("origin", "file://")],
            vec![("origin", "garbage")],
            vec![("origin", "https://pay.example.com"), ("sec-fetch-site", "cross-site")],
            vec![("sec-fetch-site", "cross-site")],
            vec![("referer", "https://evil.example/pay.example.com")],
            vec![("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:9090")],
            vec![("host", "evil.example/x"), ("origin", "http://evil.example")],
        ] {
            assert!(!verdict(&bad), "{bad:?}");
        }
    }
}

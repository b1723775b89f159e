//! Merchant protocols as plug-ins (the BTCPay way): each dialect — the
//! native 就付 API, 易支付, epusdt/GMPay, V免签 — is one [`ShopDialect`]
//! handler, and the [`Registry`] finds an order's handler by the dialect
//! the order remembers. Nothing outside the registry switches on a
//! [`Dialect`]: a new protocol is one more handler in `crate::dialects`.
//!
//! Also here, once: what every dialect's requests share ([`fields`],
//! [`request`]) and what every notification is made of ([`Outgoing`],
//! [`Ack`], [`append_query`], [`encode_query`]).

pub mod fields;
pub mod request;

use crate::Shared;
use crate::error::ApiError;
use axum::Router;
use axum::response::Response;
use jiufu_protocol::{Dialect, OrderState};
use jiufu_store::{Merchant, Order};

/// One merchant protocol.
pub trait ShopDialect: Send + Sync + 'static {
    /// The dialects an order made through this handler remembers (epusdt
    /// classic and GMPay are one handler, two flavours).
    fn ids(&self) -> &'static [Dialect];

    /// The handler's endpoints.
    fn routes(&self) -> Router<Shared>;

    /// The notification of `order`, which is paid, signed with `key` at `at`.
    fn notification(&self, order: &Order, key: &str, at: i64) -> Result<Outgoing, String>;

    /// Where the payer goes once `order` is paid (it has a return URL).
    fn return_link(&self, order: &Order, key: &str) -> Result<String, String>;

    /// What a shop owner pastes into the payment settings they already
    /// have: this protocol's block, with `base` the gateway's public URL.
    fn settings(&self, base: &str, merchant: &Merchant) -> String;

    /// Whether the handler's orders without a payer address are capped at
    /// half of a price's payable amounts (shops create them server-side;
    /// the native API leaves `ip` to the merchant).
    fn caps_payerless(&self) -> bool {
        true
    }

    /// A refusal in the protocol's own shape (as its shop's server reads it).
    fn refusal(&self, e: ApiError) -> Response;
}

/// Every dialect the gateway speaks, each found by the dialects it answers for.
pub struct Registry {
    handlers: Vec<Box<dyn ShopDialect>>,
}

impl Registry {
    /// The handlers in the order their settings are printed. Every
    /// [`Dialect`] must have exactly one.
    pub fn new(handlers: Vec<Box<dyn ShopDialect>>) -> Registry {
        for d in Dialect::ALL {
            let n = handlers.iter().filter(|h| h.ids().contains(&d)).count();
            assert_eq!(n, 1, "dialect {d} must have exactly one handler, has {n}");
        }
        Registry { handlers }
    }

    /// The handler of `dialect`.
    pub fn get(&self, dialect: Dialect) -> &dyn ShopDialect {
        match self.handlers.iter().find(|h| h.ids().contains(&dialect)) {
            Some(h) => h.as_ref(),
            // Registry::new checked that every dialect has one.
            None => unreachable!("no handler for dialect {dialect}"),
        }
    }

    /// Every handler's routes.
    pub fn routes(&self) -> Router<Shared> {
        self.handlers.iter().fold(Router::new(), |r, h| r.merge(h.routes()))
    }

    /// The notification of a confirmed order, in its own dialect. Any other
    /// order has none: every dialect's notification says "paid".
    pub fn notification(&self, order: &Order, key: &str, at: i64) -> Result<Outgoing, String> {
        if order.state != OrderState::Confirmed {
            return Err(format!("order {} is in state {}, not paid: nothing to notify", order.id, order.state));
        }
        self.get(order.dialect).notification(order, key, at)
    }

    /// Where the payer goes once paid, in the order's own dialect; `None`
    /// without a return URL, and for an order that is not paid: 易支付 and
    /// V免签 return links carry a signed success.
    pub fn return_link(&self, order: &Order, key: &str) -> Option<String> {
        if order.return_url.is_empty() || order.state != OrderState::Confirmed {
            return None;
        }
        let link = self.get(order.dialect).return_link(order, key);
        link.map_err(|e| tracing::error!(order = %order.id, error = %e, "cannot build the return link")).ok()
    }

    /// The ready settings of `merchant` for every protocol, with `base` the
    /// gateway's public URL.
    pub fn settings_text(&self, base: &str, merchant: &Merchant) -> String {
        let id = merchant.id;
        let mut s = format!("商户 {id}「{}」接入参数 / settings for merchant {id} ({})\n", merchant.name, merchant.name);
        for h in &self.handlers {
            s.push('\n');
            s.push_str(&h.settings(base, merchant));
        }
        s
    }
}

/// One notification as it goes out: where, how, and what answer counts
/// as the shop's acknowledgement.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    /// A JSON body to POST (with `Content-Type: application/json`); `None`
    /// sends a GET.
    pub json: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    pub ack: Ack,
}

/// What a 2xx answer's body must be for the notification to count as delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The trimmed body is one of these words, in any case.
    OneOf(&'static [&'static str]),
}

impl Ack {
    pub fn accepts(self, body: &str) -> bool {
        match self {
            // A byte-order mark (PHP files saved by Windows editors) is not text.
            Ack::OneOf(words) => {
                let body = body.trim().trim_start_matches('\u{feff}').trim();
                words.iter().any(|w| body.eq_ignore_ascii_case(w))
            }
        }
    }
}

/// `base` with `query` appended after `?`, or `&` when it has a query;
/// before a `#fragment`, which stays last (what follows `#` never reaches
/// the server).
pub fn append_query(base: &str, query: &str) -> String {
    let (base, fragment) = match base.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (base, None),
    };
    let sep = if base.contains('?') { if base.ends_with(['?', '&']) { "" } else { "&" } } else { "?" };
    match fragment {
        Some(f) => format!("{base}{sep}{query}#{f}"),
        None => format!("{base}{sep}{query}"),
    }
}

/// `k=v&…` form-encoded in the given order.
pub fn encode_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k.as_ref(), v.as_ref());
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgement_rules() {
        let exact = Ack::OneOf(&["ok", "success"]);
        for body in ["ok", " OK\n", "Success", "success"] {
            assert!(exact.accepts(body), "{body:?}");
        }
        for body in ["", "okay", "not ok", "fail", "success!"] {
            assert!(!exact.accepts(body), "{body:?}");
        }
        // 易支付's acknowledgement is the word itself: never a page or a sentence holding it.
        let epay = Ack::OneOf(&["success"]);
        assert!(epay.accepts("success") && epay.accepts("SUCCESS\r\n") && epay.accepts("\u{feff}success"));
        for body in ["unsuccessful", "<html><body>success</body></html>", "Fatal error: … success", "no success"] {
            assert!(!epay.accepts(body), "{body:?}");
        }
    }

    #[test]
    fn query_parameters_go_before_a_fragment() {
        assert_eq!(append_query("https://s.example/r", "a=1"), "https://s.example/r?a=1");
        assert_eq!(append_query("https://s.example/r?x=1", "a=1"), "https://s.example/r?x=1&a=1");
        assert_eq!(append_query("https://s.example/r?", "a=1"), "https://s.example/r?a=1");
        assert_eq!(append_query("https://s.example/#/paid", "a=1"), "https://s.example/?a=1#/paid");
        assert_eq!(append_query("https://s.example/r?x=1#top", "a=1"), "https://s.example/r?x=1&a=1#top");
    }

    #[test]
    fn every_dialect_has_one_handler() {
        let registry = crate::dialects();
        for d in Dialect::ALL {
            assert!(registry.get(d).ids().contains(&d), "{d}");
        }
    }
}

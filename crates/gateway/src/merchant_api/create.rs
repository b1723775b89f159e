//! `POST /gateway`: create an order.

use super::fields::Fields;
use crate::error::{ApiError, ApiResult};
use crate::net::client::ClientAddr;
use crate::{Shared, net, order};
use axum::Json;
use axum::extract::{Request, State};
use jiufu_protocol::{Channel, Dialect, ErrorCode, Fen, MerchantId, OrderNo, sign};
use jiufu_store::Merchant;
use serde_json::{Value, json};

/// A create request whose fields are all valid and whose signature matched.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub merchant: Merchant,
    pub subject: String,
    pub order_no: OrderNo,
    pub channel: Channel,
    pub amount: Fen,
    pub notify_url: String,
    pub return_url: String,
    pub ip: String,
    pub order_time: String,
    pub dialect: Dialect,
    /// The dialect's echo data (see `jiufu_store::NewOrder::shop_data`).
    pub shop_data: String,
}

pub async fn handle(State(app): State<Shared>, client: ClientAddr, req: Request) -> ApiResult<Json<Value>> {
    let fields = Fields::read(req).await?;
    let request = app.authenticate(client, CreateRequest::parse(&app, &fields)).await?;
    let order = order::create(&app, request).await?;
    Ok(Json(json!({"success": true, "errorCode": 0, "errorMsg": null, "order_id": order.id})))
}

impl CreateRequest {
    /// Checks in this order: required fields present, merchant known,
    /// signature, then each field's rules — so nothing is said about a
    /// request's content before it is authenticated.
    pub async fn parse(app: &Shared, f: &Fields) -> ApiResult<CreateRequest> {
        let userid = f.required("userid")?;
        let order_no = f.required("order_no")?;
        let order_type = f.required("order_type")?;
        let amount = f.required("amount")?;
        let subject = f.required("subject")?;
        let notify_url = f.required("notify_url")?;
        let given_sign = f.required("sign")?;
        let return_url = f.get("return_url").unwrap_or("");

        let merchant_id = parse_userid(userid)?;
        let merchant = match app.merchant(merchant_id).await? {
            Some(m) if m.enabled => m,
            _ => return Err(ApiError::new(ErrorCode::UnknownMerchant)),
        };
        let expected = sign::create_order_sign(userid, order_no, order_type, amount, return_url, merchant.key.expose());
        if !sign::hex_digest_eq(&expected, given_sign) {
            return Err(ApiError::new(ErrorCode::BadSignature));
        }

        CreateRequest::check(
            app,
            merchant,
            Draft {
                order_no,
                channel: order_type.parse().map_err(|e| ApiError::field(ErrorCode::MalformedField, format!("order_type: {e}")))?,
                subject,
                amount,
                notify_url,
                return_url,
                ip: f.get("ip").unwrap_or(""),
                order_time: f.get("order_time").unwrap_or(""),
                dialect: Dialect::Jiufu,
                shop_data: String::new(),
            },
        )
    }

    /// The rules every create request meets, whichever protocol it came
    /// in: called once the request is authenticated as `merchant`'s.
    pub fn check(app: &Shared, merchant: Merchant, d: Draft<'_>) -> ApiResult<CreateRequest> {
        let order_no = OrderNo::parse(d.order_no).map_err(|why| ApiError::field(ErrorCode::MalformedField, why))?;
        let subject = text_field("subject", d.subject, 128)?;
        let allow_private = app.config.allow_private_notify;
        let hosts = &merchant.settings.callback_hosts;
        let notify = net::check_callback_url(d.notify_url, allow_private)
            .map_err(|why| ApiError::field(ErrorCode::MalformedField, format!("notify_url {why}")))?;
        allowed_host("notify_url", &notify, hosts)?;
        if !d.return_url.is_empty() {
            let back = net::check_callback_url(d.return_url, allow_private)
                .map_err(|why| ApiError::field(ErrorCode::MalformedField, format!("return_url {why}")))?;
            allowed_host("return_url", &back, hosts)?;
        }
        let ip = text_field("ip", d.ip, 64)?;
        let order_time = text_field("order_time", d.order_time, 64)?;

        let amount = Fen::parse_yuan(d.amount).map_err(|e| ApiError::field(ErrorCode::InvalidAmount, e))?;
        let s = &merchant.settings;
        if amount.0 < s.min_fen || amount.0 > s.max_fen {
            return Err(ApiError::field(
                ErrorCode::InvalidAmount,
                format!("amount must be between {} and {}", Fen(s.min_fen), Fen(s.max_fen)),
            ));
        }
        Ok(CreateRequest {
            merchant,
            subject,
            order_no,
            channel: d.channel,
            amount,
            notify_url: d.notify_url.to_owned(),
            return_url: d.return_url.to_owned(),
            ip,
            order_time,
            dialect: d.dialect,
            shop_data: d.shop_data,
        })
    }
}

/// An authenticated create request's fields as received, before their rules.
#[derive(Debug)]
pub struct Draft<'a> {
    pub order_no: &'a str,
    pub channel: Channel,
    pub subject: &'a str,
    /// Yuan as text: `10`, `10.0`, `10.00`.
    pub amount: &'a str,
    pub notify_url: &'a str,
    pub return_url: &'a str,
    pub ip: &'a str,
    pub order_time: &'a str,
    pub dialect: Dialect,
    pub shop_data: String,
}

/// With a merchant's list of callback hosts, `url` must name one of them
/// (V免签 does not sign its URLs: a payer holding a signed link could aim
/// the paid notification and the return anywhere public otherwise).
fn allowed_host(field: &str, url: &url::Url, hosts: &[String]) -> ApiResult<()> {
    let host = url.host_str().unwrap_or("").trim_end_matches('.').to_ascii_lowercase();
    if hosts.is_empty() || hosts.contains(&host) {
        Ok(())
    } else {
        Err(ApiError::field(ErrorCode::MalformedField, format!("{field} names a host this merchant does not allow")))
    }
}

pub fn parse_userid(text: &str) -> ApiResult<MerchantId> {
    MerchantId::parse(text).ok_or_else(|| ApiError::field(ErrorCode::MalformedField, "userid must be a positive whole number"))
}

/// A free-text field: at most `max` characters, no control characters.
pub fn text_field(name: &str, value: &str, max: usize) -> ApiResult<String> {
    if value.chars().count() > max {
        return Err(ApiError::field(ErrorCode::MalformedField, format!("{name} is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ApiError::field(ErrorCode::MalformedField, format!("{name} contains control characters")));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_hosts_when_the_merchant_lists_them() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        let hosts = vec!["shop.example.com".to_owned(), "[::1]".to_owned(), "203.0.113.5".to_owned()];
        for ok in ["https://shop.example.com/n", "http://SHOP.example.com./n?x=1", "http://[::1]:8080/n", "http://203.0.113.5/n"] {
            assert!(allowed_host("notify_url", &url(ok), &hosts).is_ok(), "{ok}");
        }
        for bad in ["https://evil.example/n", "https://shop.example.com.evil.example/n", "https://x.shop.example.com/n"] {
            let e = allowed_host("notify_url", &url(bad), &hosts).unwrap_err();
            assert!(e.message.contains("notify_url names a host"), "{bad}: {}", e.message);
        }
        assert!(allowed_host("return_url", &url("https://anywhere.example/"), &[]).is_ok(), "no list: any public host");
    }
}

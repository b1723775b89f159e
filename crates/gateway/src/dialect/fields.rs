//! The fields of a `/gateway` request, from a form, multipart or JSON body.
//! Values are kept exactly as the client sent them, because they are
//! signed as sent.

use crate::error::{ApiError, ApiResult};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use jiufu_protocol::ErrorCode;
use std::collections::{HashMap, HashSet};

/// The largest `/gateway` body accepted.
pub const MAX_BODY: usize = 64 * 1024;
const MAX_FIELDS: usize = 32;
/// How much of an oversized body is read (and thrown away) before
/// answering; past this the answer is sent and the connection closed.
const DRAIN_LIMIT: usize = 256 * 1024;

#[derive(Debug, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub async fn read(req: Request) -> ApiResult<Fields> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default();
        match content_type.as_str() {
            "multipart/form-data" => Self::multipart(req).await,
            "application/json" => Self::json(&read_body(req).await?),
            _ => Self::form(&read_body(req).await?),
        }
    }

    fn insert(&mut self, name: String, value: String) -> ApiResult<()> {
        if self.0.len() >= MAX_FIELDS {
            return Err(ApiError::field(ErrorCode::MalformedField, "too many fields"));
        }
        if self.0.contains_key(&name) {
            return Err(given_twice(&name));
        }
        self.0.insert(name, value);
        Ok(())
    }

    /// The fields of a URL's query string (form-encoded, as sent).
    pub fn query(query: Option<&str>) -> ApiResult<Fields> {
        Self::form(query.unwrap_or("").as_bytes())
    }

    /// Every field as received, empty ones included, in no particular order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn form(bytes: &[u8]) -> ApiResult<Fields> {
        let text = std::str::from_utf8(bytes).map_err(|_| ApiError::field(ErrorCode::MalformedField, "body is not valid UTF-8"))?;
        let mut fields = Fields::default();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode_component(k)?;
            let v = decode_component(v)?;
            fields.insert(k, v)?;
        }
        Ok(fields)
    }

    /// A JSON object's members in the order sent. A name given twice is
    /// refused like a repeated form field, also when one of the values is
    /// `null` (a map would silently keep the last one).
    fn json(bytes: &[u8]) -> ApiResult<Fields> {
        let members = jiufu_protocol::json::members(bytes, MAX_FIELDS).map_err(|e| match e {
            jiufu_protocol::json::MembersError::NotAnObject => ApiError::field(ErrorCode::MalformedField, "body is not a JSON object"),
            jiufu_protocol::json::MembersError::TooMany(_) => ApiError::field(ErrorCode::MalformedField, "too many fields"),
        })?;
        let mut seen = HashSet::with_capacity(members.len());
        for (k, _) in &members {
            if !seen.insert(k.as_str()) {
                return Err(given_twice(k));
            }
        }
        let mut fields = Fields::default();
        for (k, raw) in members {
            let text = raw.get();
            let value = if text.starts_with('"') {
                serde_json::from_str::<String>(text)
                    .map_err(|_| ApiError::field(ErrorCode::MalformedField, format!("{} is not a string", shown(&k))))?
            } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                // A number is signed as the text the client sent.
                text.to_owned()
            } else if text == "null" {
                continue;
            } else {
                return Err(ApiError::field(ErrorCode::MalformedField, format!("{} must be a string or a number", shown(&k))));
            };
            fields.insert(k, value)?;
        }
        Ok(fields)
    }

    async fn multipart(req: Request) -> ApiResult<Fields> {
        let mut mp =
            Multipart::from_request(req, &()).await.map_err(|_| ApiError::field(ErrorCode::MalformedField, "malformed multipart body"))?;
        let mut fields = Fields::default();
        let mut total = 0usize;
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => {
                    return Err(ApiError::field(ErrorCode::MalformedField, "malformed or oversized multipart body"));
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            let value = field
                .text()
                .await
                .map_err(|_| ApiError::field(ErrorCode::MalformedField, format!("{} is not valid UTF-8 text", shown(&name))))?;
            total += value.len();
            if total > MAX_BODY {
                return Err(ApiError::field(ErrorCode::MalformedField, "request body too large"));
            }
            fields.insert(name, value)?;
        }
        Ok(fields)
    }

    /// A field's value; absent and empty are both `None`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> ApiResult<&str> {
        self.get(name).ok_or_else(|| ApiError::field(ErrorCode::MalformedField, format!("{name} is required")))
    }
}

fn given_twice(name: &str) -> ApiError {
    ApiError::field(ErrorCode::MalformedField, format!("{} given more than once", shown(name)))
}

/// Every field name a protocol the gateway speaks defines. A refusal names
/// a field only when it is one of these: anything else the client chose
/// (`请致电400…`) would be its text on the gateway's own pages.
const KNOWN_FIELDS: &[&str] = &[
    // 就付
    "userid",
    "order_no",
    "order_type",
    "amount",
    "subject",
    "notify_url",
    "return_url",
    "sign",
    "ip",
    "order_time",
    // 易支付
    "pid",
    "type",
    "out_trade_no",
    "name",
    "money",
    "sign_type",
    "param",
    "clientip",
    "device",
    "sitename",
    "act",
    "key",
    "trade_no",
    // epusdt / GMPay
    "order_id",
    "redirect_url",
    "signature",
    "currency",
    "token",
    "timestamp",
    // V免签
    "payId",
    "price",
    "notifyUrl",
    "returnUrl",
    "isHtml",
    "orderId",
    "t",
];

/// `name` if the protocols define it, else a neutral word.
pub fn shown(name: &str) -> &str {
    if KNOWN_FIELDS.contains(&name) { name } else { "a field" }
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes. A larger body is
/// still read to its end (up to [`DRAIN_LIMIT`]) before the refusal, so the
/// client gets the error envelope instead of a connection reset mid-upload.
pub async fn read_body(req: Request) -> ApiResult<Vec<u8>> {
    use futures::StreamExt;
    let mut stream = req.into_body().into_data_stream();
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::field(ErrorCode::MalformedField, "the request body could not be read"))?;
        total += chunk.len();
        if total <= MAX_BODY {
            buf.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    if total > MAX_BODY {
        return Err(ApiError::field(ErrorCode::MalformedField, format!("request body too large (over {MAX_BODY} bytes)")));
    }
    Ok(buf)
}

/// Decodes one `application/x-www-form-urlencoded` component, refusing
/// bytes that are not UTF-8 (instead of replacing them).
fn decode_component(s: &str) -> ApiResult<String> {
    let plus_as_space = s.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| ApiError::field(ErrorCode::MalformedField, "a field is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(body: &str) -> String {
        Fields::json(body.as_bytes()).expect_err(body).message
    }

    #[test]
    fn json_members() {
        let f = Fields::json(br#"{"amount":"1.00","userid":10001,"return_url":null}"#).unwrap();
        assert_eq!((f.get("amount"), f.get("userid"), f.get("return_url")), (Some("1.00"), Some("10001"), None));
        assert!(refusal("[1]").contains("not a JSON object"));
        assert!(refusal(r#"{"amount":true}"#).contains("amount must be a string or a number"));
    }

    #[test]
    fn refusals_never_echo_a_field_name_the_client_chose() {
        let chosen = "请致电4001234567退款";
        let form = format!("{chosen}=1&{chosen}=2");
        for e in [
            Fields::form(form.as_bytes()).unwrap_err(),
            Fields::json(format!(r#"{{"{chosen}":true}}"#).as_bytes()).unwrap_err(),
            Fields::json(format!(r#"{{"{chosen}":1,"{chosen}":2}}"#).as_bytes()).unwrap_err(),
        ] {
            assert!(!e.message.contains("4001234567"), "{}", e.message);
            assert!(e.message.contains("a field"), "{}", e.message);
        }
        // The protocols' own names are still named.
        assert!(Fields::form(b"amount=1&amount=2").unwrap_err().message.contains("amount given more than once"));
    }

    #[test]
    fn json_members_past_the_field_cap_are_refused_unread() {
        let mut body = String::from("{");
        for i in 0..40 {
            body.push_str(&format!(r#""k{i}":1,"#));
        }
        body.push_str(r#""tail": [[[ never parsed"#);
        assert!(refusal(&body).contains("too many fields"));
    }

    #[test]
    fn json_duplicate_keys_are_refused_like_form_ones() {
        let form = Fields::form(b"amount=1.00&amount=0.01").unwrap_err();
        for body in [
            r#"{"amount":"1.00","amount":"0.01"}"#,
            r#"{"amount":null,"amount":"0.01"}"#,
            r#"{"amount":"1.00","amount":null}"#,
            r#"{"amount":"1.00","\u0061mount":"0.01"}"#,
        ] {
            let e = Fields::json(body.as_bytes()).expect_err(body);
            assert_eq!((e.code, &e.message), (form.code, &form.message), "{body}");
        }
    }
}

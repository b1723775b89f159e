//! SmsForwarder's webhook in each layout the app sends (its default
//! template as a form, as JSON and as 2.x multipart; the common custom
//! templates), for tests that send one notice in every layout.

use crate::collector::{CollectorProc, percent_encode, smsforwarder_body};
use crate::http;
use jiufu_protocol::sign;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// SmsForwarder 3.x defaults: form, default template.
    FormDefault,
    /// The default template in a JSON body.
    JsonDefault,
    /// SmsForwarder 2.x: multipart form, default template without the UID line.
    Multipart2x,
    /// A custom template `[title]\n[content]` in the default form.
    FormTitleText,
    /// A custom JSON template naming its parts (`[title]`, `[org_content]`).
    JsonParts,
}

pub const LAYOUTS: [Layout; 5] = [Layout::FormDefault, Layout::JsonDefault, Layout::Multipart2x, Layout::FormTitleText, Layout::JsonParts];

/// One phone notification as SmsForwarder forwards it.
#[derive(Debug, Clone)]
pub struct Forwarded<'a> {
    pub app: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    /// The phone's receive time (`yyyy-MM-dd HH:mm:ss`), in the layouts that carry it.
    pub received: &'a str,
}

impl Forwarded<'_> {
    /// SmsForwarder's default template (`MsgInfo.getContentForSend`).
    pub fn default_template(&self, uid_line: bool) -> String {
        let mut lines = vec![self.app.to_owned(), self.text.to_owned(), self.title.to_owned()];
        if uid_line {
            lines.push("UID：10234".into());
        }
        lines.push(self.received.to_owned());
        lines.join("\n")
    }

    /// Posts it in `layout`, signed with `secret` at `t` (epoch ms): the HTTP status.
    pub async fn send(&self, col: &CollectorProc, layout: Layout, t: i64, secret: &str) -> u16 {
        let ts = t.to_string();
        let sign = sign::smsforwarder_sign(&ts, secret);
        let url = format!("{}/forward/smsforwarder", col.url);
        let req = match layout {
            Layout::FormDefault | Layout::FormTitleText => {
                let content =
                    if layout == Layout::FormDefault { self.default_template(true) } else { format!("{}\n{}", self.title, self.text) };
                let body = smsforwarder_body(self.app, &content, t, Some(secret));
                http().post(url).header("content-type", "application/x-www-form-urlencoded").body(body)
            }
            Layout::JsonDefault => http().post(url).json(&json!({
                "from": self.app, "content": self.default_template(true), "timestamp": ts, "sign": percent_encode(&sign),
            })),
            Layout::JsonParts => http().post(url).json(&json!({
                "from": self.app, "title": self.title, "org_content": self.text, "timestamp": ts, "sign": percent_encode(&sign),
            })),
            Layout::Multipart2x => {
                let boundary = "----SmsForwarderBoundary7MA4YWxkTrZu0gW";
                let mut body = String::new();
                for (k, v) in [("from", self.app.to_owned()), ("content", self.default_template(false)), ("timestamp", ts), ("sign", sign)]
                {
                    body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
                }
                body.push_str(&format!("--{boundary}--\r\n"));
                http().post(url).header("content-type", format!("multipart/form-data; boundary={boundary}")).body(body)
            }
        };
        req.send().await.expect("webhook").status().as_u16()
    }
}

//! The computer's own notifications: monitors the session bus for
//! `org.freedesktop.Notifications.Notify` calls (phone notifications
//! mirrored by KDE Connect / GSConnect arrive this way, as do desktop
//! payment apps'). The monitoring connection never sends anything after it
//! becomes a monitor.

use crate::parser::Notice;
use crate::{Collector, now_ms};
use futures::StreamExt;
use std::sync::Arc;
use zbus::zvariant::{Structure, Value};
use zbus::{MatchRule, MessageStream, fdo::MonitoringProxy, message::Type};

/// The app name of the desktop app's own notifications ("payment
/// matched" and the like), which are never payments.
pub const OWN_APP_NAME: &str = "jiufu-desktop";

/// The session-bus notification monitor.
pub struct DbusMonitor;

#[async_trait::async_trait]
impl super::Source for DbusMonitor {
    fn name(&self) -> &'static str {
        "dbus"
    }

    async fn run(&self, c: Arc<Collector>) -> anyhow::Result<()> {
        monitor(c).await
    }
}

/// Runs until the bus goes away.
async fn monitor(c: Arc<Collector>) -> anyhow::Result<()> {
    let conn = zbus::connection::Builder::session()?.build().await?;
    let rule = MatchRule::builder().msg_type(Type::MethodCall).interface("org.freedesktop.Notifications")?.member("Notify")?.build();
    // The stream exists before we become a monitor, so nothing is missed.
    let mut stream = MessageStream::from(&conn);
    MonitoringProxy::new(&conn).await?.become_monitor(&[rule], 0).await?;
    tracing::info!("watching desktop notifications on the session bus");
    c.touch("dbus", None);
    while let Some(msg) = stream.next().await {
        let Ok(msg) = msg else { continue };
        let header = msg.header();
        if header.message_type() != Type::MethodCall || header.member().map(|m| m.as_str()) != Some("Notify") {
            continue;
        }
        let Some(notice) = decode(&msg) else { continue };
        if notice.app == OWN_APP_NAME {
            continue;
        }
        c.touch("dbus", None);
        if let Err(e) = c.observe_notice("dbus", notice, now_ms(), None).await {
            tracing::error!(error = %e, "cannot store a notification");
        }
    }
    anyhow::bail!("the session bus closed")
}

/// app_name, summary and body (fields 0, 3, 4 of `susssasa{sv}i`), read
/// loosely because senders differ in their hint types.
fn decode(msg: &zbus::Message) -> Option<Notice> {
    let body = msg.body();
    let s: Structure<'_> = body.deserialize().ok()?;
    let fields = s.fields();
    let text = |i: usize| match fields.get(i) {
        Some(Value::Str(s)) => Some(s.as_str().to_owned()),
        _ => None,
    };
    // A call that replaces an earlier notification updates it: not a new payment.
    if let Some(Value::U32(replaces)) = fields.get(1)
        && *replaces != 0
    {
        return None;
    }
    Some(Notice { app: text(0)?, title: text(3)?, text: text(4)? })
}

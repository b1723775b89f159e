//! Core events → the window (a `core` event it refreshes on) and desktop
//! notifications (notify-rust) for what needs the operator: a claimed order
//! waiting for confirmation, a payment matched, a payment with no order, a
//! source gone offline. Clicking a notification opens the right screen.

use crate::core::Core;
use crate::tray;
use futures::StreamExt;
use jiufu_collector::CoreEvent;
use jiufu_protocol::collector::SourceKind;
use jiufu_protocol::{Channel, Fen};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

/// Which screen each shown notification opens: (notification id, screen),
/// the most recent few hundred.
#[derive(Default, Clone)]
pub struct Shown(Arc<Mutex<VecDeque<(u32, &'static str)>>>);

impl Shown {
    fn remember(&self, id: u32, screen: &'static str) {
        if let Ok(mut s) = self.0.lock() {
            if s.len() >= 256 {
                s.pop_front();
            }
            s.push_back((id, screen));
        }
    }

    fn screen(&self, id: u32) -> Option<&'static str> {
        self.0.lock().ok()?.iter().rev().find(|(i, _)| *i == id).map(|(_, s)| *s)
    }
}

/// The app name the notifications carry. It is no payment app's, so the
/// collector's own D-Bus monitor never takes them for payments.
pub const APP_NAME: &str = jiufu_collector::sources::dbus::OWN_APP_NAME;

pub fn spawn(app: AppHandle) {
    let shown = Shown::default();
    tauri::async_runtime::spawn(clicks(app.clone(), shown.clone()));
    tauri::async_runtime::spawn(async move {
        let mut current = app.state::<Core>().watch();
        loop {
            let mut events = current.borrow_and_update().subscribe();
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(e) => handle(&app, &shown, e).await,
                        Err(RecvError::Lagged(_)) => handle(&app, &shown, CoreEvent::OrdersChanged).await,
                        Err(RecvError::Closed) => break,
                    },
                    changed = current.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let _ = app.emit("core", CoreEvent::SettingsChanged);
                        break;
                    }
                }
            }
        }
    });
}

async fn handle(app: &AppHandle, shown: &Shown, event: CoreEvent) {
    let _ = app.emit("core", &event);
    tray::refresh(app).await;
    let english = app.state::<Core>().get().ui_prefs().await.map(|p| p.language == "en").unwrap_or(false);
    if let Some(alert) = alert(&event, english) {
        let shown = shown.clone();
        // Showing is one quick D-Bus call; nothing waits for the user here.
        let _ = tauri::async_runtime::spawn_blocking(move || show(&shown, alert)).await;
    }
}

/// Clicks on our notifications (`ActionInvoked` on the session bus) open
/// the screen each one is about. One listener for all of them.
async fn clicks(app: AppHandle, shown: Shown) {
    let listen = async {
        let conn = zbus::Connection::session().await?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.Notifications")?
            .member("ActionInvoked")?
            .build();
        let mut stream = zbus::MessageStream::for_match_rule(rule, &conn, None).await?;
        while let Some(Ok(msg)) = stream.next().await {
            if let Ok((id, action)) = msg.body().deserialize::<(u32, String)>()
                && action == "default"
                && let Some(screen) = shown.screen(id)
            {
                crate::open_screen(&app, screen);
            }
        }
        anyhow::Ok(())
    };
    if let Err(e) = listen.await {
        tracing::warn!(error = %e, "notification clicks will not open the window");
    }
}

pub struct Alert {
    pub summary: String,
    pub body: String,
    /// The screen a click opens.
    pub screen: &'static str,
}

/// A channel's name in the window's language (the protocol's names).
pub fn channel_name(c: Channel, english: bool) -> &'static str {
    if english { c.name_en() } else { c.name_zh() }
}

/// A source's name (as health reports and events name it) in the window's language.
pub fn source_name(source: &str, english: bool) -> String {
    match SourceKind::from_name(source) {
        Some(k) if english => k.label_en().to_owned(),
        Some(k) => k.label_zh().to_owned(),
        None => source.to_owned(),
    }
}

/// The notification an event deserves, if any, in the window's language.
pub fn alert(event: &CoreEvent, en: bool) -> Option<Alert> {
    let money = |a: &Fen| format!("¥{a}");
    Some(match event {
        CoreEvent::OrderClaimed { order_no, channel, amount, .. } => Alert {
            summary: if en { format!("Order to confirm: {}", money(amount)) } else { format!("待确认订单 {}", money(amount)) },
            body: if en {
                format!(
                    "The customer says order {order_no} is paid by {}. Check the money arrived, then confirm or reject.",
                    channel_name(*channel, en)
                )
            } else {
                format!("顾客称订单 {order_no} 已用{}付款。请核对到账后确认或驳回。", channel_name(*channel, en))
            },
            screen: "orders",
        },
        CoreEvent::PaymentMatched { order_id, channel, amount, .. } => Alert {
            summary: if en { format!("Payment received: {}", money(amount)) } else { format!("收到付款 {}", money(amount)) },
            body: if en {
                format!("{} payment matched to order {order_id}.", channel_name(*channel, en))
            } else {
                format!("{}付款已匹配订单 {order_id}。", channel_name(*channel, en))
            },
            screen: "payments",
        },
        CoreEvent::PaymentUnmatched { channel, amount, .. } => Alert {
            summary: if en { format!("Unmatched payment: {}", money(amount)) } else { format!("未匹配的付款 {}", money(amount)) },
            body: if en {
                format!("No open order is waiting for this {} amount. Attach it to an order by hand.", channel_name(*channel, en))
            } else {
                format!("没有金额相同的待付{}订单，请在“收款记录”中手动关联。", channel_name(*channel, en))
            },
            screen: "payments",
        },
        CoreEvent::SourceOffline { source } => Alert {
            summary: if en {
                format!("Source offline: {}", source_name(source, en))
            } else {
                format!("来源离线：{}", source_name(source, en))
            },
            body: if en {
                "Payments it sees will not arrive until it is back.".into()
            } else {
                "在它恢复之前，它看到的付款不会到达。".into()
            },
            screen: "overview",
        },
        _ => return None,
    })
}

/// Notification servers read a little markup in the body: show text as text.
fn plain(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Shows a notification and remembers which screen a click on it opens.
fn show(shown: &Shown, alert: Alert) {
    let mut n = notify_rust::Notification::new();
    n.appname(APP_NAME).summary(&alert.summary).body(&plain(&alert.body)).action("default", "open");
    #[cfg(all(unix, not(target_os = "macos")))]
    n.hint(notify_rust::Hint::DesktopEntry("jiufu-desktop".into()));
    match n.show() {
        Ok(handle) => shown.remember(handle.id(), alert.screen),
        Err(e) => tracing::warn!(error = %e, "cannot show a desktop notification"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_orders_and_unmatched_payments_alert_in_both_languages() {
        let order_id = jiufu_protocol::OrderId::generate();
        let claimed = CoreEvent::OrderClaimed { order_id, order_no: "A-1".into(), channel: Channel::P901, amount: Fen(1001) };
        let zh = alert(&claimed, false).expect("alert");
        assert_eq!(zh.summary, "待确认订单 ¥10.01");
        assert!(zh.body.contains("A-1") && zh.body.contains("支付宝"));
        assert_eq!(zh.screen, "orders");
        assert_eq!(alert(&claimed, true).expect("alert").summary, "Order to confirm: ¥10.01");
        let observation = jiufu_protocol::ObservationId::generate();
        let unmatched = CoreEvent::PaymentUnmatched { observation, channel: Channel::P902, amount: Fen(5) };
        assert_eq!(alert(&unmatched, false).expect("alert").summary, "未匹配的付款 ¥0.05");
        assert!(alert(&CoreEvent::OrdersChanged, false).is_none());
        let offline = alert(&CoreEvent::SourceOffline { source: "phone".into() }, false).expect("alert");
        assert_eq!(offline.summary, "来源离线：手机监控 (V免签)");
        assert_eq!(plain("<b>A&B</b>"), "&lt;b&gt;A&amp;B&lt;/b&gt;");
        assert_eq!(source_name("vmq", true), "Phone app (V免签)");
        assert_eq!(source_name("smsforwarder:unsigned", false), "短信转发器 (SmsForwarder)");
        assert_eq!(source_name("newer", false), "newer");
        assert_eq!(channel_name(Channel::P904, true), Channel::P904.name_en());
    }
}

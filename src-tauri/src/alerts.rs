//! Core events → the window (a `core` event it refreshes on) and desktop
//! notifications (notify-rust) for what needs the operator: a claimed order
//! waiting for confirmation, a payment matched, a payment with no order, a
//! source gone offline. Clicking a notification opens the right screen.

use crate::core::Core;
use crate::tray;
use jiufu_collector::CoreEvent;
use jiufu_protocol::{Channel, Fen};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

/// The app name the notifications carry. It is no payment app's, so the
/// collector's own D-Bus monitor never takes them for payments.
pub const APP_NAME: &str = jiufu_collector::sources::dbus::OWN_APP_NAME;

pub fn spawn(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let mut current = app.state::<Core>().watch();
        loop {
            let mut events = current.borrow_and_update().subscribe();
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(e) => handle(&app, e).await,
                        Err(RecvError::Lagged(_)) => handle(&app, CoreEvent::OrdersChanged).await,
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

async fn handle(app: &AppHandle, event: CoreEvent) {
    let _ = app.emit("core", &event);
    tray::refresh(app).await;
    let english = crate::prefs::load(&app.state::<Core>().get()).await.map(|p| p.language == "en").unwrap_or(false);
    if let Some(alert) = alert(&event, english) {
        let app = app.clone();
        tauri::async_runtime::spawn_blocking(move || show(app, alert));
    }
}

pub struct Alert {
    pub summary: String,
    pub body: String,
    /// The screen a click opens.
    pub screen: &'static str,
}

pub fn channel_name(c: Channel, english: bool) -> &'static str {
    match (c, english) {
        (Channel::P901, false) => "支付宝",
        (Channel::P901, true) => "Alipay",
        (Channel::P902, false) => "微信支付",
        (Channel::P902, true) => "WeChat Pay",
        (Channel::P903, false) => "QQ钱包",
        (Channel::P903, true) => "QQ Wallet",
        (Channel::P904, false) => "云闪付",
        (Channel::P904, true) => "UnionPay",
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
            summary: if en { format!("Source offline: {source}") } else { format!("来源离线：{source}") },
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

/// Shows a notification and waits (on this blocking thread) for a click.
fn show(app: AppHandle, alert: Alert) {
    let mut n = notify_rust::Notification::new();
    n.appname(APP_NAME).summary(&alert.summary).body(&alert.body).action("default", "open");
    #[cfg(all(unix, not(target_os = "macos")))]
    n.hint(notify_rust::Hint::DesktopEntry("jiufu-desktop".into()));
    match n.show() {
        Ok(handle) => {
            #[cfg(all(unix, not(target_os = "macos")))]
            handle.wait_for_action(|action| {
                if action == "default" {
                    crate::open_screen(&app, alert.screen);
                }
            });
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            drop((handle, app));
        }
        Err(e) => tracing::warn!(error = %e, "cannot show a desktop notification"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_orders_and_unmatched_payments_alert_in_both_languages() {
        let claimed = CoreEvent::OrderClaimed { order_id: "o1".into(), order_no: "A-1".into(), channel: Channel::P901, amount: Fen(1001) };
        let zh = alert(&claimed, false).expect("alert");
        assert_eq!(zh.summary, "待确认订单 ¥10.01");
        assert!(zh.body.contains("A-1") && zh.body.contains("支付宝"));
        assert_eq!(zh.screen, "orders");
        assert_eq!(alert(&claimed, true).expect("alert").summary, "Order to confirm: ¥10.01");
        let unmatched = CoreEvent::PaymentUnmatched { observation: "x".into(), channel: Channel::P902, amount: Fen(5) };
        assert_eq!(alert(&unmatched, false).expect("alert").summary, "未匹配的付款 ¥0.05");
        assert!(alert(&CoreEvent::OrdersChanged, false).is_none());
    }
}

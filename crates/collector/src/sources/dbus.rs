//! The computer's own notifications: monitors the session bus for
//! `org.freedesktop.Notifications.Notify` and
//! `org.gtk.Notifications.AddNotification` calls (phone notifications
//! mirrored by KDE Connect / GSConnect arrive this way). The monitoring
//! connection never sends anything after it becomes a monitor.
//!
//! Any program on the bus can send a notification, so a notification is a
//! payment only when (1) it comes from a program the rules trust (a
//! phone-mirroring program in its own format naming a payment app on the
//! phone, or a listed desktop payment program), (2) its text is an incoming
//! payment under that app's titles, and (3) the process that sent it runs
//! one of that program's allowed executables (`sender.rs`). A title or word
//! never picks the channel: a chat titled "支付宝通知" is not a payment.

use super::mirror::{self, Mirrored};
use super::sender::{self, Senders};
use crate::parser::{AppId, MirrorFormat, Notice, Parser, Payment};
use crate::{Collector, Delivery, Posted, now_ms};
use futures::StreamExt;
use jiufu_protocol::collector::SourceKind;
use std::sync::Arc;
use zbus::zvariant::{Dict, Structure, Value};
use zbus::{MatchRule, MessageStream, fdo::MonitoringProxy, message::Type};

/// The app name of the desktop app's own notifications ("payment
/// matched" and the like), which are never payments.
pub const OWN_APP_NAME: &str = "jiufu-desktop";

const FDO: &str = "org.freedesktop.Notifications";
const GTK: &str = "org.gtk.Notifications";

/// The session-bus notification monitor.
pub struct DbusMonitor;

#[async_trait::async_trait]
impl super::Source for DbusMonitor {
    fn kind(&self) -> SourceKind {
        SourceKind::Dbus
    }

    async fn run(&self, c: Arc<Collector>) -> anyhow::Result<()> {
        monitor(c).await
    }
}

/// Runs until the bus goes away.
async fn monitor(c: Arc<Collector>) -> anyhow::Result<()> {
    // A second, ordinary connection asks the bus who sent what.
    let senders = Senders::connect().await?;
    let conn = zbus::connection::Builder::session()?.build().await?;
    let rules = [
        MatchRule::builder().msg_type(Type::MethodCall).interface(FDO)?.member("Notify")?.build(),
        MatchRule::builder().msg_type(Type::MethodCall).interface(GTK)?.member("AddNotification")?.build(),
    ];
    // The stream exists before we become a monitor, so nothing is missed.
    let mut stream = MessageStream::from(&conn);
    MonitoringProxy::new(&conn).await?.become_monitor(&rules, 0).await?;
    tracing::info!("watching desktop notifications on the session bus");
    c.touch(SourceKind::Dbus, None);
    while let Some(msg) = stream.next().await {
        let Ok(msg) = msg else { continue };
        let Some(call) = Call::decode(&msg) else { continue };
        if call.app_name == OWN_APP_NAME {
            continue;
        }
        c.touch(SourceKind::Dbus, None);
        let Some(claim) = identify(&c.parser, &call) else {
            tracing::debug!(app = call.app_name, "a notification from a program not trusted for payments");
            continue;
        };
        let payment = match c.parser.parse_as(claim.app_id(&c.parser), claim.notice()) {
            Ok(p) => p,
            Err(why) => {
                tracing::debug!(notice = ?claim.notice(), %why, "not a payment");
                continue;
            }
        };
        let Some(sender) = msg.header().sender().map(|s| s.to_owned()) else { continue };
        let refused = match senders.executable(&sender).await {
            Ok(exe) if sender::allowed(&exe, &claim.executables(&c.parser, payment)) => None,
            Ok(exe) => Some(format!("sent by {}, which is not an allowed program for {}", exe.display(), claim.notice().app)),
            Err(why) => Some(format!("its sender cannot be verified ({why})")),
        };
        if let Some(why) = refused {
            tracing::warn!(app = claim.notice().app, %why, "refused a payment notification");
            c.touch(SourceKind::Dbus, Some(format!("refused a payment notification: {why}")));
            continue;
        }
        let delivery = Delivery { replay: None, posted: posted(&call, claim.notice(), payment) };
        if let Err(e) = c.observe(SourceKind::Dbus, payment.channel, payment.amount, now_ms(), claim.into_notice(), delivery).await {
            tracing::error!(error = %e, "cannot store a notification");
        }
    }
    anyhow::bail!("the session bus closed")
}

/// What tells this notification from another with the same text (issue
/// 16, M4). A GTK notification has its id (GSConnect's: the phone's
/// device and Android notification key): the same id and content again is
/// the same notice (GSConnect re-mirroring the phone's shade after a
/// reconnect, an Android re-post), and the same id with another text of
/// the same amount is an update that cannot be told from a second payment.
/// A freedesktop `Notify` (KDE Connect) carries neither key nor post time:
/// only its text.
fn posted(call: &Call, notice: &Notice, payment: Payment) -> Posted {
    match (&call.notification_id, call.gtk) {
        (Some(id), true) => {
            let amount = payment.amount.0.to_string();
            let exact = Posted::exact(&["gtk", &call.app_name, id, &call.summary, &call.body]);
            let update = Posted::alike(&["gtk", &call.app_name, id, payment.channel.code(), &amount]);
            Posted { exact: exact.exact, alike: update.alike }
        }
        _ => Posted::alike(&["notify", &notice.app, &notice.title, &notice.text]),
    }
}

/// A notification call as sent.
#[derive(Debug, Default)]
struct Call {
    /// `Notify` (freedesktop) or `AddNotification` (GTK).
    gtk: bool,
    /// `app_name`, or the GApplication id for GTK.
    app_name: String,
    summary: String,
    body: String,
    /// The id a GTK notification is sent under.
    notification_id: Option<String>,
    /// Hints `x-kde-appname`, `desktop-entry`, `x-kde-display-appname`.
    kde_appname: Option<String>,
    desktop_entry: Option<String>,
    display_app: Option<String>,
}

impl Call {
    /// Read loosely, because senders differ in their hint types; None for
    /// anything that is not a new notification to the notification service.
    fn decode(msg: &zbus::Message) -> Option<Call> {
        let header = msg.header();
        if header.message_type() != Type::MethodCall {
            return None;
        }
        let (iface, member) = (header.interface()?.as_str(), header.member()?.as_str());
        let to = header.destination().map(|d| d.as_str()).unwrap_or_default();
        let body = msg.body();
        let s: Structure<'_> = body.deserialize().ok()?;
        let fields = s.fields();
        let text = |i: usize| match fields.get(i) {
            Some(Value::Str(s)) => Some(s.as_str().to_owned()),
            _ => None,
        };
        match (iface, member) {
            (FDO, "Notify") if to == FDO => {
                // A call that replaces an earlier notification updates it: not a new payment.
                if let Some(Value::U32(replaces)) = fields.get(1)
                    && *replaces != 0
                {
                    return None;
                }
                let hints = match fields.get(6) {
                    Some(Value::Dict(d)) => Some(d),
                    _ => None,
                };
                let hint = |k: &str| hints.and_then(|d| string_hint(d, k));
                Some(Call {
                    gtk: false,
                    app_name: text(0)?,
                    summary: text(3)?,
                    body: text(4)?,
                    kde_appname: hint("x-kde-appname"),
                    desktop_entry: hint("desktop-entry"),
                    display_app: hint("x-kde-display-appname"),
                    notification_id: None,
                })
            }
            (GTK, "AddNotification") if to == GTK => {
                let Some(Value::Dict(n)) = fields.get(2) else { return None };
                Some(Call {
                    gtk: true,
                    app_name: text(0)?,
                    notification_id: text(1),
                    summary: string_hint(n, "title").unwrap_or_default(),
                    body: string_hint(n, "body").unwrap_or_default(),
                    ..Call::default()
                })
            }
            _ => None,
        }
    }

    /// The names the sender gives itself.
    fn ids(&self) -> Vec<&str> {
        [Some(self.app_name.as_str()), self.kde_appname.as_deref(), self.desktop_entry.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect()
    }
}

/// A string entry of an `a{sv}` (or `a{ss}`) dictionary.
fn string_hint(d: &Dict<'_, '_>, key: &str) -> Option<String> {
    d.iter().find_map(|(k, v)| {
        let Value::Str(k) = k else { return None };
        if k.as_str() != key {
            return None;
        }
        match v {
            Value::Str(s) => Some(s.as_str().to_owned()),
            Value::Value(inner) => match inner.as_ref() {
                Value::Str(s) => Some(s.as_str().to_owned()),
                _ => None,
            },
            _ => None,
        }
    })
}

/// Who a notification is from, by the rules.
enum Claim {
    /// A phone app named by a mirroring program: by its Android package
    /// when the program tells it, else by its label.
    Mirror { format: MirrorFormat, ids: Vec<String>, phone_app: String, package: Option<String>, notice: Notice },
    /// A desktop payment program's own notification.
    Desktop { id: String, notice: Notice },
}

impl Claim {
    fn notice(&self) -> &Notice {
        match self {
            Claim::Mirror { notice, .. } | Claim::Desktop { notice, .. } => notice,
        }
    }

    fn into_notice(self) -> Notice {
        match self {
            Claim::Mirror { notice, .. } | Claim::Desktop { notice, .. } => notice,
        }
    }

    /// Who the notice is from: the phone app (by package when known), or
    /// for the phone's SMS app the SMS's sender (its title).
    fn app_id<'a>(&'a self, parser: &Parser) -> AppId<'a> {
        match self {
            Claim::Mirror { package, phone_app, notice, .. } if parser.is_sms_app(package.as_deref(), phone_app) => {
                AppId::Sms(&notice.title)
            }
            Claim::Mirror { package: Some(package), .. } => AppId::Package(package),
            Claim::Mirror { phone_app, .. } => AppId::Phone(phone_app),
            Claim::Desktop { id, .. } => AppId::Desktop(id),
        }
    }

    /// The executables allowed to send this payment.
    fn executables(&self, parser: &Parser, payment: Payment) -> Vec<String> {
        match self {
            Claim::Mirror { format, ids, .. } => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                parser.mirrors(&ids).filter(|m| m.format == *format).flat_map(|m| m.executables.clone()).collect()
            }
            Claim::Desktop { id, .. } => parser.desktop_executables(id, payment.channel),
        }
    }
}

/// The trusted program a notification claims to be from, if any.
fn identify(parser: &Parser, call: &Call) -> Option<Claim> {
    let ids = call.ids();
    for format in [MirrorFormat::Kdeconnect, MirrorFormat::Gsconnect] {
        if !parser.mirrors(&ids).any(|m| m.format == format) {
            continue;
        }
        let unfolded = match format {
            // KNotification speaks the freedesktop interface only.
            MirrorFormat::Kdeconnect if !call.gtk => {
                mirror::kdeconnect(&call.app_name, &call.summary, &call.body, call.display_app.as_deref())
            }
            MirrorFormat::Gsconnect => mirror::gsconnect(&call.summary, &call.body, call.notification_id.as_deref()),
            _ => None,
        };
        let Some(Mirrored { phone_app, package, title, text }) = unfolded else { continue };
        let tag = match format {
            MirrorFormat::Kdeconnect => "kdeconnect",
            MirrorFormat::Gsconnect => "gsconnect",
        };
        let notice = Notice { app: format!("{tag}/{}", package.as_deref().unwrap_or(&phone_app)), title, text };
        return Some(Claim::Mirror { format, ids: ids.iter().map(|s| s.to_string()).collect(), phone_app, package, notice });
    }
    let id = ids.into_iter().find(|id| parser.desktop_channel(id).is_some())?;
    let notice = Notice { app: format!("desktop/{id}"), title: call.summary.clone(), text: call.body.clone() };
    Some(Claim::Desktop { id: id.to_owned(), notice })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::NotPayment;
    use jiufu_protocol::{Channel, Fen};

    fn notify(app: &str, summary: &str, body: &str) -> Call {
        Call { app_name: app.into(), summary: summary.into(), body: body.into(), ..Call::default() }
    }

    fn pay(p: &Parser, call: &Call) -> Option<Result<Payment, NotPayment>> {
        identify(p, call).map(|claim| p.parse_as(claim.app_id(p), claim.notice()))
    }

    #[test]
    fn chats_and_unknown_programs_are_not_claims() {
        let p = Parser::new(None).unwrap();
        for app in ["Telegram", "org.telegram.desktop", "支付宝", "Alipay", "notify-send", ""] {
            assert!(identify(&p, &notify(app, "支付宝通知", "张三通过扫码向你付款8.88元")).is_none(), "{app}");
        }
        // a chat app mirrored from the phone names itself, not Alipay
        let chat = Call {
            display_app: Some("Telegram".into()), ..notify("KDE Connect", "支付宝通知", "张三通过扫码向你付款8.88元")
        };
        assert_eq!(pay(&p, &chat), Some(Err(NotPayment::UnknownApp)));
    }

    #[test]
    fn kdeconnect_mirrored_alipay_is_a_payment_claim() {
        let p = Parser::new(None).unwrap();
        let plasma = Call {
            kde_appname: Some("kdeconnect".into()),
            display_app: Some("支付宝".into()),
            ..notify("KDE Connect", "支付宝通知", "张三通过扫码向你付款8.88元")
        };
        assert_eq!(pay(&p, &plasma), Some(Ok(Payment { channel: Channel::P901, amount: Fen(888) })));
        let claim = identify(&p, &plasma).unwrap();
        assert_eq!(claim.notice().app, "kdeconnect/支付宝");
        let exes = claim.executables(&p, Payment { channel: Channel::P901, amount: Fen(888) });
        assert!(exes.contains(&"/usr/bin/kdeconnectd".to_owned()) && !exes.iter().any(|e| e.contains("gjs")), "{exes:?}");
        let other =
            Call { kde_appname: Some("kdeconnect".into()), ..notify("KDE Connect", "支付宝", "收钱码收款: 成功收款0.01元") };
        assert_eq!(pay(&p, &other), Some(Ok(Payment { channel: Channel::P901, amount: Fen(1) })));
    }

    #[test]
    fn gsconnect_by_android_package() {
        let p = Parser::new(None).unwrap();
        const GSC: &str = "org.gnome.Shell.Extensions.GSConnect";
        let gtk = |title: &str, body: &str, key: &str| Call {
            gtk: true,
            notification_id: Some(format!("_0b3f8a1c_7d2e_4f5a_9b6c_1d2e3f4a5b6c_|{key}")),
            ..notify(GSC, title, body)
        };
        let alipay = gtk("支付宝", "收钱码收款: 成功收款0.01元", "0|com.eg.android.AlipayGphone|77|null|10123");
        assert_eq!(pay(&p, &alipay), Some(Ok(Payment { channel: Channel::P901, amount: Fen(1) })));
        let claim = identify(&p, &alipay).unwrap();
        assert_eq!(claim.notice().app, "gsconnect/com.eg.android.AlipayGphone");
        assert_eq!(
            claim.executables(&p, Payment { channel: Channel::P901, amount: Fen(1) }),
            vec!["/usr/bin/gjs-console".to_owned(), "/usr/bin/gjs".to_owned()]
        );
        // WeChat, which GSConnect shows under the phone's title
        let wx = gtk("微信支付", "微信支付收款0.01元(朋友到店)", "0|com.tencent.mm|5|null|10234");
        assert_eq!(pay(&p, &wx), Some(Ok(Payment { channel: Channel::P902, amount: Fen(1) })));
        let chat = gtk("张三", "收款9.90元", "0|com.tencent.mm|5|null|10234");
        assert!(matches!(pay(&p, &chat), Some(Err(NotPayment::UntrustedTitle(_)))));
        // an SMS from a contact saved as "支付宝": the package is the messaging app's
        let sms = gtk("支付宝", "成功收款8.88元", "0|com.android.mms|9|null|10001");
        assert_eq!(pay(&p, &sms), Some(Err(NotPayment::UnknownApp)));
        // GLib's freedesktop fallback carries no id: never a claim
        let fdo = Call { desktop_entry: Some(GSC.into()), ..notify("", "支付宝", "成功收款0.02元") };
        assert!(identify(&p, &fdo).is_none());
        // a KDE Connect format is never read from the GTK interface
        let gtk_kde = Call { gtk: true, ..notify("kdeconnect", "支付宝", "成功收款0.01元") };
        assert!(identify(&p, &gtk_kde).is_none());
    }

    /// Issue 16, M4: what tells one mirrored notification from another.
    #[test]
    fn a_notification_id_seen_again_is_the_same_notice_or_its_update() {
        const GSC: &str = "org.gnome.Shell.Extensions.GSConnect";
        let gtk = |id: &str, body: &str| Call {
            gtk: true,
            notification_id: Some(format!("0b3f8a1c7d2e4f5a9b6c1d2e3f4a5b6c|{id}")),
            ..notify(GSC, "支付宝", body)
        };
        let pay = |fen| Payment { channel: Channel::P901, amount: Fen(fen) };
        let n = Notice::default();
        let key = "0|com.eg.android.AlipayGphone|7|null|10123";
        let first = posted(&gtk(key, "收钱码收款: 成功收款1.00元"), &n, pay(100));
        assert_eq!(first, posted(&gtk(key, "收钱码收款: 成功收款1.00元"), &n, pay(100)), "re-mirrored: the same");
        let update = posted(&gtk(key, "收钱码收款: 你已成功收款1.00元"), &n, pay(100));
        assert!(update.exact != first.exact && update.alike == first.alike, "an update of the same amount: ambiguous");
        let other_key = posted(&gtk("0|com.eg.android.AlipayGphone|8|null|10123", "收钱码收款: 成功收款1.00元"), &n, pay(100));
        assert!(other_key.exact != first.exact && other_key.alike != first.alike, "another notification: another payment");
        let other_amount = posted(&gtk(key, "收钱码收款: 成功收款2.00元"), &n, pay(200));
        assert!(other_amount.alike != first.alike, "a new line of another amount under the same id");
        // KDE Connect's Notify carries the text only
        let kde = Notice { app: "kdeconnect/支付宝".into(), title: "收钱码收款".into(), text: "成功收款1.00元".into() };
        let p = posted(&notify("KDE Connect", "收钱码收款", "成功收款1.00元"), &kde, pay(100));
        assert!(p.exact.is_none() && p.alike.is_some());
    }

    #[test]
    fn desktop_programs_only_when_listed() {
        let user = "[[desktop]]\nchannel = \"P902\"\nids = [\"WeChat\"]\nexecutables = [\"/opt/wechat/wechat\"]\n";
        let p = Parser::new(Some(user)).unwrap();
        let call = notify("WeChat", "微信支付", "微信支付收款0.01元(朋友到店)");
        assert_eq!(pay(&p, &call), Some(Ok(Payment { channel: Channel::P902, amount: Fen(1) })));
        let claim = identify(&p, &call).unwrap();
        assert_eq!(claim.executables(&p, Payment { channel: Channel::P902, amount: Fen(1) }), vec!["/opt/wechat/wechat".to_owned()]);
        // a chat in that program
        assert!(matches!(pay(&p, &notify("WeChat", "张三", "收款9.90元")), Some(Err(NotPayment::UntrustedTitle(_)))));
    }
}

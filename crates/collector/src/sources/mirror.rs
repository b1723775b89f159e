//! Phone notifications as phone-mirroring programs show them on the
//! desktop. Each program folds the phone's (app, title, text) into a
//! desktop notification in its own way; these functions unfold them. The
//! formats, from the programs' public source:
//!
//! * KDE Connect (kdeconnect-kde `plugins/notifications/notification.cpp`,
//!   `Notification::createKNotification`): when the notification server
//!   supports the `x-kde-display-appname` hint (Plasma), summary = the
//!   phone's title (escaped in older releases), body = its text
//!   (HTML-escaped) and the hint = the phone
//!   app's name; a summary equal to the `app_name` means an empty title
//!   (KNotifications `notifybypopup.cpp` puts the app caption there).
//!   Elsewhere summary = the phone app's name and body = "title: text", or
//!   just the text when the title is empty or equals the app name, or just
//!   the title when the text is empty. KNotifications strips the markup
//!   again for servers without `body-markup`.
//! * GSConnect (`src/service/plugins/notification.js`,
//!   `_receiveNotification`): title = the phone app's name, body =
//!   "title: text", or the text when the app name equals the title. For
//!   apps it takes for SMS apps (WeChat among them) and missed calls it shows
//!   the phone's title instead of the app name, so those never name a
//!   payment app. Plain text, no markup.
//!
//! The phone app's name is its label on the phone (`支付宝`, `Alipay`,
//! `微信`), sent by KDE Connect's Android app (`AppsHelper.appNameLookup`).

/// A phone notification, unfolded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrored {
    /// The phone app's name (its label on the phone).
    pub phone_app: String,
    pub title: String,
    pub text: String,
}

/// A KDE Connect notification (`app_name`, summary, body and the
/// `x-kde-display-appname` hint when present).
pub fn kdeconnect(app_name: &str, summary: &str, body: &str, display_app: Option<&str>) -> Option<Mirrored> {
    let body = unescape(body);
    let mirrored = match display_app {
        Some(app) => {
            let title = if summary == app_name { String::new() } else { unescape(summary) };
            Mirrored { phone_app: unescape(app), title, text: body }
        }
        None => {
            let (title, text) = split(&body);
            Mirrored { phone_app: unescape(summary), title, text }
        }
    };
    (!mirrored.phone_app.trim().is_empty()).then_some(mirrored)
}

/// A GSConnect notification (GNotification title and body).
pub fn gsconnect(title: &str, body: &str) -> Option<Mirrored> {
    let (t, text) = split(body);
    (!title.trim().is_empty()).then(|| Mirrored { phone_app: title.to_owned(), title: t, text })
}

/// "title: text" → (title, text); a body without ": " is all text. The
/// split is at the last ": ", so a title only comes out whole when nothing
/// after it has another ": ": a chat sender named "支付宝通知: 张三" yields
/// the title "支付宝通知: 张三", never "支付宝通知" (a title the payment app
/// uses). A payment text with its own ": " is refused the same way: its
/// title is not one the app uses.
fn split(body: &str) -> (String, String) {
    match body.rsplit_once(": ") {
        Some((title, text)) => (title.trim().to_owned(), text.trim().to_owned()),
        None => (String::new(), body.trim().to_owned()),
    }
}

/// Undoes Qt's `toHtmlEscaped` (`&`, `<`, `>`, `"`) and the usual `'`.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&#x27;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(app: &str, title: &str, text: &str) -> Mirrored {
        Mirrored { phone_app: app.into(), title: title.into(), text: text.into() }
    }

    #[test]
    fn kdeconnect_on_plasma_with_the_display_hint() {
        let got = kdeconnect("KDE Connect", "支付宝通知", "张三通过扫码向你付款8.88元", Some("支付宝"));
        assert_eq!(got, Some(m("支付宝", "支付宝通知", "张三通过扫码向你付款8.88元")));
        // no title on the phone: KNotifications shows the app caption as the summary
        assert_eq!(kdeconnect("KDE Connect", "KDE Connect", "成功收款0.01元", Some("支付宝")), Some(m("支付宝", "", "成功收款0.01元")));
        assert_eq!(
            kdeconnect("KDE Connect", "A&amp;B", "x &lt;y&gt; &amp; &quot;z&quot;", Some("Q&amp;Q")),
            Some(m("Q&Q", "A&B", "x <y> & \"z\""))
        );
    }

    #[test]
    fn kdeconnect_elsewhere_folds_title_into_body() {
        assert_eq!(
            kdeconnect("KDE Connect", "支付宝", "支付宝通知: 张三通过扫码向你付款8.88元", None),
            Some(m("支付宝", "支付宝通知", "张三通过扫码向你付款8.88元"))
        );
        // title equal to the app name, or empty: the body is the text alone
        assert_eq!(kdeconnect("KDE Connect", "支付宝", "成功收款0.01元", None), Some(m("支付宝", "", "成功收款0.01元")));
        assert_eq!(kdeconnect("KDE Connect", "", "x", None), None);
    }

    #[test]
    fn a_chat_sender_cannot_borrow_a_payment_title() {
        let got = kdeconnect("KDE Connect", "支付宝", "支付宝通知: 张三: 成功收款8.88元", None).unwrap();
        assert_eq!(got.title, "支付宝通知: 张三");
        let got = gsconnect("微信", "张三: 微信支付: 收款8.88元").unwrap();
        assert_eq!(got.title, "张三: 微信支付");
    }

    #[test]
    fn gsconnect_format() {
        assert_eq!(gsconnect("支付宝", "收钱码收款: 成功收款0.01元"), Some(m("支付宝", "收钱码收款", "成功收款0.01元")));
        assert_eq!(gsconnect("支付宝", "成功收款0.01元"), Some(m("支付宝", "", "成功收款0.01元")));
        assert_eq!(gsconnect(" ", "成功收款0.01元"), None);
    }
}

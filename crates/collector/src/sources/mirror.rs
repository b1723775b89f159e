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
//!   again for servers without `body-markup`. The phone's package is not sent.
//! * GSConnect (`src/service/plugins/notification.js`,
//!   `_receiveNotification`; `src/service/device.js`, `showNotification`):
//!   a GNotification with title = the phone app's name and body =
//!   "title: text" (just the text when the app name equals the title),
//!   sent under the id "<device id>|<phone notification id>". For apps it
//!   takes for SMS apps (an id containing "sms", or one of its list of
//!   messengers, WeChat `com.tencent.mm` among them) and for missed calls the
//!   title is the phone's title and the body its text. Plain text.
//!   Under GNOME Shell GLib sends it as `org.gtk.Notifications.AddNotification`
//!   with that id; the phone notification id is Android's notification key
//!   "userId|package|id|tag|uid" (kdeconnect-android
//!   `getNotificationKeyCompat` → `StatusBarNotification.getKey()`), so the
//!   Android package is known exactly. GLib's freedesktop fallback drops the
//!   id; without it a GSConnect notification is never a payment (an SMS
//!   from a contact saved as "支付宝" would look like Alipay).
//!
//! KDE Connect names the phone app by its label on the phone (`支付宝`,
//! `Alipay`, `微信`), sent by kdeconnect-android (`AppsHelper.appNameLookup`).

/// A phone notification, unfolded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrored {
    /// The phone app's name (its label on the phone), as shown.
    pub phone_app: String,
    /// The phone app's Android package, when the mirroring program tells it.
    pub package: Option<String>,
    pub title: String,
    pub text: String,
}

/// A KDE Connect notification (`app_name`, summary, body and the
/// `x-kde-display-appname` hint when present).
pub fn kdeconnect(app_name: &str, summary: &str, body: &str, display_app: Option<&str>) -> Option<Mirrored> {
    let body = unescape(body);
    let mirrored = match display_app {
        Some(app) => {
            let title = if summary == app_name { String::new() } else { unescape(summary).trim().to_owned() };
            Mirrored { phone_app: unescape(app), package: None, title, text: body.trim().to_owned() }
        }
        None => {
            let (title, text) = split(&body);
            Mirrored { phone_app: unescape(summary), package: None, title, text }
        }
    };
    (!mirrored.phone_app.trim().is_empty()).then_some(mirrored)
}

/// A GSConnect notification: GNotification title and body, and the id it
/// was sent under (None when it came without one).
pub fn gsconnect(title: &str, body: &str, id: Option<&str>) -> Option<Mirrored> {
    let id = id?;
    let package = android_package(id)?;
    // GSConnect shows "SMS apps" (WeChat among them) with the phone's title.
    let key = id.split_once('|').map(|(_, key)| key).unwrap_or_default();
    let sms_like = key.contains("sms") || package == "com.tencent.mm";
    let (shown_app, t, text) = if sms_like {
        (String::new(), title.trim().to_owned(), body.trim().to_owned())
    } else {
        let (t, text) = split(body);
        (title.to_owned(), t, text)
    };
    Some(Mirrored { phone_app: shown_app, package: Some(package), title: t, text })
}

/// "<device id>|<user id>|<package>|<id>|<tag>|<uid>" (and a reply id
/// GSConnect may append) → the package. Every part is checked, from both
/// ends: the device id in KDE Connect's shape (`[A-Za-z0-9_-]`, 16 to 38
/// characters, so never one with a `|` in it), then Android's notification
/// key `user|package|id|tag|uid` (`StatusBarNotification.getKey()`):
/// digits, a package, a whole number, any tag, digits. GSConnect's own
/// notifications (a pair request: `<device>|pair-request`, whose device id
/// an unpaired device chooses) have no such key.
fn android_package(id: &str) -> Option<String> {
    let parts: Vec<&str> = id.split('|').collect();
    let mut end = parts.len();
    if end > 6 && is_uuid(parts[end - 1]) {
        end -= 1;
    }
    if end < 6 {
        return None;
    }
    let (device, user, package, number, uid) = (parts[0], parts[1], parts[2], parts[3], parts[end - 1]);
    let digits = |s: &str| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    let number_ok = digits(number.strip_prefix('-').unwrap_or(number));
    let ok = is_device_id(device) && digits(user) && crate::parser::is_android_package(package) && number_ok && digits(uid);
    ok.then(|| package.to_owned())
}

/// A KDE Connect / GSConnect device id: a UUID with `_` for `-` (and
/// around it), 32 hex digits, or an older 16-digit Android id.
fn is_device_id(s: &str) -> bool {
    (16..=38).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `6c1b2a3e-0000-4000-8000-000000000000`.
fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.bytes().enumerate().all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() })
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
        Mirrored { phone_app: app.into(), package: None, title: title.into(), text: text.into() }
    }

    fn g(package: &str, title: &str, text: &str) -> Mirrored {
        Mirrored { phone_app: String::new(), package: Some(package.into()), title: title.into(), text: text.into() }
    }

    const DEVICE: &str = "_0b3f8a1c_7d2e_4f5a_9b6c_1d2e3f4a5b6c_";

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
        let id = format!("{DEVICE}|0|com.eg.android.AlipayGphone|7|null|10123");
        let got = gsconnect("支付宝", "张三: 支付宝通知: 收款8.88元", Some(&id)).unwrap();
        assert_eq!(got.title, "张三: 支付宝通知");
    }

    #[test]
    fn gsconnect_format_names_the_android_package() {
        let alipay = format!("{DEVICE}|0|com.eg.android.AlipayGphone|1001|null|10123");
        let got = gsconnect("支付宝", "收钱码收款: 成功收款0.01元", Some(&alipay)).unwrap();
        assert_eq!(got, Mirrored { phone_app: "支付宝".into(), ..g("com.eg.android.AlipayGphone", "收钱码收款", "成功收款0.01元") });
        assert_eq!(gsconnect("支付宝", "成功收款0.01元", Some(&alipay)).unwrap().title, "");
        // WeChat is shown as an SMS app: the title is the phone's title
        let wx = format!("{DEVICE}|0|com.tencent.mm|3|null|10234");
        assert_eq!(
            gsconnect("微信支付", "微信支付收款0.01元(朋友到店)", Some(&wx)),
            Some(g("com.tencent.mm", "微信支付", "微信支付收款0.01元(朋友到店)"))
        );
        // a reply id appended by GSConnect does not matter
        let reply = format!("{alipay}|6c1b2a3e-0000-4000-8000-000000000000");
        assert_eq!(gsconnect("支付宝", "x: y", Some(&reply)).unwrap().package.as_deref(), Some("com.eg.android.AlipayGphone"));
        // a tag with a '|' in it, a negative notification id, a 32-digit device id
        let tagged = "0b3f8a1c7d2e4f5a9b6c1d2e3f4a5b6c|0|com.tencent.mm|-7|a|b|10234";
        assert_eq!(gsconnect("微信支付", "x", Some(tagged)).unwrap().package.as_deref(), Some("com.tencent.mm"));
    }

    #[test]
    fn gsconnect_without_a_package_is_nobody() {
        // an SMS from a contact saved as "支付宝", without the id (GLib's freedesktop fallback)
        assert_eq!(gsconnect("支付宝", "成功收款8.88元", None), None);
        for id in [
            "",
            "pair-request",
            &format!("{DEVICE}|pair-request"),
            &format!("{DEVICE}|x|com.eg.android.AlipayGphone|1"),
            &format!("{DEVICE}|0|支付宝|1"),
            // M5: the key cut short, or the device part not a device id
            &format!("{DEVICE}|0|com.eg.android.AlipayGphone|1"),
            &format!("{DEVICE}|0|com.eg.android.AlipayGphone|1|null"),
            &format!("{DEVICE}|0|com.eg.android.AlipayGphone|x|null|10123"),
            &format!("{DEVICE}|0|com.eg.android.AlipayGphone|1|null|u10123"),
            "x|0|com.eg.android.AlipayGphone|1|null|10123",
            "支付宝的手机一二三四五六七八九十一二三四五六|0|com.eg.android.AlipayGphone|1|null|10123",
            // an unpaired device whose chosen id carries a key, in a pair request
            &format!("{DEVICE}|0|com.eg.android.AlipayGphone|1|null|10123|pair-request"),
        ] {
            assert_eq!(gsconnect("支付宝", "成功收款8.88元", Some(id)), None, "{id}");
        }
    }
}

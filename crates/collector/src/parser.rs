//! Turning notification text into a payment: rules are data
//! (`rules.toml`, extensible by the user), the amount is taken from the
//! payment phrase, and only incoming payments count.

use jiufu_protocol::{Channel, Fen};
use regex::Regex;
use serde::Deserialize;

/// What a notification said, from any source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notice {
    /// Package name (Android), or where a desktop notification came from
    /// (`kdeconnect/支付宝`, `desktop/WeChat`), as stored with the payment.
    pub app: String,
    pub title: String,
    pub text: String,
}

/// Who a notice is from, as its source established it. The channel comes
/// from this identity only, never from words in the title or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppId<'a> {
    /// An Android package name (forwarded phone notices).
    Package(&'a str),
    /// The name a phone-mirroring app (KDE Connect, GSConnect) gives the
    /// phone app, e.g. `支付宝`.
    Phone(&'a str),
    /// A desktop program's own notification name (`app_name`, desktop entry).
    Desktop(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    pub channel: Channel,
    pub amount: Fen,
}

/// Why a notice is not a payment (shown in the rules "try it" box and logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotPayment {
    #[error("no payment app recognised")]
    UnknownApp,
    #[error("the title {0:?} is not one the payment app uses (a chat message?)")]
    UntrustedTitle(String),
    #[error("an outgoing payment, refund or similar: {0}")]
    Excluded(String),
    #[error("no incoming-payment phrase with an amount")]
    NoPhrase,
    #[error("the amount {0:?} is not valid")]
    BadAmount(String),
}

impl NotPayment {
    /// A stable name for the reason (the window translates it).
    pub fn code(&self) -> &'static str {
        match self {
            NotPayment::UnknownApp => "unknown_app",
            NotPayment::UntrustedTitle(_) => "untrusted_title",
            NotPayment::Excluded(_) => "excluded",
            NotPayment::NoPhrase => "no_phrase",
            NotPayment::BadAmount(_) => "bad_amount",
        }
    }

    /// The title, phrase or amount text the reason is about.
    pub fn detail(&self) -> &str {
        match self {
            NotPayment::UntrustedTitle(s) | NotPayment::Excluded(s) | NotPayment::BadAmount(s) => s,
            _ => "",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RuleFile {
    #[serde(default)]
    pub channel: Vec<ChannelRule>,
    #[serde(default)]
    pub exclude: Exclude,
    #[serde(default)]
    pub incoming: Vec<IncomingRule>,
    /// Phone-mirroring programs trusted on the session bus.
    #[serde(default)]
    pub mirror: Vec<MirrorRule>,
    /// Desktop payment programs trusted on the session bus.
    #[serde(default)]
    pub desktop: Vec<DesktopRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChannelRule {
    pub channel: Channel,
    /// Android package names of the channel's payment apps.
    #[serde(default)]
    pub packages: Vec<String>,
    /// The payment app's name as a phone-mirroring app shows it (the phone's
    /// app label, which follows the phone's language).
    #[serde(default)]
    pub phone_apps: Vec<String>,
    /// No longer used: a word in a title or app name never picks a channel.
    /// Still read so that older rule files load (a warning says it is ignored).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Notification titles the payment app uses. When a notice has a title,
    /// it must be one of these: a chat message whose sender is named
    /// "支付宝", or a forwarded chat in the WeChat app, is not a payment.
    #[serde(default)]
    pub titles: Vec<String>,
}

/// How a phone-mirroring program shows the phone's notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MirrorFormat {
    /// KDE Connect's desktop daemon (KNotification).
    Kdeconnect,
    /// GSConnect's daemon (GNotification).
    Gsconnect,
}

/// A phone-mirroring program: what it calls itself on the bus, and the
/// executables it runs as.
#[derive(Debug, Clone, Deserialize)]
pub struct MirrorRule {
    pub format: MirrorFormat,
    /// Its `app_name`, `x-kde-appname` / `desktop-entry` hint or GApplication id.
    pub ids: Vec<String>,
    /// Full paths of its executable (as `/proc/PID/exe` shows them).
    #[serde(default)]
    pub executables: Vec<String>,
}

/// A desktop program whose own notifications are a channel's payments.
#[derive(Debug, Clone, Deserialize)]
pub struct DesktopRule {
    pub channel: Channel,
    /// Its `app_name`, `desktop-entry` hint or GApplication id.
    pub ids: Vec<String>,
    /// Full paths of its executable (as `/proc/PID/exe` shows them).
    #[serde(default)]
    pub executables: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Exclude {
    #[serde(default)]
    pub phrases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IncomingRule {
    pub pattern: String,
    /// Only for this channel (any when absent).
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// An amount as apps write it: `0.01`, `1,234.56`, full-width digits.
const AMOUNT: &str =
    r"\s*(?P<amount>[0-9０-９]{1,3}(?:[,，][0-9０-９]{3})+(?:[.．][0-9０-９]{1,2})?|[0-9０-９]+(?:[.．][0-9０-９]{1,2})?)\s*";

pub const DEFAULT_RULES: &str = include_str!("rules.toml");

pub struct Parser {
    channels: Vec<ChannelRule>,
    exclude: Vec<String>,
    incoming: Vec<(Regex, Option<Channel>)>,
    mirrors: Vec<MirrorRule>,
    desktops: Vec<DesktopRule>,
}

impl Parser {
    /// The shipped rules, with `user` rules (same TOML shape) taking precedence.
    pub fn new(user: Option<&str>) -> anyhow::Result<Parser> {
        let mut files = Vec::new();
        if let Some(text) = user {
            files.push(toml::from_str::<RuleFile>(text).map_err(|e| anyhow::anyhow!("user rules: {e}"))?);
        }
        files.push(toml::from_str::<RuleFile>(DEFAULT_RULES).map_err(|e| anyhow::anyhow!("default rules: {e}"))?);
        let mut parser =
            Parser { channels: Vec::new(), exclude: Vec::new(), incoming: Vec::new(), mirrors: Vec::new(), desktops: Vec::new() };
        for f in files {
            if f.channel.iter().any(|c| !c.keywords.is_empty()) {
                tracing::warn!(
                    "parsing rules: `keywords` no longer pick a channel and are ignored (use packages, phone_apps or [[desktop]])"
                );
            }
            parser.channels.extend(f.channel);
            parser.mirrors.extend(f.mirror);
            parser.desktops.extend(f.desktop);
            parser.exclude.extend(f.exclude.phrases);
            for rule in f.incoming {
                let re = Regex::new(&expand(&rule.pattern)).map_err(|e| anyhow::anyhow!("pattern {:?}: {e}", rule.pattern))?;
                parser.incoming.push((re, rule.channel));
            }
        }
        Ok(parser)
    }

    /// The rule of the channel an app identity belongs to: exact names only.
    fn rule(&self, app: AppId<'_>) -> Option<&ChannelRule> {
        match app {
            AppId::Package(p) => self.channels.iter().find(|r| r.packages.iter().any(|k| k == p)),
            AppId::Phone(name) => self.channels.iter().find(|r| r.phone_apps.iter().any(|k| k == name)),
            AppId::Desktop(id) => {
                let channel = self.desktops.iter().find(|d| d.ids.iter().any(|k| k == id))?.channel;
                self.channels.iter().find(|r| r.channel == channel)
            }
        }
    }

    /// The channel of a forwarded phone notice (`notice.app` is its package).
    pub fn channel(&self, notice: &Notice) -> Option<Channel> {
        self.rule(AppId::Package(&notice.app)).map(|r| r.channel)
    }

    /// The channel of a desktop program's own notifications, if it is a
    /// payment program.
    pub fn desktop_channel(&self, id: &str) -> Option<Channel> {
        self.desktops.iter().find(|d| d.ids.iter().any(|k| k == id)).map(|d| d.channel)
    }

    /// The mirroring programs that call themselves any of `ids`.
    pub fn mirrors<'a>(&'a self, ids: &'a [&str]) -> impl Iterator<Item = &'a MirrorRule> + 'a {
        self.mirrors.iter().filter(move |m| m.ids.iter().any(|k| ids.contains(&k.as_str())))
    }

    /// The executables allowed to send `channel`'s notifications as desktop program `id`.
    pub fn desktop_executables(&self, id: &str, channel: Channel) -> Vec<String> {
        self.desktops.iter().filter(|d| d.channel == channel && d.ids.iter().any(|k| k == id)).flat_map(|d| d.executables.clone()).collect()
    }

    /// A forwarded phone notice (`notice.app` is its Android package).
    pub fn parse(&self, notice: &Notice) -> Result<Payment, NotPayment> {
        self.parse_as(AppId::Package(&notice.app), notice)
    }

    /// A notice from the app its source identified: the channel is that
    /// app's; the title must be one the app uses; the text must say money came in.
    pub fn parse_as(&self, app: AppId<'_>, notice: &Notice) -> Result<Payment, NotPayment> {
        let rule = self.rule(app).ok_or(NotPayment::UnknownApp)?;
        let channel = rule.channel;
        // "[3条]微信收款助手" is the same title as "微信收款助手".
        let title = strip_count(notice.title.trim());
        if !title.is_empty() && !rule.titles.is_empty() && !rule.titles.iter().any(|t| t == title) {
            return Err(NotPayment::UntrustedTitle(title.to_owned()));
        }
        let text = format!("{} {}", notice.title, notice.text);
        if let Some(phrase) = self.exclude.iter().find(|p| text.contains(p.as_str())) {
            return Err(NotPayment::Excluded(phrase.clone()));
        }
        // The payment phrase that comes first in the text wins, whichever rule found it.
        let found = self
            .incoming
            .iter()
            .filter(|(_, only)| only.is_none_or(|c| c == channel))
            .filter_map(|(re, _)| re.captures(&text).and_then(|c| c.name("amount")))
            .min_by_key(|m| m.start());
        let m = found.ok_or(NotPayment::NoPhrase)?;
        let amount = parse_amount(m.as_str()).ok_or_else(|| NotPayment::BadAmount(m.as_str().to_owned()))?;
        Ok(Payment { channel, amount })
    }
}

/// `[3条]标题` → `标题`.
fn strip_count(title: &str) -> &str {
    if let Some(rest) = title.strip_prefix('[')
        && let Some((count, after)) = rest.split_once(']')
        && count.trim_end_matches('条').chars().all(|c| c.is_ascii_digit())
    {
        return after.trim();
    }
    title
}

/// `1,234.56` / `１．００` / `0.1` → fen.
pub fn parse_amount(raw: &str) -> Option<Fen> {
    let ascii: String = raw
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' => '.',
            c => c,
        })
        .collect();
    Fen::parse_yuan(&ascii).ok()
}

/// A rule's pattern with `{amount}` turned into the amount group.
fn expand(pattern: &str) -> String {
    pattern.replace("{amount}", AMOUNT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(app: &str, title: &str, text: &str) -> Notice {
        Notice { app: app.into(), title: title.into(), text: text.into() }
    }

    fn pay(app: &str, title: &str, text: &str) -> Result<Payment, NotPayment> {
        Parser::new(None).unwrap().parse(&notice(app, title, text))
    }

    const ALIPAY: &str = "com.eg.android.AlipayGphone";
    const WECHAT: &str = "com.tencent.mm";

    #[test]
    fn contract_vectors_incoming() {
        let cases = [
            (ALIPAY, "支付宝通知", "张三通过扫码向你付款0.01元", Channel::P901, 1),
            (ALIPAY, "收钱码收款", "成功收款0.01元。享免费提现等更多专属服务，点击查看", Channel::P901, 1),
            (ALIPAY, "收钱码收款", "你已成功收款0.01元（老顾客消费）", Channel::P901, 1),
            (WECHAT, "微信支付", "微信支付收款0.01元(朋友到店)", Channel::P902, 1),
            (WECHAT, "微信收款助手", "个人收款码到账¥0.01", Channel::P902, 1),
            (WECHAT, "微信收款商业版", "二维码赞赏到账¥0.01", Channel::P902, 1),
            ("com.tencent.mobileqq", "QQ钱包", "李四通过扫码向你付款0.01元", Channel::P903, 1),
            ("com.unionpay", "云闪付", "您的云闪付收款码收款0.01元", Channel::P904, 1),
        ];
        for (app, title, text, channel, fen) in cases {
            assert_eq!(pay(app, title, text), Ok(Payment { channel, amount: Fen(fen) }), "{text}");
        }
    }

    #[test]
    fn amounts_in_their_many_forms() {
        assert_eq!(pay(ALIPAY, "", "成功收款1,234.56元").unwrap().amount, Fen(123_456));
        assert_eq!(pay(WECHAT, "", "个人收款码到账￥1,234.56").unwrap().amount, Fen(123_456));
        assert_eq!(pay(ALIPAY, "", "成功收款１２.３４元").unwrap().amount, Fen(1234));
        assert_eq!(pay(ALIPAY, "", "成功收款12．3元").unwrap().amount, Fen(1230));
        assert_eq!(pay(ALIPAY, "", "成功收款 9.99 元").unwrap().amount, Fen(999));
        // the payment's amount, not the last or first number in the text
        assert_eq!(pay(WECHAT, "[3条]微信收款助手", "个人收款码到账¥5.20，今日第12笔，累计100.00元").unwrap().amount, Fen(520));
        assert_eq!(pay(ALIPAY, "收钱码收款", "2024-05-01 成功收款8.88元，余额1000.00元").unwrap().amount, Fen(888));
        assert_eq!(pay(WECHAT, "微信收款助手", "到账¥5.20，本月收款100.00元").unwrap().amount, Fen(520));
    }

    #[test]
    fn contract_vectors_negative() {
        assert!(matches!(pay(ALIPAY, "支付宝", "你已成功付款0.01元"), Err(NotPayment::Excluded(_))));
        assert!(matches!(pay(ALIPAY, "支付宝", "支付宝：您有一笔0.01元的退款"), Err(NotPayment::Excluded(_))));
        assert_eq!(pay(WECHAT, "[3条]微信支付", "收款到账通知"), Err(NotPayment::NoPhrase));
        assert_eq!(pay("com.example.game", "福利", "成功收款0.01元"), Err(NotPayment::UnknownApp));
        assert!(pay(WECHAT, "微信支付", "付款成功 ¥5.00").is_err());
        assert!(pay(WECHAT, "微信支付", "你已转账给张三5.00元").is_err());
        assert!(pay(ALIPAY, "支付宝", "双十一红包，最高可得888元！").is_err());
        assert!(pay(ALIPAY, "支付宝", "成功收款0.001元").is_err());
        // chats and summaries
        assert!(matches!(pay(WECHAT, "张三", "收款9.90元"), Err(NotPayment::UntrustedTitle(_))));
        assert!(matches!(pay("com.tencent.mobileqq", "李四", "成功收款1.00元"), Err(NotPayment::UntrustedTitle(_))));
        assert!(pay(ALIPAY, "支付宝", "提现到账100.00元").is_err());
        assert!(pay(ALIPAY, "支付宝", "余额宝收益到账0.52元").is_err());
        assert!(pay(WECHAT, "微信支付", "昨日收款¥300.00，共12笔").is_err());
    }

    #[test]
    fn the_channel_comes_from_the_app_never_from_words() {
        let p = Parser::new(None).unwrap();
        // S2: a chat titled like a payment app, from any app that is not one
        for app in ["org.telegram.messenger", "Telegram", "支付宝", "Alipay", "微信支付", ""] {
            assert_eq!(p.parse(&notice(app, "支付宝通知", "张三通过扫码向你付款8.88元")), Err(NotPayment::UnknownApp), "{app}");
        }
        for app in ["Telegram", "org.telegram.desktop", "KDE Connect", "支付宝通知"] {
            let n = notice("x", "支付宝通知", "张三通过扫码向你付款8.88元");
            assert_eq!(p.parse_as(AppId::Phone(app), &n), Err(NotPayment::UnknownApp), "{app}");
            assert_eq!(p.parse_as(AppId::Desktop(app), &n), Err(NotPayment::UnknownApp), "{app}");
        }
        // the phone app a mirroring app names, by its label in either language
        let n = notice("kdeconnect/支付宝", "支付宝通知", "张三通过扫码向你付款8.88元");
        assert_eq!(p.parse_as(AppId::Phone("支付宝"), &n), Ok(Payment { channel: Channel::P901, amount: Fen(888) }));
        assert_eq!(p.parse_as(AppId::Phone("Alipay"), &n), Ok(Payment { channel: Channel::P901, amount: Fen(888) }));
        let wx = notice("kdeconnect/微信", "微信支付", "微信支付收款0.01元(朋友到店)");
        assert_eq!(p.parse_as(AppId::Phone("微信"), &wx), Ok(Payment { channel: Channel::P902, amount: Fen(1) }));
        // a chat inside the payment app still needs the app's own title
        let chat = notice("kdeconnect/微信", "张三", "收款9.90元");
        assert!(matches!(p.parse_as(AppId::Phone("微信"), &chat), Err(NotPayment::UntrustedTitle(_))));
        // no desktop payment program is trusted out of the box
        assert_eq!(p.desktop_channel("WeChat"), None);
    }

    #[test]
    fn user_rules_add_apps_and_keywords_are_ignored() {
        let user = r#"
            [[channel]]
            channel = "P902"
            packages = ["com.example.wxhelper"]
            keywords = ["Telegram", "支付宝"]
            [[incoming]]
            pattern = "入账{amount}元"
            [[desktop]]
            channel = "P901"
            ids = ["org.example.AlipayDesktop"]
            executables = ["/opt/alipay/alipay"]
            [[mirror]]
            format = "kdeconnect"
            ids = ["KDE Connect"]
            executables = ["/opt/kdeconnect/kdeconnectd"]
        "#;
        let p = Parser::new(Some(user)).unwrap();
        assert_eq!(p.parse(&notice("com.example.wxhelper", "", "入账3.00元")), Ok(Payment { channel: Channel::P902, amount: Fen(300) }));
        assert_eq!(p.parse(&notice("Telegram", "支付宝", "入账3.00元")), Err(NotPayment::UnknownApp));
        let n = notice("desktop/org.example.AlipayDesktop", "收钱码收款", "成功收款1.00元");
        assert_eq!(p.parse_as(AppId::Desktop("org.example.AlipayDesktop"), &n), Ok(Payment { channel: Channel::P901, amount: Fen(100) }));
        assert_eq!(p.desktop_executables("org.example.AlipayDesktop", Channel::P901), vec!["/opt/alipay/alipay".to_owned()]);
        assert!(p.desktop_executables("org.example.AlipayDesktop", Channel::P902).is_empty());
        // the user's mirror entry and the shipped one both name KDE Connect
        let exes: Vec<String> = p.mirrors(&["KDE Connect"]).flat_map(|m| m.executables.clone()).collect();
        assert!(exes.contains(&"/opt/kdeconnect/kdeconnectd".to_owned()) && exes.contains(&"/usr/bin/kdeconnectd".to_owned()), "{exes:?}");
        assert_eq!(p.mirrors(&["Telegram"]).count(), 0);
        assert!(Parser::new(Some("[[incoming]]\npattern = \"(\"")).is_err());
        assert!(Parser::new(Some("[[mirror]]\nformat = \"phonelink\"\nids = [\"x\"]")).is_err());
    }
}

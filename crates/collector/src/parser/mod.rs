//! Turning notification text into a payment. Rules are data
//! (`rules.toml`, extensible by the user): who a notice is from decides the
//! channel (identity before wording), then the text must state money
//! received, and the amount is the one that statement names.

mod rules;

pub use rules::{ChannelRule, DesktopRule, Exclude, IncomingRule, MirrorFormat, MirrorRule, RuleFile, SmsApps};

use jiufu_protocol::{Channel, Fen};
use regex::Regex;

/// What a notification said, from any source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notice {
    /// Package name (Android), the SMS sender, or where a desktop
    /// notification came from (`kdeconnect/支付宝`, `desktop/WeChat`), as
    /// stored with the payment.
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
    /// An SMS, by its sender (`95588`).
    Sms(&'a str),
    /// The name a phone-mirroring app (KDE Connect, GSConnect) gives the
    /// phone app, e.g. `支付宝`.
    Phone(&'a str),
    /// A desktop program's own notification name (`app_name`, desktop entry).
    Desktop(&'a str),
}

impl<'a> AppId<'a> {
    /// What a forwarder's `from` names: an Android package (it has a dot and
    /// no spaces) or else an SMS sender.
    pub fn forwarded(from: &'a str) -> AppId<'a> {
        let from = from.trim();
        if is_android_package(from) { AppId::Package(from) } else { AppId::Sms(from) }
    }
}

/// Whether `name` has the shape of an Android package (`com.tencent.mm`):
/// a dot, and only letters, digits, dots and underscores.
pub fn is_android_package(name: &str) -> bool {
    name.contains('.') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
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

/// An amount as apps and banks write it: `0.01`, `1,234.56`, full-width digits.
const AMOUNT: &str = r"[0-9０-９]{1,3}(?:[,，][0-9０-９]{3})+(?:[.．][0-9０-９]{1,2})?|[0-9０-９]+(?:[.．][0-9０-９]{1,2})?";

/// After an amount: not another digit, nor a decimal point with digits
/// (so `¥1.001` is no amount at all rather than `1.00`).
const AMOUNT_END: &str = r"(?:[^0-9０-９.．]|[.．][^0-9０-９]|[.．]?$)";

/// `{money}`: an amount with its currency before (`¥`, `￥`, `人民币`,
/// `RMB`, `CNY`, `金额为`) or `元` after; the two spellings capture `amount` and `yuan`.
fn money() -> String {
    format!(r"(?:(?:人民币|RMB|CNY|[¥￥]|金额[为是：:]?)\s*(?P<amount>{AMOUNT}){AMOUNT_END}|(?P<yuan>{AMOUNT})\s*元)")
}

/// `{gap}`: one character between a phrase and its amount: no digit or
/// decimal point (an amount is never taken from inside a number), no end
/// of sentence or line, never into 余额 (the balance).
const GAP: &str = r"(?:[^0-9０-９.．。\n余]|余[^额0-9０-９]|余额宝)";

pub const DEFAULT_RULES: &str = include_str!("rules.toml");

pub struct Parser {
    channels: Vec<ChannelRule>,
    exclude: Vec<String>,
    anywhere: Vec<Regex>,
    incoming: Vec<(Regex, Option<Channel>)>,
    mirrors: Vec<MirrorRule>,
    desktops: Vec<DesktopRule>,
    sms_apps: SmsApps,
}

impl Parser {
    /// The shipped rules, with `user` rules (same TOML shape) taking precedence.
    pub fn new(user: Option<&str>) -> anyhow::Result<Parser> {
        let mut files = Vec::new();
        if let Some(text) = user {
            files.push(toml::from_str::<RuleFile>(text).map_err(|e| anyhow::anyhow!("user rules: {e}"))?);
        }
        files.push(toml::from_str::<RuleFile>(DEFAULT_RULES).map_err(|e| anyhow::anyhow!("default rules: {e}"))?);
        let mut parser = Parser {
            channels: Vec::new(),
            exclude: Vec::new(),
            anywhere: Vec::new(),
            incoming: Vec::new(),
            mirrors: Vec::new(),
            desktops: Vec::new(),
            sms_apps: SmsApps::default(),
        };
        for f in files {
            if f.channel.iter().any(|c| !c.keywords.is_empty()) {
                tracing::warn!(
                    "parsing rules: `keywords` no longer pick a channel and are ignored (use packages, phone_apps, senders or [[desktop]])"
                );
            }
            parser.channels.extend(f.channel);
            parser.mirrors.extend(f.mirror);
            parser.desktops.extend(f.desktop);
            parser.sms_apps.packages.extend(f.sms_apps.packages);
            parser.sms_apps.phone_apps.extend(f.sms_apps.phone_apps);
            parser.exclude.extend(f.exclude.phrases);
            for pattern in f.exclude.anywhere {
                parser.anywhere.push(Regex::new(&pattern).map_err(|e| anyhow::anyhow!("exclude pattern {pattern:?}: {e}"))?);
            }
            for rule in f.incoming {
                let re = Regex::new(&expand(&rule.pattern)).map_err(|e| anyhow::anyhow!("pattern {:?}: {e}", rule.pattern))?;
                if re.capture_names().flatten().all(|n| n != "amount" && n != "yuan") {
                    anyhow::bail!("pattern {:?} has no {{money}} or {{amount}}", rule.pattern);
                }
                parser.incoming.push((re, rule.channel));
            }
        }
        Ok(parser)
    }

    /// The group an app identity belongs to: exact names only.
    fn rule(&self, app: AppId<'_>) -> Option<&ChannelRule> {
        match app {
            AppId::Package(p) => self.channels.iter().find(|r| r.packages.iter().any(|k| k == p)),
            AppId::Sms(sender) => {
                let sender = normalise_sender(sender);
                self.channels.iter().find(|r| r.senders.contains(&sender))
            }
            AppId::Phone(name) => self.channels.iter().find(|r| r.phone_apps.iter().any(|k| k == name)),
            AppId::Desktop(id) => {
                let channel = self.desktops.iter().find(|d| d.ids.iter().any(|k| k == id))?.channel;
                self.channels.iter().find(|r| r.channel == channel)
            }
        }
    }

    /// The channel of a forwarded phone notice (`notice.app` is its package or SMS sender).
    pub fn channel(&self, notice: &Notice) -> Option<Channel> {
        self.rule(AppId::forwarded(&notice.app)).map(|r| r.channel)
    }

    /// Whether a mirrored phone app (by package or label) is the phone's SMS app.
    pub fn is_sms_app(&self, package: Option<&str>, label: &str) -> bool {
        match package {
            Some(p) => self.sms_apps.packages.iter().any(|k| k == p),
            None => self.sms_apps.phone_apps.iter().any(|k| k == label),
        }
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

    /// A forwarded phone notice (`notice.app` is its Android package or SMS sender).
    pub fn parse(&self, notice: &Notice) -> Result<Payment, NotPayment> {
        self.parse_as(AppId::forwarded(&notice.app), notice)
    }

    /// A notice from the app its source identified: the channel is that
    /// app's; the title must be one the app uses (or the statement itself);
    /// the text must say money came in, and nothing before its amount may
    /// say otherwise.
    pub fn parse_as(&self, app: AppId<'_>, notice: &Notice) -> Result<Payment, NotPayment> {
        let rule = self.rule(app).ok_or(NotPayment::UnknownApp)?;
        let channel = rule.channel;
        // "[3条]微信收款助手" is the same title as "微信收款助手".
        // An SMS has no title (a mirrored one shows its sender there).
        let title = if matches!(app, AppId::Sms(_)) { "" } else { strip_count(notice.title.trim()) };
        let text = format!("{title}\n{}", notice.text.trim());
        if let Some(m) = self.anywhere.iter().find_map(|re| re.find(&text)) {
            return Err(NotPayment::Excluded(m.as_str().to_owned()));
        }
        // The payment statement that comes first, whichever rule found it.
        let found = self
            .incoming
            .iter()
            .filter(|(_, only)| only.is_none_or(|c| c == channel))
            .filter_map(|(re, _)| re.captures(&text))
            .filter_map(|c| Some((c.get(0)?.start(), c.name("amount").or_else(|| c.name("yuan"))?)))
            .min_by_key(|(_, m)| (m.start(), m.end()));
        // The title is checked once the statement is known: a title that is
        // itself the statement ("你已成功收款0.05元") is the app's own.
        let title_is_statement = found.is_some_and(|(_, m)| m.end() <= title.len());
        if !title.is_empty() && !rule.titles.is_empty() && !title_is_statement && !rule.titles.iter().any(|t| t == title) {
            return Err(NotPayment::UntrustedTitle(title.to_owned()));
        }
        let (start, m) = found.ok_or(NotPayment::NoPhrase)?;
        // What the notice says up to the amount, and for the app's own
        // exclusions (a bank's 支出, 转出) up to the statement: "收入(跨行转出)"
        // names how money came in.
        let (through_amount, before_statement) = (&text[..m.end()], &text[..start]);
        let excluded = self.exclude.iter().find(|p| through_amount.contains(p.as_str()));
        if let Some(phrase) = excluded.or_else(|| rule.exclude.iter().find(|p| before_statement.contains(p.as_str()))) {
            return Err(NotPayment::Excluded(phrase.clone()));
        }
        let amount = m.as_str();
        let amount = parse_amount(amount).filter(|a| a.0 > 0).ok_or_else(|| NotPayment::BadAmount(amount.to_owned()))?;
        Ok(Payment { channel, amount })
    }
}

/// "+86 95588" / "95588 " → "95588".
fn normalise_sender(sender: &str) -> String {
    let s: String = sender.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    s.strip_prefix("+86").map(str::to_owned).unwrap_or(s)
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

/// A rule's pattern with `{money}` and `{amount}` expanded.
fn expand(pattern: &str) -> String {
    // A bare amount at the very end of a pattern must not stop inside a
    // longer number; elsewhere what follows it in the pattern sees to that.
    let end = if pattern.ends_with("{amount}") { AMOUNT_END } else { "" };
    pattern.replace("{money}", &money()).replace("{gap}", GAP).replace("{amount}", &format!(r"\s*(?P<amount>{AMOUNT}){end}"))
}

#[cfg(test)]
mod tests;

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
    /// What a forwarder's `from` names, given the notice's `title` as the
    /// forwarder laid it out: an Android package (it has a dot and no
    /// spaces), or else an SMS sender. A package-shaped name short enough to
    /// be an SMS's alphanumeric sender id (`cmb.pb`, `com.icbc`: anyone can
    /// send an SMS under one) is an app only with an app's title; an SMS
    /// has none, or its SIM slot (`SIM1_…`), which the forwarder writes.
    pub fn forwarded(from: &'a str, title: &str) -> AppId<'a> {
        let from = from.trim();
        let title = title.trim();
        let app_title = !title.is_empty() && !is_sim_slot(title);
        if is_android_package(from) && (from.chars().count() > MAX_SENDER_ID_CHARS || app_title) {
            AppId::Package(from)
        } else {
            AppId::Sms(from)
        }
    }
}

/// The longest alphanumeric SMS sender id (GSM 03.40: 11 characters).
pub const MAX_SENDER_ID_CHARS: usize = 11;

/// SmsForwarder's title line for an SMS: the SIM slot, `SIM1_中国移动_…`.
pub fn is_sim_slot(title: &str) -> bool {
    let t = title.trim();
    t.strip_prefix("SIM").is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()) && rest.contains('_'))
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
    #[error("a chat line from {0:?}, not from the payment app's own account")]
    ChatLine(String),
    #[error("the title {0:?} is one any chat group can take, and the text is not in the payment app's own form")]
    UnofficialText(String),
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
            NotPayment::ChatLine(_) => "chat_line",
            NotPayment::UnofficialText(_) => "unofficial_text",
            NotPayment::Excluded(_) => "excluded",
            NotPayment::NoPhrase => "no_phrase",
            NotPayment::BadAmount(_) => "bad_amount",
        }
    }

    /// The title, phrase or amount text the reason is about.
    pub fn detail(&self) -> &str {
        match self {
            NotPayment::UntrustedTitle(s)
            | NotPayment::ChatLine(s)
            | NotPayment::UnofficialText(s)
            | NotPayment::Excluded(s)
            | NotPayment::BadAmount(s) => s,
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

/// A channel rule with its regular expressions compiled.
struct Group {
    rule: ChannelRule,
    shapes: Vec<Regex>,
    account_shapes: Vec<(String, Vec<Regex>)>,
    title_statements: Vec<Regex>,
}

impl Group {
    fn new(rule: ChannelRule) -> anyhow::Result<Group> {
        let compile = |patterns: &[String], whole: bool| {
            patterns
                .iter()
                .map(|p| {
                    let re = if whole { format!("^(?:{})$", expand(p)) } else { format!("^(?:{})", expand(p)) };
                    Regex::new(&re).map_err(|e| anyhow::anyhow!("pattern {p:?}: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        };
        let shapes = compile(&rule.shapes, false)?;
        let account_shapes =
            rule.account_shapes.iter().map(|(who, p)| Ok((who.clone(), compile(p, false)?))).collect::<anyhow::Result<Vec<_>>>()?;
        let title_statements = compile(&rule.title_statements, true)?;
        Ok(Group { rule, shapes, account_shapes, title_statements })
    }

    /// An app that also carries chats.
    fn carries_chats(&self) -> bool {
        !self.rule.titles.is_empty()
    }

    /// `text` without the chat-line prefixes of the app's own accounts
    /// (`[3条]微信支付: …`), and the last account named; a chat line from
    /// anyone else is refused.
    fn unprefixed<'t>(&self, text: &'t str) -> Result<(&'t str, Option<&'t str>), NotPayment> {
        let mut rest = strip_count(text.trim());
        let mut account = None;
        while let Some((name, after)) = speaker(rest) {
            if !self.rule.accounts.iter().any(|a| a == name) {
                return Err(NotPayment::ChatLine(name.to_owned()));
            }
            account = Some(name);
            rest = strip_count(after.trim());
        }
        Ok((rest, account))
    }

    /// Whether `text` is in one of the app's shapes, or one of the shapes
    /// of an account named by the title or the chat line's speaker.
    fn in_shape(&self, text: &str, names: &[&str]) -> bool {
        self.shapes.iter().any(|re| re.is_match(text))
            || self.account_shapes.iter().any(|(who, res)| names.contains(&who.as_str()) && res.iter().any(|re| re.is_match(text)))
    }
}

pub struct Parser {
    channels: Vec<Group>,
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
            for rule in f.channel {
                parser.channels.push(Group::new(rule)?);
            }
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
    fn rule(&self, app: AppId<'_>) -> Option<&Group> {
        let mut groups = self.channels.iter();
        match app {
            AppId::Package(p) => groups.find(|g| g.rule.packages.iter().any(|k| k == p)),
            AppId::Sms(sender) => {
                let sender = normalise_sender(sender);
                groups.find(|g| g.rule.senders.contains(&sender))
            }
            AppId::Phone(name) => groups.find(|g| g.rule.phone_apps.iter().any(|k| k == name)),
            AppId::Desktop(id) => {
                let channel = self.desktops.iter().find(|d| d.ids.iter().any(|k| k == id))?.channel;
                groups.find(|g| g.rule.channel == channel)
            }
        }
    }

    /// The channel of a forwarded phone notice (`notice.app` is its package or SMS sender).
    pub fn channel(&self, notice: &Notice) -> Option<Channel> {
        self.rule(AppId::forwarded(&notice.app, &notice.title)).map(|g| g.rule.channel)
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
        self.parse_as(AppId::forwarded(&notice.app, &notice.title), notice)
    }

    /// A notice from the app its source identified: the channel is that
    /// app's; for an app that carries chats, the title must be one the app
    /// uses (or exactly the statement form it writes as a title), a
    /// chat-line text must come from one of the app's own accounts, and the
    /// text must be in one of the app's own shapes; the text
    /// must say money came in, and nothing before its amount may say
    /// otherwise.
    pub fn parse_as(&self, app: AppId<'_>, notice: &Notice) -> Result<Payment, NotPayment> {
        let group = self.rule(app).ok_or(NotPayment::UnknownApp)?;
        let rule = &group.rule;
        let channel = rule.channel;
        // "[3条]微信收款助手" is the same title as "微信收款助手".
        // An SMS has no title (a mirrored one shows its sender there).
        let title = if matches!(app, AppId::Sms(_)) { "" } else { strip_count(notice.title.trim()) };
        let body = notice.text.trim();
        let text = format!("{title}\n{body}");
        if group.carries_chats() {
            let (rest, account) = group.unprefixed(body)?;
            let title_statement = group.title_statements.iter().any(|re| re.is_match(title));
            if !title.is_empty() && !title_statement && !rule.titles.iter().any(|t| t == title) {
                return Err(NotPayment::UntrustedTitle(title.to_owned()));
            }
            // Any title can be a contact's or a group's name, and a group
            // member can take an official account's name: only the app's
            // own text shapes count (a refund or the like says so first).
            let names = [title, account.unwrap_or_default()];
            let has_shapes = !group.shapes.is_empty() || !group.account_shapes.is_empty();
            if has_shapes && !group.in_shape(rest, &names) {
                return Err(match self.exclude.iter().find(|p| text.contains(p.as_str())) {
                    Some(phrase) => NotPayment::Excluded(phrase.clone()),
                    None => NotPayment::UnofficialText(title.to_owned()),
                });
            }
        }
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

/// A chat line's speaker: `name: text` / `name：text` → (name, text). The
/// first colon ends the name (a name with a colon in it reads as two
/// speakers, each checked); a colon between two digits is a clock time,
/// not a speaker's.
fn speaker(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let (at, sep) = text.char_indices().find(|&(i, c)| {
        c == '：' || (c == ':' && !(i > 0 && bytes[i - 1].is_ascii_digit() && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
    })?;
    let name = text[..at].trim();
    // A speaker is named on the text's first line, before anything else.
    if name.contains('\n') {
        return None;
    }
    Some((name, &text[at + sep.len_utf8()..]))
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

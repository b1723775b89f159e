//! The shape of a rules file (`rules.toml` and the user's own file).

use jiufu_protocol::Channel;
use serde::Deserialize;

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
    /// Phone SMS apps: a mirrored notification from one is an SMS whose
    /// title is its sender.
    #[serde(default)]
    pub sms_apps: SmsApps,
}

/// A group of apps (or SMS senders) whose notices are one channel's payments.
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelRule {
    pub channel: Channel,
    /// What the group is (shown in logs and the window), e.g. "支付宝".
    #[serde(default)]
    pub name: String,
    /// Android package names.
    #[serde(default)]
    pub packages: Vec<String>,
    /// The app's name as a phone-mirroring app shows it (the phone's app
    /// label, which follows the phone's language).
    #[serde(default)]
    pub phone_apps: Vec<String>,
    /// SMS senders (the number exactly as the phone shows it, e.g. 95588).
    #[serde(default)]
    pub senders: Vec<String>,
    /// No longer used: a word in a title or app name never picks a channel.
    /// Still read so that older rule files load (a warning says it is ignored).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// For apps that also carry chats: the titles the app's payment notices
    /// use. A notice with another title counts only when the whole title is
    /// one of `title_statements` ("你已成功收款0.05元"): a chat from a
    /// friend, whose title is the friend's name, is never a payment.
    #[serde(default)]
    pub titles: Vec<String>,
    /// For apps that also carry chats: the app's own official accounts. A
    /// text shaped like a chat line (`[3条]name: …`, `name：…`) counts only
    /// when `name` is one of these: in a group, every member's line is
    /// shown as `member: text`, under a group name anyone can set.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// The app's own text shapes (regular expressions matched at the start
    /// of the text, `{money}` / `{amount}` as in `[[incoming]]`). Where an
    /// app has any, every notice of it must be in one of them, under any
    /// title and after any official account's chat prefix: a contact or a
    /// group member named like an official account (`微信支付`) must still
    /// write exactly as the app does.
    #[serde(default)]
    pub shapes: Vec<String>,
    /// Shapes one official account writes in and no other (微信收款商业版's
    /// bare "收款23.50元"): they count only under that account's name, as
    /// the title or as the chat line's speaker.
    #[serde(default)]
    pub account_shapes: std::collections::BTreeMap<String, Vec<String>>,
    /// Whole titles that are themselves the payment statement, exactly as
    /// the app writes them (regular expressions matched against the whole
    /// title); the text must then start in one of `shapes`.
    #[serde(default)]
    pub title_statements: Vec<String>,
    /// Phrases that, before the payment statement, make a notice of this
    /// group not a payment received (e.g. a bank's 支出, 消费; "收入(跨行转出)"
    /// is still money in).
    #[serde(default)]
    pub exclude: Vec<String>,
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

/// The phone's SMS apps, by package and by label.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct SmsApps {
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub phone_apps: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Exclude {
    /// Phrases that, anywhere before the end of the payment's amount, mean
    /// it is not money received (付款成功, 退款, 花呗 …). Text after the
    /// amount (adverts: "享免费提现…") does not count.
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Regular expressions that, anywhere in the notice, mean it is not one
    /// payment (verification codes, "收到2笔" summaries).
    #[serde(default)]
    pub anywhere: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IncomingRule {
    /// A regular expression; `{money}` stands for an amount with its
    /// currency (`¥1.00`, `人民币1.00`, `1.00元`), `{amount}` for a bare one.
    pub pattern: String,
    /// Only for this channel (any when absent).
    #[serde(default)]
    pub channel: Option<Channel>,
}

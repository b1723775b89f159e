//! A private D-Bus session bus with a tiny notification daemon, so a
//! desktop notification can be sent exactly as a real app sends it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zbus::zvariant::OwnedValue;

pub struct SessionBus {
    pub address: String,
    daemon: Child,
    notifications: zbus::Connection,
    shown: Arc<Mutex<Vec<Shown>>>,
    reply_delay_ms: Arc<AtomicU64>,
}

/// A notification the daemon was asked to show.
#[derive(Debug, Clone)]
pub struct Shown {
    pub id: u32,
    pub app: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
}

struct FakeNotificationDaemon {
    shown: Arc<Mutex<Vec<Shown>>>,
    reply_delay_ms: Arc<AtomicU64>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeNotificationDaemon {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        app_name: &str,
        _replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        body: &str,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let id = {
            let mut shown = self.shown.lock().expect("notifications");
            let id = shown.len() as u32 + 1;
            shown.push(Shown { id, app: app_name.into(), summary: summary.into(), body: body.into(), actions });
            id
        };
        let delay = self.reply_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("jiufu-test".into(), "jiufu".into(), "1.0".into(), "1.2".into())
    }
}

/// GNOME Shell's `org.gtk.Notifications`, where GNotification sends under
/// GNOME (GLib `gio/ggtknotificationbackend.c`).
struct FakeGtkNotifications {
    reply_delay_ms: Arc<AtomicU64>,
}

#[zbus::interface(name = "org.gtk.Notifications")]
impl FakeGtkNotifications {
    async fn add_notification(&self, _app_id: &str, _id: &str, _notification: HashMap<String, OwnedValue>) {
        let delay = self.reply_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }

    fn remove_notification(&self, _app_id: &str, _id: &str) {}
}

impl SessionBus {
    pub async fn start() -> SessionBus {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon (apt-get install dbus)");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout")).read_line(&mut line).expect("bus address");
        let address = line.trim().to_owned();
        let shown: Arc<Mutex<Vec<Shown>>> = Default::default();
        let reply_delay_ms: Arc<AtomicU64> = Default::default();
        let daemon_state = FakeNotificationDaemon { shown: shown.clone(), reply_delay_ms: reply_delay_ms.clone() };
        let notifications = zbus::connection::Builder::address(address.as_str())
            .expect("address")
            .name("org.freedesktop.Notifications")
            .expect("name")
            .serve_at("/org/freedesktop/Notifications", daemon_state)
            .expect("serve")
            .name("org.gtk.Notifications")
            .expect("name")
            .serve_at("/org/gtk/Notifications", FakeGtkNotifications { reply_delay_ms: reply_delay_ms.clone() })
            .expect("serve")
            .build()
            .await
            .expect("notification daemon on the bus");
        SessionBus { address, daemon, notifications, shown, reply_delay_ms }
    }

    /// The daemon answers `Notify` only after `delay`; the sender stays on
    /// the bus until then, as a long-running program (kdeconnectd) does.
    pub fn set_reply_delay(&self, delay: Duration) {
        self.reply_delay_ms.store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// What the notification daemon was asked to show, in order.
    pub fn shown(&self) -> Vec<Shown> {
        self.shown.lock().expect("notifications").clone()
    }

    /// The user clicks notification `id`: the daemon emits `ActionInvoked`
    /// with the default action, as a desktop does.
    pub async fn click(&self, id: u32) {
        self.notifications
            .emit_signal(None::<()>, "/org/freedesktop/Notifications", "org.freedesktop.Notifications", "ActionInvoked", &(id, "default"))
            .await
            .expect("ActionInvoked");
    }

    /// Sends a notification with `gdbus`, as any desktop app would.
    pub fn notify(&self, app: &str, summary: &str, body: &str) {
        self.notify_as(Path::new("gdbus"), app, summary, body, "{}");
    }

    /// Sends a notification from `program` (`gdbus`, or a copy of it
    /// elsewhere) with `hints` in GVariant text, e.g.
    /// `{'x-kde-appname': <'kdeconnect'>}`.
    pub fn notify_as(&self, program: &Path, app: &str, summary: &str, body: &str, hints: &str) {
        let status = Command::new(program)
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.Notifications",
                "--object-path",
                "/org/freedesktop/Notifications",
                "--method",
                "org.freedesktop.Notifications.Notify",
                "--",
                app,
                "0",
                "",
                summary,
                body,
                "[]",
                hints,
                "5000",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .status()
            .expect("run gdbus");
        assert!(status.success(), "gdbus call failed");
    }
}

/// The full path of `gdbus` (symlinks resolved), as `/proc/PID/exe` shows it.
pub fn gdbus_path() -> std::path::PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("gdbus")).find(|p| p.is_file()))
        .expect("gdbus on PATH (apt-get install libglib2.0-bin)");
    std::fs::canonicalize(found).expect("gdbus path")
}

/// Collector rules in which `gdbus` stands in for kdeconnectd, KDE
/// Connect's desktop daemon: its executable is allow-listed for KDE
/// Connect's notifications, as kdeconnectd's is by default. (A test cannot
/// pair a phone; gdbus sends exactly what kdeconnectd sends on the bus.)
pub fn gdbus_as_kdeconnectd_rules() -> String {
    format!("[[mirror]]\nformat = \"kdeconnect\"\nids = [\"kdeconnect\"]\nexecutables = [{:?}]\n", gdbus_path().display().to_string())
}

/// The same for GSConnect's daemon (a gjs program by default).
pub fn gdbus_as_gsconnect_rules() -> String {
    let gdbus = gdbus_path().display().to_string();
    format!("[[mirror]]\nformat = \"gsconnect\"\nids = [\"org.gnome.Shell.Extensions.GSConnect\"]\nexecutables = [{gdbus:?}]\n")
}

impl SessionBus {
    /// A phone notification as GSConnect shows it under GNOME Shell: a
    /// GNotification (title = the phone app, body = "title: text") added
    /// under "<device id>|<Android notification key>".
    pub fn notify_gsconnect(&self, program: &Path, phone_app: &str, body: &str, android_key: &str) {
        let id = format!("_0b3f8a1c_7d2e_4f5a_9b6c_1d2e3f4a5b6c_|{android_key}");
        let notification = format!("{{'title': <'{phone_app}'>, 'body': <'{body}'>, 'priority': <'normal'>}}");
        let status = Command::new(program)
            .args(["call", "--session", "--dest", "org.gtk.Notifications", "--object-path", "/org/gtk/Notifications"])
            .args(["--method", "org.gtk.Notifications.AddNotification", "--", "org.gnome.Shell.Extensions.GSConnect", &id, &notification])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .status()
            .expect("run gdbus");
        assert!(status.success(), "gdbus call failed");
    }

    /// A phone notification as KDE Connect shows it on Plasma: summary =
    /// the phone's title, body = its text, the hint x-kde-display-appname =
    /// the phone app (kdeconnect-kde plugins/notifications/notification.cpp).
    pub fn notify_kdeconnect(&self, program: &Path, phone_app: &str, title: &str, text: &str) {
        let hints =
            format!("{{'x-kde-appname': <'kdeconnect'>, 'x-kde-display-appname': <'{phone_app}'>, 'x-kde-origin-name': <'Phone'>}}");
        self.notify_as(program, "KDE Connect", title, text, &hints);
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A phone-mirroring daemon played by this test process: one connection
/// that stays on the bus (as kdeconnectd and GSConnect's daemon do) and
/// sends each phone notification exactly as the daemon would. The
/// collector's rules allow-list this test's executable for both formats.
pub struct MirrorDaemon(zbus::Connection);

impl MirrorDaemon {
    pub async fn connect(bus: &SessionBus) -> MirrorDaemon {
        let conn = zbus::connection::Builder::address(bus.address.as_str()).expect("address").build().await.expect("connect");
        MirrorDaemon(conn)
    }

    /// Rules that trust this process as kdeconnectd and as GSConnect's daemon.
    pub fn rules() -> String {
        let exe = std::fs::canonicalize(std::env::current_exe().expect("exe")).expect("exe path").display().to_string();
        format!(
            "[[mirror]]\nformat = \"kdeconnect\"\nids = [\"kdeconnect\"]\nexecutables = [{exe:?}]\n\
             [[mirror]]\nformat = \"gsconnect\"\nids = [\"org.gnome.Shell.Extensions.GSConnect\"]\nexecutables = [{exe:?}]\n"
        )
    }

    /// KDE Connect on Plasma (kdeconnect-kde `notification.cpp`): summary =
    /// the phone's title, body = its text HTML-escaped, hints naming the
    /// phone app by its label.
    pub async fn kdeconnect(&self, phone_app: &str, title: &str, text: &str) {
        let mut hints: HashMap<&str, zbus::zvariant::Value<'_>> = HashMap::new();
        hints.insert("x-kde-appname", "kdeconnect".into());
        hints.insert("x-kde-display-appname", phone_app.into());
        hints.insert("x-kde-origin-name", "Phone".into());
        let body = html_escape(text);
        let summary = if title.is_empty() { "KDE Connect" } else { title };
        let args = ("KDE Connect", 0u32, "", summary, body.as_str(), Vec::<String>::new(), hints, -1i32);
        self.0
            .call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.Notifications"),
                "Notify",
                &args,
            )
            .await
            .expect("Notify");
    }

    /// GSConnect under GNOME Shell (`notification.js`, GLib's
    /// `ggtknotificationbackend.c`): a GNotification under
    /// "<device>|<Android notification key>"; title = the phone app's label
    /// and body = "title: text", except for WeChat (one of its messengers),
    /// shown with the phone's own title and text.
    pub async fn gsconnect(&self, package: &str, phone_app: &str, title: &str, text: &str) {
        let key = format!("0|{package}|{}|null|10{}", rand_id(), rand_id() % 1000);
        self.gsconnect_keyed(&key, package, phone_app, title, text).await;
    }

    /// [`MirrorDaemon::gsconnect`] under a given Android notification key
    /// (`0|package|id|tag|uid`): the same key again is the same phone
    /// notification (re-posted, or re-mirrored after a reconnect).
    pub async fn gsconnect_keyed(&self, key: &str, package: &str, phone_app: &str, title: &str, text: &str) {
        let id = format!("0b3f8a1c7d2e4f5a9b6c1d2e3f4a5b6c|{key}");
        let (shown_title, body) = if package == "com.tencent.mm" {
            (title.to_owned(), text.to_owned())
        } else if title.is_empty() || title == phone_app {
            (phone_app.to_owned(), text.to_owned())
        } else {
            (phone_app.to_owned(), format!("{title}: {text}"))
        };
        let mut n: HashMap<&str, zbus::zvariant::Value<'_>> = HashMap::new();
        n.insert("title", shown_title.as_str().into());
        n.insert("body", body.as_str().into());
        n.insert("priority", "normal".into());
        let args = ("org.gnome.Shell.Extensions.GSConnect", id.as_str(), n);
        self.0
            .call_method(Some("org.gtk.Notifications"), "/org/gtk/Notifications", Some("org.gtk.Notifications"), "AddNotification", &args)
            .await
            .expect("AddNotification");
    }
}

fn rand_id() -> u32 {
    static NEXT: AtomicU64 = AtomicU64::new(1000);
    NEXT.fetch_add(1, Ordering::Relaxed) as u32
}

/// Qt's `toHtmlEscaped`.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

//! A private D-Bus session bus with a tiny notification daemon, so a
//! desktop notification can be sent exactly as a real app sends it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use zbus::zvariant::OwnedValue;

pub struct SessionBus {
    pub address: String,
    daemon: Child,
    notifications: zbus::Connection,
    shown: Arc<Mutex<Vec<Shown>>>,
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
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeNotificationDaemon {
    #[allow(clippy::too_many_arguments)]
    fn notify(
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
        let mut shown = self.shown.lock().expect("notifications");
        let id = shown.len() as u32 + 1;
        shown.push(Shown { id, app: app_name.into(), summary: summary.into(), body: body.into(), actions });
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
        let notifications = zbus::connection::Builder::address(address.as_str())
            .expect("address")
            .name("org.freedesktop.Notifications")
            .expect("name")
            .serve_at("/org/freedesktop/Notifications", FakeNotificationDaemon { shown: shown.clone() })
            .expect("serve")
            .build()
            .await
            .expect("notification daemon on the bus");
        SessionBus { address, daemon, notifications, shown }
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
        let status = Command::new("gdbus")
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
                "{}",
                "5000",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .status()
            .expect("run gdbus");
        assert!(status.success(), "gdbus call failed");
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

//! Which program sent a message on the session bus. The bus daemon knows
//! each connection's process (`org.freedesktop.DBus.GetConnectionCredentials`);
//! its executable is read from `/proc/PID/exe` and checked against an
//! allow-list of full paths. Asked on an ordinary connection of its own:
//! the monitoring connection never sends.
//!
//! What cannot be verified is refused: a sender that has already left the
//! bus (a short-lived `notify-send`), a bus that does not say which process
//! sent the message, a process of another user, a `/proc` entry that cannot
//! be read. The phone-mirroring daemons stay connected for as long as they
//! run, so their messages can always be checked.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zbus::fdo::DBusProxy;
use zbus::names::{BusName, UniqueName};

/// How long the bus may take to say who a sender is.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the bus about senders.
pub struct Senders {
    bus: DBusProxy<'static>,
    own_uid: Option<u32>,
}

impl Senders {
    /// A new, ordinary connection to the session bus.
    pub async fn connect() -> anyhow::Result<Senders> {
        Senders::on(&zbus::connection::Builder::session()?.build().await?).await
    }

    /// Asks on `conn`, which must not be a monitoring connection.
    pub async fn on(conn: &zbus::Connection) -> anyhow::Result<Senders> {
        Ok(Senders { bus: DBusProxy::new(conn).await?, own_uid: own_uid() })
    }

    /// The executable of the process behind `sender`, or why it cannot be known.
    pub async fn executable(&self, sender: &UniqueName<'_>) -> Result<PathBuf, String> {
        let name = BusName::Unique(sender.to_owned());
        let creds = tokio::time::timeout(ASK_TIMEOUT, self.bus.get_connection_credentials(name.clone()))
            .await
            .map_err(|_| "the bus did not say who sent it in time".to_owned())?;
        let creds = match creds {
            Ok(c) => c,
            Err(zbus::fdo::Error::NameHasNoOwner(_)) => return Err(format!("{sender} left the bus before it could be checked")),
            // An older bus: the process id alone.
            Err(_) => {
                let pid = tokio::time::timeout(ASK_TIMEOUT, self.bus.get_connection_unix_process_id(name))
                    .await
                    .map_err(|_| "the bus did not say who sent it in time".to_owned())?
                    .map_err(|e| format!("the bus does not say which process {sender} is: {e}"))?;
                zbus::fdo::ConnectionCredentials::default().set_process_id(pid)
            }
        };
        if let (Some(theirs), Some(ours)) = (creds.unix_user_id(), self.own_uid)
            && theirs != ours
        {
            return Err(format!("{sender} runs as another user (uid {theirs})"));
        }
        // The pidfd pins the process: if it is still alive after the read, the
        // pid was not reused by another program in between.
        let pidfd = creds.process_fd().map(|fd| fd.as_raw_fd());
        let pid = match pidfd {
            Some(fd) => pidfd_pid(fd).ok_or_else(|| format!("{sender}'s process has exited"))?,
            None => creds.process_id().ok_or_else(|| format!("the bus does not say which process {sender} is"))?,
        };
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|e| format!("cannot read the program of process {pid}: {e}"))?;
        if let Some(fd) = pidfd
            && pidfd_pid(fd) != Some(pid)
        {
            return Err(format!("process {pid} exited while it was checked"));
        }
        Ok(strip_deleted(exe))
    }
}

/// Whether `exe` is one of `allowed` (full paths; a listed path that is a
/// symlink, such as `/usr/bin/gjs`, also stands for its target).
pub fn allowed(exe: &Path, allowed: &[String]) -> bool {
    allowed.iter().map(Path::new).filter(|a| a.is_absolute()).any(|a| a == exe || std::fs::canonicalize(a).is_ok_and(|c| c == exe))
}

/// A program replaced on disk while running (an upgrade) shows as
/// "/usr/bin/x (deleted)"; it was still started from that path.
fn strip_deleted(exe: PathBuf) -> PathBuf {
    match exe.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(s) => PathBuf::from(s),
        None => exe,
    }
}

/// The pid a pidfd refers to (`Pid:` in its fdinfo), None once it has exited.
fn pidfd_pid(fd: i32) -> Option<u32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    let pid: i64 = info.lines().find_map(|l| l.strip_prefix("Pid:"))?.trim().parse().ok()?;
    u32::try_from(pid).ok().filter(|p| *p > 0)
}

fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_is_by_full_path() {
        let list = vec!["/usr/bin/kdeconnectd".to_owned(), "kdeconnectd".to_owned()];
        assert!(allowed(Path::new("/usr/bin/kdeconnectd"), &list));
        // a copy elsewhere with the same name is not the allowed program
        assert!(!allowed(Path::new("/tmp/x/kdeconnectd"), &list));
        assert!(!allowed(Path::new("kdeconnectd"), &list));
        assert!(!allowed(Path::new("/usr/bin/kdeconnectd"), &[]));
    }

    #[test]
    fn a_listed_symlink_stands_for_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("gjs-console");
        std::fs::write(&target, b"").unwrap();
        let link = dir.path().join("gjs");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let target = std::fs::canonicalize(&target).unwrap();
        assert!(allowed(&target, &[link.display().to_string()]));
    }

    #[test]
    fn upgraded_programs_keep_their_path() {
        assert_eq!(strip_deleted(PathBuf::from("/usr/bin/kdeconnectd (deleted)")), PathBuf::from("/usr/bin/kdeconnectd"));
        assert_eq!(strip_deleted(PathBuf::from("/usr/bin/gjs-console")), PathBuf::from("/usr/bin/gjs-console"));
    }

    /// A private bus (`dbus-daemon`, as the end-to-end tests use).
    struct Bus(std::process::Child, String);

    impl Bus {
        fn start() -> Bus {
            use std::io::BufRead;
            let mut child = std::process::Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--print-address=1"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("dbus-daemon (apt-get install dbus)");
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
            Bus(child, line.trim().to_owned())
        }

        async fn connect(&self) -> zbus::Connection {
            zbus::connection::Builder::address(self.1.as_str()).unwrap().build().await.unwrap()
        }
    }

    impl Drop for Bus {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[tokio::test]
    async fn a_sender_is_known_while_connected_and_refused_once_gone() {
        let bus = Bus::start();
        let senders = Senders::on(&bus.connect().await).await.unwrap();
        let sender = bus.connect().await;
        let name = sender.unique_name().unwrap().to_owned();
        assert_eq!(senders.executable(&name).await, Ok(strip_deleted(std::fs::read_link("/proc/self/exe").unwrap())));
        sender.close().await.unwrap();
        // The daemon handles the hang-up in its own time: wait until it has.
        let asker = DBusProxy::new(&bus.connect().await).await.unwrap();
        let bus_name = BusName::Unique(name.clone().into());
        for _ in 0..500 {
            if !asker.name_has_owner(bus_name.clone()).await.unwrap() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let gone = senders.executable(&name).await.unwrap_err();
        assert!(gone.contains("left the bus"), "{gone}");
        let never: UniqueName<'_> = ":1.4242".try_into().unwrap();
        assert!(senders.executable(&never).await.is_err());
    }

    #[test]
    fn own_process_is_readable() {
        assert!(own_uid().is_some());
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        assert_eq!(exe, std::env::current_exe().unwrap());
    }
}

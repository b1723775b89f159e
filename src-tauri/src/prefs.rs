//! The window's own preferences (language, starting minimised to the
//! tray, starting at login), kept by the core (`Collector::ui_prefs`);
//! here the login entry they ask for (an XDG autostart entry).

use jiufu_collector::Collector;
use jiufu_collector::model::UiPrefs;
use jiufu_collector::operator::{OperatorError, Result};
use std::path::PathBuf;

/// Saves the window's preferences through the core, after writing or
/// removing the login entry they ask for.
pub async fn save(c: &Collector, p: &UiPrefs) -> Result<()> {
    Collector::check_ui_prefs(p)?;
    set_autostart(p.autostart).map_err(|e| OperatorError::new("autostart_failed", e.to_string()))?;
    c.save_ui_prefs(p).await
}

fn autostart_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("autostart/jiufu-desktop.desktop"))
}

/// Writes or removes the login entry; it starts the app minimised, with
/// the same store as now.
fn set_autostart(on: bool) -> anyhow::Result<()> {
    let Some(file) = autostart_file() else { anyhow::bail!("no HOME or XDG_CONFIG_HOME") };
    if !on {
        return match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        };
    }
    let exe = std::env::current_exe()?;
    let db = std::env::var("JIUFU_COLLECTOR_DB").ok().filter(|d| !d.is_empty());
    let env = db.map(|d| format!("env JIUFU_COLLECTOR_DB={} ", quote(&d))).unwrap_or_default();
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=就付收款助手\nName[en]=Jiufu Collector\nComment=Matches incoming payments to orders\nExec={env}{} --minimised\nX-GNOME-Autostart-enabled=true\n",
        quote(&exe.display().to_string())
    );
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&file, entry)?;
    Ok(())
}

/// Quoting for an Exec= argument (the desktop entry spec's rules).
fn quote(s: &str) -> String {
    let escaped: String = s.chars().flat_map(|c| if matches!(c, '"' | '`' | '$' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn exec_arguments_are_quoted() {
        assert_eq!(super::quote("/opt/就付 app/$x"), "\"/opt/就付 app/\\$x\"");
    }
}

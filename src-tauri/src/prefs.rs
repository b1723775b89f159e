//! The window's own preferences, kept in the collector's settings table:
//! language, starting minimised to the tray, starting at login (an XDG
//! autostart entry).

use jiufu_collector::Collector;
use jiufu_collector::operator::{OperatorError, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

const LANGUAGE: &str = "ui_language";
const START_MINIMISED: &str = "ui_start_minimised";
const AUTOSTART: &str = "ui_autostart";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// `zh-CN` or `en`.
    pub language: String,
    pub start_minimised: bool,
    pub autostart: bool,
}

pub async fn load(c: &Collector) -> Result<Prefs> {
    let flag = |v: Option<String>| v.is_some_and(|v| v == "true");
    Ok(Prefs {
        language: c.db.setting(LANGUAGE).await?.filter(|l| l == "en").unwrap_or_else(|| "zh-CN".into()),
        start_minimised: flag(c.db.setting(START_MINIMISED).await?),
        autostart: flag(c.db.setting(AUTOSTART).await?),
    })
}

pub async fn save(c: &Collector, p: &Prefs) -> Result<()> {
    if p.language != "zh-CN" && p.language != "en" {
        return Err(OperatorError::new("bad_language", "the language is zh-CN or en"));
    }
    set_autostart(p.autostart).map_err(|e| OperatorError::new("autostart_failed", e.to_string()))?;
    let values = vec![
        (LANGUAGE.to_owned(), p.language.clone()),
        (START_MINIMISED.to_owned(), p.start_minimised.to_string()),
        (AUTOSTART.to_owned(), p.autostart.to_string()),
    ];
    c.db.set_settings(values).await?;
    Ok(())
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

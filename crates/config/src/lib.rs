//! What the two binaries share about their setup, each in one place:
//! - [`Layers`]: configuration layered defaults → TOML file → `JIUFU_*`
//!   environment (figment underneath), every setting under one file key and
//!   one variable; errors name where a bad value came from, never the
//!   value of a secret;
//! - [`parse_bool`] / [`flag`]: the one reading of a yes/no setting;
//! - [`init_logging`]: the one logging setup (tracing, to stderr, `JIUFU_LOG`).
//!
//! Each binary keeps its own typed `Config` and builds it from [`Layers`]:
//! this crate knows the layering, not the settings.

use anyhow::{Context, bail};
use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use std::path::{Path, PathBuf};

/// One setting: its key in the TOML file, its environment variable, and
/// its default (`None`: unset, or computed by the binary from others).
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    pub var: &'static str,
    pub default: Option<&'static str>,
}

impl Setting {
    pub const fn new(key: &'static str, var: &'static str, default: Option<&'static str>) -> Setting {
        Setting { key, var, default }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Not given anywhere (its default, if it has one).
    Default,
    /// The TOML file.
    File(PathBuf),
    /// The environment variable.
    Env,
}

const DEFAULTS: &str = "default";
const ENVIRONMENT: &str = "environment";

/// The settings of one binary, layered: defaults, then the TOML file (if
/// any), then the environment; a later layer wins. An environment variable
/// set to the empty string counts as unset (as it always has).
pub struct Layers {
    figment: Figment,
    file: Option<PathBuf>,
}

impl Layers {
    /// `settings` from `file` (if given) and the process environment.
    pub fn load(settings: &[Setting], file: Option<&Path>) -> anyhow::Result<Layers> {
        Layers::load_with(settings, file, |var| std::env::var(var).ok())
    }

    /// As [`Layers::load`], with `env` standing for the environment.
    pub fn load_with(settings: &[Setting], file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Layers> {
        let defaults = settings.iter().filter_map(|s| Some((s.key.to_owned(), Value::from(s.default?.to_owned())))).collect();
        let mut figment = Figment::from(Layer { name: DEFAULTS, dict: defaults });
        if let Some(path) = file {
            // Read first: a missing file is an error, not an empty layer.
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let toml = Toml::file_exact(path);
            let data = toml.data().map_err(|e| invalid_file(path, &e))?;
            for key in data.values().flat_map(|dict| dict.keys()) {
                if !settings.iter().any(|s| s.key == key) {
                    let known: Vec<&str> = settings.iter().map(|s| s.key).collect();
                    bail!("{} is not a valid configuration: unknown setting `{key}` (known: {})", path.display(), known.join(", "));
                }
            }
            figment = figment.merge(toml);
        }
        let vars = settings.iter().filter_map(|s| Some((s.key.to_owned(), Value::from(env(s.var).filter(|v| !v.is_empty())?)))).collect();
        figment = figment.merge(Layer { name: ENVIRONMENT, dict: vars });
        Ok(Layers { figment, file: file.map(Path::to_path_buf) })
    }

    /// The setting's value as text (a TOML number or boolean as written,
    /// a TOML array joined by commas), or `None` when unset.
    pub fn text(&self, s: &Setting) -> anyhow::Result<Option<String>> {
        let Ok(value) = self.figment.find_value(s.key) else { return Ok(None) };
        let text = match value {
            Value::Array(_, items) => items
                .iter()
                .map(|v| scalar(v).with_context(|| format!("{} must be a list of plain values", self.name(s))))
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            v => scalar(&v).with_context(|| format!("{} must be a plain value, not a table", self.name(s)))?,
        };
        Ok(Some(text))
    }

    /// A yes/no setting ([`parse_bool`]); `None` when unset.
    pub fn flag(&self, s: &Setting) -> anyhow::Result<Option<bool>> {
        self.text(s)?.map(|v| flag(&self.name(s), &v)).transpose()
    }

    /// Where the setting's value came from.
    pub fn origin(&self, s: &Setting) -> Origin {
        match self.figment.find_metadata(s.key) {
            Some(m) if m.name == ENVIRONMENT => Origin::Env,
            Some(m) if m.name == DEFAULTS => Origin::Default,
            Some(_) => self.file.clone().map_or(Origin::Default, Origin::File),
            None => Origin::Default,
        }
    }

    /// The file or the environment set it (not just its default).
    pub fn is_set(&self, s: &Setting) -> bool {
        self.origin(s) != Origin::Default
    }

    /// How an error names the setting: its variable, or its key in the
    /// file when the value came from there.
    pub fn name(&self, s: &Setting) -> String {
        match self.origin(s) {
            Origin::File(path) => format!("`{}` in {}", s.key, path.display()),
            Origin::Env | Origin::Default => s.var.to_owned(),
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(_, s) => s.clone(),
        Value::Char(_, c) => c.to_string(),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => match (n.to_u128(), n.to_i128()) {
            (Some(u), _) => u.to_string(),
            (None, Some(i)) => i.to_string(),
            (None, None) => n.to_f64()?.to_string(),
        },
        Value::Empty(..) | Value::Dict(..) | Value::Array(..) => return None,
    })
}

/// A file that does not parse: the parser's position and reason, without
/// the quoted line (it may hold a password).
fn invalid_file(path: &Path, e: &figment::Error) -> anyhow::Error {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let reason = match (lines.first(), lines.last()) {
        (Some(first), Some(last)) if lines.len() > 1 && !last.contains('|') => format!("{first}: {last}"),
        (Some(first), _) => (*first).to_owned(),
        _ => "unreadable".to_owned(),
    };
    anyhow::anyhow!("{} is not a valid configuration: {reason}", path.display())
}

/// A layer of plain key → value pairs (the defaults, the environment).
struct Layer {
    name: &'static str,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// The one reading of a yes/no value: `1/true/yes/on` and `0/false/no/off`
/// in any case (surrounding spaces ignored); anything else is `None`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// [`parse_bool`], refusing anything else with the setting's name.
pub fn flag(name: &str, text: &str) -> anyhow::Result<bool> {
    parse_bool(text).with_context(|| format!("{name} {text:?} is not true or false (1/true/yes/on or 0/false/no/off)"))
}

/// Logs to stderr with tracing (timestamp, level, target, the event's
/// fields), coloured only on a terminal, filtered by `filter` (tracing's
/// `EnvFilter` syntax, from the binary's `log` setting) or else by
/// `JIUFU_LOG`; a filter that does not parse means `info`. Both binaries
/// and the desktop app set logging up only through this. Nothing logs a
/// secret: keys and device secrets are `Secret` (redacted in `Debug`),
/// database URLs go through the gateway's `redact_url`.
pub fn init_logging(filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(text) => EnvFilter::try_new(text).ok(),
        None => EnvFilter::try_from_env("JIUFU_LOG").ok(),
    };
    // A second call (an app that restarts its core) keeps the first setup.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter.unwrap_or_else(|| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

#[cfg(test)]
mod tests;

//! Secrets that cannot end up in logs by accident.

use std::fmt;

/// A secret string (merchant key, device secret). `Debug` and `Display`
/// print a placeholder; the value is reached only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// A new random secret of 32 URL-safe characters (~190 bits).
    pub fn generate() -> Self {
        Secret(crate::ids::random_token(24))
    }

    /// The shortest key or secret a person may choose (generated ones are longer).
    pub const MIN_LEN: usize = 16;

    /// A secret a person chose: at least [`Secret::MIN_LEN`] characters,
    /// printable, no spaces (they get lost when copied between apps).
    pub fn parse(value: &str) -> Result<Secret, String> {
        let value = value.trim_end_matches(['\r', '\n']);
        if value.chars().count() < Self::MIN_LEN {
            return Err(format!("must be at least {} characters (a generated one has 32)", Self::MIN_LEN));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        Ok(Secret(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

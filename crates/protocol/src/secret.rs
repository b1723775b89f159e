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

//! Time: epoch seconds everywhere inside (read from the domain's injected
//! clock, `crate::domain::Clock`), local wall-clock text at the edges.

use chrono::TimeZone;

/// `YYYY-MM-DD HH:MM:SS` in `tz`.
pub fn format(epoch: i64, tz: chrono_tz::Tz) -> String {
    match tz.timestamp_opt(epoch, 0).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shanghai_wall_clock() {
        assert_eq!(super::format(1_700_000_000, chrono_tz::Asia::Shanghai), "2023-11-15 06:13:20");
    }
}

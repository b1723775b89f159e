//! How the model's words and ids sit in columns: an observation's status,
//! a queue item's kind and who saw a payment as the same lowercase text
//! they always were; ids as their text, parsed again when read.

use crate::model::{ObservationStatus, OutboxKind, SeenBy};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// The words of `items` as an SQL list of literals, `'a', 'b'`, for query
/// text (fixed words, never user input).
pub(crate) fn sql_list<T: Copy + std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", ")
}

macro_rules! word_column {
    ($($name:ty),+) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$name> {
                value.as_str()?.parse().map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}

word_column!(ObservationStatus, OutboxKind);

impl ToSql for SeenBy {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for SeenBy {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<SeenBy> {
        value.as_str()?.parse().map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// A word read from a text column and parsed (for the protocol's words,
/// which cannot be columns themselves here).
pub(crate) fn word<T: std::str::FromStr>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(i)?;
    text.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

/// An id read from a text column and parsed again (`T: TryFrom<String>`).
pub(crate) struct IdCol<T>(pub T);

impl<T: TryFrom<String, Error = &'static str>> FromSql for IdCol<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<IdCol<T>> {
        T::try_from(value.as_str()?.to_owned()).map(IdCol).map_err(|e| FromSqlError::Other(e.into()))
    }
}

/// An optional id column.
pub(crate) fn opt_id<T: TryFrom<String, Error = &'static str>>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<T>> {
    Ok(r.get::<_, Option<IdCol<T>>>(i)?.map(|c| c.0))
}

/// A required id column.
pub(crate) fn id<T: TryFrom<String, Error = &'static str>>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
    Ok(r.get::<_, IdCol<T>>(i)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiufu_protocol::ObservationId;

    #[test]
    fn words_and_ids_round_trip_through_sql() {
        assert_eq!(sql_list(ObservationStatus::TAKES_ORDER), "'matched', 'confirmed'");
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let back: ObservationStatus = conn.query_row("SELECT ?1", [ObservationStatus::Duplicate], |r| r.get(0)).unwrap();
        assert_eq!(back, ObservationStatus::Duplicate);
        assert!(conn.query_row("SELECT 'weird'", [], |r| r.get::<_, OutboxKind>(0)).is_err());
        let seen: SeenBy = conn.query_row("SELECT 'smsforwarder:unsigned'", [], |r| r.get(0)).unwrap();
        assert_eq!(seen.to_string(), "smsforwarder:unsigned");
        let obs: ObservationId = conn.query_row("SELECT 'obs_abc'", [], |r| id(r, 0)).unwrap();
        assert_eq!(obs, "obs_abc");
        assert!(conn.query_row("SELECT 'not an id'", [], |r| id::<ObservationId>(r, 0)).is_err());
        assert_eq!(conn.query_row("SELECT NULL", [], |r| opt_id::<ObservationId>(r, 0)).unwrap(), None);
        let kind: jiufu_protocol::collector::SourceKind = conn.query_row("SELECT 'smsforwarder'", [], |r| word(r, 0)).unwrap();
        assert_eq!(kind, jiufu_protocol::collector::SourceKind::SmsForwarder);
    }
}

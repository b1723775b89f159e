//! Column conversions both SQLite stores share: money as integer fen,
//! channels as their codes, order states as their numbers, ids as their
//! text or number. A value the program does not know (or could never have
//! written) is an error naming it, never a guess.

use jiufu_protocol::{Channel, Fen, MerchantId, OrderId, OrderNo, OrderState};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A channel column (`P901`…).
pub struct ChannelCol(pub Channel);

impl FromSql for ChannelCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        s.parse().map(ChannelCol).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

impl ToSql for ChannelCol {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.code()))
    }
}

/// An order state column (its number).
pub struct StateCol(pub OrderState);

impl FromSql for StateCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let v = value.as_i64()?;
        i32::try_from(v).ok().and_then(OrderState::from_code).map(StateCol).ok_or(FromSqlError::OutOfRange(v))
    }
}

impl ToSql for StateCol {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.code()))
    }
}

/// A money column: integer fen.
pub struct FenCol(pub Fen);

impl FromSql for FenCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value.as_i64().map(|v| FenCol(Fen(v)))
    }
}

impl ToSql for FenCol {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.0))
    }
}

/// An order id column, parsed by its own rules when read back.
pub struct OrderIdCol(pub OrderId);

impl FromSql for OrderIdCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        OrderId::try_from(value.as_str()?.to_owned()).map(OrderIdCol).map_err(|e| FromSqlError::Other(e.into()))
    }
}

/// An order number column.
pub struct OrderNoCol(pub OrderNo);

impl FromSql for OrderNoCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        OrderNo::parse(value.as_str()?).map(OrderNoCol).map_err(|e| FromSqlError::Other(e.into()))
    }
}

/// A merchant id column (a positive number).
pub struct MerchantIdCol(pub MerchantId);

impl FromSql for MerchantIdCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let v = value.as_i64()?;
        MerchantId::new(v).map(MerchantIdCol).ok_or(FromSqlError::OutOfRange(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_unknown_values() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let (ch, st, fen): (ChannelCol, StateCol, FenCol) = conn
            .query_row("SELECT ?1, ?2, ?3", (ChannelCol(Channel::P904), StateCol(OrderState::Claimed), FenCol(Fen(1234))), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((ch.0, st.0, fen.0), (Channel::P904, OrderState::Claimed, Fen(1234)));
        assert!(conn.query_row("SELECT 'P999'", [], |r| r.get::<_, ChannelCol>(0)).is_err());
        assert!(conn.query_row("SELECT 3", [], |r| r.get::<_, StateCol>(0)).is_err());
    }

    #[test]
    fn ids_round_trip_and_refuse_what_was_never_written() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let id = OrderId::generate();
        let no = OrderNo::parse("A-1").unwrap();
        let merchant = MerchantId::new(7).unwrap();
        let (a, b, c): (OrderIdCol, OrderNoCol, MerchantIdCol) = conn
            .query_row("SELECT ?1, ?2, ?3", (id.as_str(), no.as_str(), merchant.get()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        assert_eq!((a.0, b.0, c.0), (id, no, merchant));
        assert!(conn.query_row("SELECT 'a b'", [], |r| r.get::<_, OrderNoCol>(0)).is_err());
        assert!(conn.query_row("SELECT 'short'", [], |r| r.get::<_, OrderIdCol>(0)).is_err());
        assert!(conn.query_row("SELECT 0", [], |r| r.get::<_, MerchantIdCol>(0)).is_err());
    }
}

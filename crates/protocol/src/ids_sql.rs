//! The ids as database columns: written as their text or number, and
//! parsed by their own rules when read back, so a row holding something
//! this program could never have written is an error, not a value.

use crate::{MerchantId, OrderId, OrderNo};

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

    impl FromSql for OrderId {
        fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
            OrderId::try_from(value.as_str()?.to_owned()).map_err(|e| FromSqlError::Other(e.into()))
        }
    }

    impl ToSql for OrderId {
        fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
            Ok(ToSqlOutput::from(self.as_str()))
        }
    }

    impl FromSql for OrderNo {
        fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
            OrderNo::parse(value.as_str()?).map_err(|e| FromSqlError::Other(e.into()))
        }
    }

    impl ToSql for OrderNo {
        fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
            Ok(ToSqlOutput::from(self.as_str()))
        }
    }

    impl FromSql for MerchantId {
        fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
            let v = value.as_i64()?;
            MerchantId::new(v).ok_or(FromSqlError::OutOfRange(v))
        }
    }

    impl ToSql for MerchantId {
        fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
            Ok(ToSqlOutput::from(self.get()))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trip_and_refuse_what_was_never_written() {
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            let id = OrderId::generate();
            let no = OrderNo::parse("A-1").unwrap();
            let merchant = MerchantId::new(7).unwrap();
            let back: (OrderId, OrderNo, MerchantId) =
                conn.query_row("SELECT ?1, ?2, ?3", (&id, &no, merchant), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
            assert_eq!(back, (id, no, merchant));
            assert!(conn.query_row("SELECT 'a b'", [], |r| r.get::<_, OrderNo>(0)).is_err());
            assert!(conn.query_row("SELECT 'short'", [], |r| r.get::<_, OrderId>(0)).is_err());
            assert!(conn.query_row("SELECT 0", [], |r| r.get::<_, MerchantId>(0)).is_err());
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use bytes::BytesMut;
    use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error;

    type BoxError = Box<dyn Error + Sync + Send>;

    impl<'a> FromSql<'a> for OrderId {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            OrderId::parse(<&str>::from_sql(ty, raw)?).ok_or_else(|| "not an order id this program writes".into())
        }
        fn accepts(ty: &Type) -> bool {
            <&str as FromSql>::accepts(ty)
        }
    }

    impl ToSql for OrderId {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            self.as_str().to_sql(ty, out)
        }
        fn accepts(ty: &Type) -> bool {
            <&str as ToSql>::accepts(ty)
        }
        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for OrderNo {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            Ok(OrderNo::parse(<&str>::from_sql(ty, raw)?)?)
        }
        fn accepts(ty: &Type) -> bool {
            <&str as FromSql>::accepts(ty)
        }
    }

    impl ToSql for OrderNo {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            self.as_str().to_sql(ty, out)
        }
        fn accepts(ty: &Type) -> bool {
            <&str as ToSql>::accepts(ty)
        }
        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for MerchantId {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            Ok(MerchantId::try_from(i64::from_sql(ty, raw)?)?)
        }
        fn accepts(ty: &Type) -> bool {
            <i64 as FromSql>::accepts(ty)
        }
    }

    impl ToSql for MerchantId {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            self.get().to_sql(ty, out)
        }
        fn accepts(ty: &Type) -> bool {
            <i64 as ToSql>::accepts(ty)
        }
        to_sql_checked!();
    }
}

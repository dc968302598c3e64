//! Row ids that cross modules, typed so that a user's id cannot be passed
//! where a token's is meant (both are `INTEGER PRIMARY KEY`s underneath).

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        #[cfg(feature = "ssr")]
        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        #[cfg(feature = "ssr")]
        impl rusqlite::types::FromSql for $name {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(value).map(Self)
            }
        }
    };
}

row_id! {
    /// A user account (`users.id`).
    UserId
}

row_id! {
    /// A workload token (`tokens.id`).
    TokenId
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn ids_go_into_and_come_out_of_sqlite_as_the_integer_they_wrap() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let back: (UserId, TokenId, i64) = conn
            .query_row("SELECT ?1, ?2, ?1 + 0", (UserId(7), TokenId(9)), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        assert_eq!(back, (UserId(7), TokenId(9), 7));
    }
}

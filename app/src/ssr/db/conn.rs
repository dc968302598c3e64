//! One connection of either engine: what `Db` holds and hands to its callers.

use super::sql::{EachRow, Engine, Pg, Sql, SqlError, Value};
use super::Transact;

pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Pg<postgres::Client>),
}

impl Conn {
    /// The SQLite connection, for what only SQLite has (its backup API,
    /// checkpoints, pragmas).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    fn sql(&self) -> &dyn Sql {
        match self {
            Conn::Sqlite(c) => c,
            Conn::Postgres(c) => c,
        }
    }
}

impl Sql for Conn {
    fn engine(&self) -> Engine {
        self.sql().engine()
    }
    fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<u64, SqlError> {
        self.sql().execute(sql, args)
    }
    fn query_each(&self, sql: &str, args: &[Value<'_>], each: &mut EachRow<'_>) -> Result<(), SqlError> {
        self.sql().query_each(sql, args, each)
    }
    fn batch(&self, sql: &str) -> Result<(), SqlError> {
        self.sql().batch(sql)
    }
    fn in_transaction(&self) -> bool {
        self.sql().in_transaction()
    }
    fn begin(&self) -> Result<(), SqlError> {
        self.sql().begin()
    }
    fn commit(&self) -> Result<(), SqlError> {
        self.sql().commit()
    }
    fn rollback(&self) -> Result<(), SqlError> {
        self.sql().rollback()
    }
}

impl Transact for Conn {
    fn write<T, E: From<SqlError>>(&mut self, work: impl FnOnce(&dyn Sql) -> Result<T, E>) -> Result<T, E> {
        match self {
            Conn::Sqlite(c) => c.write(work),
            Conn::Postgres(c) => c.write(work),
        }
    }
}

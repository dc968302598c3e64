//! One connection of either engine: what `Db` holds and hands to its callers.

use super::sql::{EachRow, Engine, Pg, Sql, SqlError, Value};
use super::Transact;

#[expect(clippy::large_enum_variant, reason = "a handful per process, never moved in a hot loop")]
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Pg<postgres::Client>),
    /// Given up: every statement fails (see the drop below).
    Closed,
}

/// The PostgreSQL client closes by blocking on a runtime of its own, which
/// panics on a thread that drives async tasks (a server's last reference
/// can be dropped there): such a drop happens on a thread of its own.
impl Drop for Conn {
    fn drop(&mut self) {
        if matches!(self, Conn::Postgres(_)) && tokio::runtime::Handle::try_current().is_ok() {
            let conn = std::mem::replace(self, Conn::Closed);
            let _ = std::thread::Builder::new().name("db-close".into()).spawn(move || drop(conn));
        }
    }
}

/// What a closed connection answers.
struct Closed;

impl Sql for Closed {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }
    fn execute(&self, _: &str, _: &[Value<'_>]) -> Result<u64, SqlError> {
        Err(SqlError::Closed)
    }
    fn query_each(&self, _: &str, _: &[Value<'_>], _: &mut EachRow<'_>) -> Result<(), SqlError> {
        Err(SqlError::Closed)
    }
    fn batch(&self, _: &str) -> Result<(), SqlError> {
        Err(SqlError::Closed)
    }
    fn in_transaction(&self) -> bool {
        false
    }
    fn begin(&self) -> Result<(), SqlError> {
        Err(SqlError::Closed)
    }
    fn commit(&self) -> Result<(), SqlError> {
        Err(SqlError::Closed)
    }
    fn rollback(&self) -> Result<(), SqlError> {
        Err(SqlError::Closed)
    }
}

impl Conn {
    /// The SQLite connection, for what only SQLite has (its backup API,
    /// checkpoints, pragmas).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) | Conn::Closed => None,
        }
    }

    fn sql(&self) -> &dyn Sql {
        match self {
            Conn::Sqlite(c) => c,
            Conn::Postgres(c) => c,
            Conn::Closed => &Closed,
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
            Conn::Closed => Err(SqlError::Closed.into()),
        }
    }
}

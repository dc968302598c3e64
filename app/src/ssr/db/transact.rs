//! Units of work: a connection of either engine runs one as one write
//! transaction, all of it kept or none.

use super::sql::{Pg, Sql, SqlError};

/// A connection that runs units of work.
pub trait Transact {
    /// Runs `work` in one write transaction, committed when it returns `Ok`
    /// and rolled back otherwise. SQLite takes its write lock first (`BEGIN
    /// IMMEDIATE`: another process may commit between a read and a write);
    /// PostgreSQL runs at READ COMMITTED, where work that reads, then writes
    /// what it read holds a [`super::sql::Lock`] or locks the rows first.
    fn write<T, E: From<SqlError>>(&mut self, work: impl FnOnce(&dyn Sql) -> Result<T, E>) -> Result<T, E>;
}

impl Transact for rusqlite::Connection {
    fn write<T, E: From<SqlError>>(&mut self, work: impl FnOnce(&dyn Sql) -> Result<T, E>) -> Result<T, E> {
        let tx =
            self.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| E::from(e.into()))?;
        let done = work(&tx)?;
        tx.commit().map_err(|e| E::from(e.into()))?;
        Ok(done)
    }
}

impl Transact for Pg<postgres::Client> {
    fn write<T, E: From<SqlError>>(&mut self, work: impl FnOnce(&dyn Sql) -> Result<T, E>) -> Result<T, E> {
        // READ COMMITTED, whatever the database's default (see `Sql::begin`).
        let tx = self.get_mut().build_transaction().isolation_level(postgres::IsolationLevel::ReadCommitted).start();
        let tx = Pg::new(tx.map_err(|e| E::from(e.into()))?);
        let done = work(&tx)?;
        tx.into_inner().commit().map_err(|e| E::from(e.into()))?;
        Ok(done)
    }
}

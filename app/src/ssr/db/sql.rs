//! One way to run a statement on either engine: SQLite (rusqlite) or
//! PostgreSQL (the `postgres` crate), so that code written once runs on both.
//!
//! Statements are written as SQLite takes them, with numbered parameters
//! (`?1`, `?2`); on PostgreSQL they become `$1`, `$2`. Values are the four
//! SQLite storage classes; on PostgreSQL each is converted to the type the
//! server inferred for its parameter (so `?1` compared with a `BIGINT` column
//! binds an `int8`, and a NULL binds whatever is expected). Booleans read as
//! integers, as SQLite has them. Where the dialects differ beyond that, the
//! caller asks [`Sql::engine`] and writes each.

use std::{borrow::Cow, cell::RefCell, fmt};

/// Which engine a connection talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A value bound to a statement (borrowed: binding copies nothing) or read
/// from a row (owned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

/// What a query hands back: values that own their data.
pub type Row = Vec<Value<'static>>;

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Self::Int(v.into())
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Self::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Self::Blob(Cow::Borrowed(v))
    }
}
impl From<Vec<u8>> for Value<'_> {
    fn from(v: Vec<u8>) -> Self {
        Self::Blob(Cow::Owned(v))
    }
}
impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Self::Int(v.into())
    }
}
impl From<crate::domain::UserId> for Value<'_> {
    fn from(v: crate::domain::UserId) -> Self {
        Self::Int(v.0)
    }
}
impl From<crate::domain::TokenId> for Value<'_> {
    fn from(v: crate::domain::TokenId) -> Self {
        Self::Int(v.0)
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

impl Value<'_> {
    pub fn int(&self) -> Result<i64, SqlError> {
        match self {
            Value::Int(v) => Ok(*v),
            other => Err(SqlError::Type(format!("expected an integer, found {}", other.kind()))),
        }
    }

    pub fn opt_int(&self) -> Result<Option<i64>, SqlError> {
        match self {
            Value::Null => Ok(None),
            other => other.int().map(Some),
        }
    }

    pub fn opt_text(&self) -> Result<Option<&str>, SqlError> {
        match self {
            Value::Null => Ok(None),
            other => other.text().map(Some),
        }
    }

    /// An integer that fits a `u32` (versions, counts of days).
    pub fn u32(&self) -> Result<u32, SqlError> {
        u32::try_from(self.int()?).map_err(|_| SqlError::Type("an integer out of range".into()))
    }

    pub fn opt_u32(&self) -> Result<Option<u32>, SqlError> {
        match self {
            Value::Null => Ok(None),
            other => other.u32().map(Some),
        }
    }

    /// A boolean as SQLite stores one (PostgreSQL's are read as integers too).
    pub fn bool(&self) -> Result<bool, SqlError> {
        Ok(self.opt_int()?.unwrap_or(0) != 0)
    }

    pub fn text(&self) -> Result<&str, SqlError> {
        match self {
            Value::Text(v) => Ok(v),
            other => Err(SqlError::Type(format!("expected text, found {}", other.kind()))),
        }
    }

    pub fn blob(&self) -> Result<&[u8], SqlError> {
        match self {
            Value::Blob(v) => Ok(v),
            other => Err(SqlError::Type(format!("expected a blob, found {}", other.kind()))),
        }
    }

    /// Text that holds a domain type; a stored value that no longer parses is
    /// reported, not trusted (its text is not quoted: it may be anything).
    pub fn parse<T: std::str::FromStr>(&self) -> Result<T, SqlError> {
        self.text()?
            .parse()
            .map_err(|_| SqlError::Type(format!("a stored {} does not parse", std::any::type_name::<T>())))
    }

    /// What kind of value this is, for errors: never the value itself.
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's own message (a constraint's name, never a row's values: those are in its detail).
    #[error("{}", .0.as_db_error().map_or_else(|| .0.to_string(), |d| format!("{}: {}", d.code().code(), d.message())))]
    Postgres(#[from] postgres::Error),
    /// A column of a type this layer does not read, or a value that does not fit its parameter.
    #[error("{0}")]
    Type(String),
    /// The database's schema is not one this binary can use.
    #[error("{0}")]
    Schema(String),
    /// A streaming query's reader stopped early (not a failure: see [`Sql::query_each`]).
    #[error("the reader stopped")]
    Stopped,
    /// The connection was given up (see `db::Conn`'s drop).
    #[error("the database connection is closed")]
    Closed,
}

impl SqlError {
    /// Nothing can be written now, and nothing was: SQLite's disk is full,
    /// read-only or failing; PostgreSQL is unreachable, out of disk, shutting
    /// down or a read-only standby (a failover under way). The statement
    /// failed whole, so the caller's unit of work changed nothing.
    pub fn unavailable(&self) -> bool {
        match self {
            SqlError::Sqlite(e) => super::unwritable(e),
            SqlError::Postgres(e) => match e.code() {
                // No server answer: the connection was lost or never made.
                None => e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
                Some(code) => {
                    let code = code.code();
                    // 08 connection, 53 resources (disk full), 57P shutdown, 25006 read-only
                    // transaction (a standby: failover under way); and contention that ended
                    // the transaction: 40001 serialization, 40P01 deadlock, 55P03 lock
                    // timeout, 57014 cancelled. Each rolled the whole transaction back.
                    code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P")
                        || ["25006", "40001", "40P01", "55P03", "57014"].contains(&code)
                }
            },
            SqlError::Closed => true,
            SqlError::Type(_) | SqlError::Schema(_) | SqlError::Stopped => false,
        }
    }
}

/// Code on SQLite's own types (`rusqlite::Result`) calls this layer with `?`:
/// a SQLite error comes back as itself.
impl From<SqlError> for rusqlite::Error {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::Sqlite(e) => e,
            other => rusqlite::Error::ToSqlConversionFailure(Box::new(other)),
        }
    }
}

/// What a streaming query hands each row to.
pub type EachRow<'a> = dyn FnMut(&[Value<'_>]) -> Result<(), SqlError> + 'a;

/// A connection (or a transaction on one) of either engine.
pub trait Sql {
    fn engine(&self) -> Engine;
    /// Runs one statement; returns the rows it changed.
    fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<u64, SqlError>;
    /// Runs one query, handing each row to `each` as it comes (constant
    /// memory). `each` must not use this connection: on PostgreSQL the
    /// connection is busy with the query until it ends. `each` ends the
    /// query early by returning [`SqlError::Stopped`].
    fn query_each(&self, sql: &str, args: &[Value<'_>], each: &mut EachRow<'_>) -> Result<(), SqlError>;
    /// Runs statements separated by `;`, without parameters (schema changes).
    fn batch(&self, sql: &str) -> Result<(), SqlError>;
    /// Whether a transaction is open on this connection.
    fn in_transaction(&self) -> bool;
    /// Begins a write transaction (on SQLite, taking the write lock first).
    fn begin(&self) -> Result<(), SqlError>;
    fn commit(&self) -> Result<(), SqlError>;
    fn rollback(&self) -> Result<(), SqlError>;

    /// Runs one query; returns its rows.
    fn query(&self, sql: &str, args: &[Value<'_>]) -> Result<Vec<Row>, SqlError> {
        let mut rows = Vec::new();
        self.query_each(sql, args, &mut |row| {
            rows.push(row.iter().map(Value::to_owned_value).collect());
            Ok(())
        })?;
        Ok(rows)
    }

    /// The first row, if any.
    fn query_opt(&self, sql: &str, args: &[Value<'_>]) -> Result<Option<Row>, SqlError> {
        Ok(self.query(sql, args)?.into_iter().next())
    }
}

impl Value<'_> {
    fn to_owned_value(&self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Int(v) => Value::Int(*v),
            Value::Text(v) => Value::Text(Cow::Owned(v.to_string())),
            Value::Blob(v) => Value::Blob(Cow::Owned(v.to_vec())),
        }
    }
}

/// Locks that writers hold on PostgreSQL, where they do not queue for the
/// whole database as SQLite's do: each an advisory lock (any constant, the
/// same on every node) held until the transaction ends.
#[derive(Clone, Copy, Debug)]
pub enum Lock {
    /// Schema migrations: one node migrates, the others wait and find it done.
    Migrations,
    /// The audit chain's head: appenders on every node take turns.
    Audit,
    /// Changes that could leave no enabled admin of every namespace.
    Admins,
    /// The keyring: unlocking a new database, rotate, retire, rekey.
    Keyring,
    /// Settings every node records at start (the default retention).
    Settings,
    /// One-time hand-overs: their bounds hold across nodes.
    Handovers,
}

impl Lock {
    /// The advisory lock's key: any constant, the same on every node ("STRONG…").
    fn key(self) -> i64 {
        match self {
            Lock::Migrations => 0x5354_524f_4e47,
            Lock::Audit => 0x5354_524f_4e47_0001,
            Lock::Admins => 0x5354_524f_4e47_0002,
            Lock::Keyring => 0x5354_524f_4e47_0003,
            Lock::Settings => 0x5354_524f_4e47_0004,
            Lock::Handovers => 0x5354_524f_4e47_0005,
        }
    }
}

/// Waits for `lock`, then holds it until the transaction ends (PostgreSQL;
/// on SQLite the writer holds the whole database already). A statement run
/// after it sees every change committed by the lock's previous holder.
pub fn hold<S: Sql + ?Sized>(db: &S, lock: Lock) -> Result<(), SqlError> {
    if db.engine() == Engine::Postgres {
        db.query("SELECT pg_advisory_xact_lock(?1)::text", &[Value::Int(lock.key())])?;
    }
    Ok(())
}

/// Runs `work` inside a savepoint of `db`'s transaction (SQLite begins one
/// if none is open; on PostgreSQL every unit of work runs in one): all of it
/// is kept, or, when it fails, none of it.
pub fn savepoint<S: Sql + ?Sized, T, E: From<SqlError>>(db: &S, work: impl FnOnce(&S) -> Result<T, E>) -> Result<T, E> {
    // Undoes the savepoint unless it was released: when `work` fails or
    // panics, and when the release itself fails (on SQLite outside a
    // transaction, the release is the commit).
    struct Open<'a, S: Sql + ?Sized>(Option<&'a S>);
    impl<S: Sql + ?Sized> Drop for Open<'_, S> {
        fn drop(&mut self) {
            if let Some(db) = self.0 {
                // The failure is what the caller hears; undoing is best effort.
                let _ = db.batch("ROLLBACK TO work; RELEASE work");
            }
        }
    }
    // PostgreSQL has savepoints inside transactions only: outside one, the
    // work gets a transaction of its own (as SQLite's outermost savepoint is).
    if db.engine() == Engine::Postgres && !db.in_transaction() {
        db.begin()?;
        return match work(db) {
            Ok(done) => db.commit().map(|()| done).map_err(E::from),
            Err(e) => {
                let _ = db.rollback();
                Err(e)
            }
        };
    }
    db.batch("SAVEPOINT work")?;
    let mut open = Open(Some(db));
    let done = work(db)?;
    db.batch("RELEASE work")?;
    open.0 = None;
    Ok(done)
}

// ---- SQLite -------------------------------------------------------------------

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

fn sqlite_query_each(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Value<'_>],
    each: &mut EachRow<'_>,
) -> Result<(), SqlError> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Text(v) => Value::Text(Cow::Borrowed(
                    std::str::from_utf8(v).map_err(|_| SqlError::Type(format!("column {i} is not UTF-8 text")))?,
                )),
                ValueRef::Blob(v) => Value::Blob(Cow::Borrowed(v)),
                ValueRef::Real(_) => return Err(SqlError::Type(format!("column {i} is a real number"))),
            });
        }
        each(&values)?;
    }
    Ok(())
}

macro_rules! sqlite_sql {
    ($($t:ty),*) => {$(
        impl Sql for $t {
            fn engine(&self) -> Engine {
                Engine::Sqlite
            }
            fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<u64, SqlError> {
                Ok(self.prepare_cached(sql)?.execute(rusqlite::params_from_iter(args))? as u64)
            }
            fn query_each(
                &self,
                sql: &str,
                args: &[Value<'_>],
                each: &mut EachRow<'_>,
            ) -> Result<(), SqlError> {
                sqlite_query_each(self, sql, args, each)
            }
            fn batch(&self, sql: &str) -> Result<(), SqlError> {
                Ok(self.execute_batch(sql)?)
            }
            fn in_transaction(&self) -> bool {
                !self.is_autocommit()
            }
            fn begin(&self) -> Result<(), SqlError> {
                // The write lock first: a deferred transaction that reads, then
                // writes after another process committed, fails with SQLITE_BUSY.
                self.batch("BEGIN IMMEDIATE")
            }
            fn commit(&self) -> Result<(), SqlError> {
                self.batch("COMMIT")
            }
            fn rollback(&self) -> Result<(), SqlError> {
                self.batch("ROLLBACK")
            }
        }
    )*};
}
sqlite_sql!(rusqlite::Connection, rusqlite::Transaction<'_>, rusqlite::Savepoint<'_>);

// ---- PostgreSQL ---------------------------------------------------------------

/// A PostgreSQL client or transaction, as [`Sql`]. The cell lets it be used
/// through a shared reference, as a SQLite connection is (one thread at a time).
/// The flag: a transaction begun with [`Sql::begin`] is open. The cache: the
/// statements this connection prepared, by text (preparing is a round trip).
pub struct Pg<C>(RefCell<C>, std::cell::Cell<bool>, RefCell<std::collections::HashMap<String, postgres::Statement>>);

/// Statements a connection keeps prepared; past this the cache starts over.
const CACHED_STATEMENTS: usize = 256;

impl<C> Pg<C> {
    pub fn new(client: C) -> Self {
        Self(RefCell::new(client), std::cell::Cell::new(false), RefCell::default())
    }

    /// The client itself (to begin or commit a transaction).
    pub fn get_mut(&mut self) -> &mut C {
        self.0.get_mut()
    }

    pub fn into_inner(self) -> C {
        self.0.into_inner()
    }
}

/// `?N` → `$N`, and a bare `?` → one more than the highest so far (as
/// SQLite numbers it), outside quoted text (`'…'`, `E'…'` with its
/// backslashes, `"…"`, `$tag$…$tag$`) and comments (`--`, `/* */`). Every
/// other `?` is a parameter: PostgreSQL's jsonb `?` operators are not used.
pub fn to_postgres(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut i, mut highest) = (0usize, 0usize);
    // Copies `sql[i..end]` as it is and moves on.
    let copy = |out: &mut String, from: usize, to: usize| out.push_str(&sql[from..to.min(sql.len())]);
    while i < bytes.len() {
        let rest = &sql[i..];
        let skip = if rest.starts_with("--") {
            rest.find('\n').map_or(rest.len(), |n| n + 1)
        } else if let Some(comment) = rest.strip_prefix("/*") {
            comment.find("*/").map_or(rest.len(), |n| n + 4)
        } else if (rest.starts_with("E'") || rest.starts_with("e'"))
            && !sql[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            // Backslash escapes: `\'` does not end it.
            let body = &rest.as_bytes()[2..];
            let mut j = 0;
            while j < body.len() && body[j] != b'\'' {
                j += if body[j] == b'\\' { 2 } else { 1 };
            }
            (j + 3).min(rest.len())
        } else if rest.starts_with('\'') || rest.starts_with('"') {
            // `''` inside is two quoted texts back to back: the same output.
            let q = &rest[..1];
            rest[1..].find(q).map_or(rest.len(), |n| n + 2)
        } else if let Some(tag) = dollar_tag(rest) {
            rest[tag.len()..].find(tag).map_or(rest.len(), |n| n + 2 * tag.len())
        } else {
            0
        };
        if skip > 0 {
            copy(&mut out, i, i + skip);
            i += skip;
            continue;
        }
        if bytes[i] == b'?' {
            let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
            let n = match rest[1..1 + digits].parse::<usize>() {
                Ok(n) => n,
                Err(_) => highest + 1,
            };
            highest = highest.max(n);
            out.push('$');
            out.push_str(&n.to_string());
            i += 1 + digits;
            continue;
        }
        let c = rest.chars().next().map_or(1, char::len_utf8);
        copy(&mut out, i, i + c);
        i += c;
    }
    out
}

/// `$tag$` (or `$$`) at the start of `text`, if it opens a dollar-quoted string.
fn dollar_tag(text: &str) -> Option<&str> {
    let body = text.strip_prefix('$')?;
    let end = body.find('$')?;
    let name = &body[..end];
    let valid =
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then(|| &text[..end + 2])
}

/// A value converted to the type PostgreSQL expects for its parameter.
#[derive(Debug)]
enum Bound {
    Null,
    Int8(i64),
    Int4(i32),
    Int2(i16),
    Bool(bool),
    Text(String),
    Bytea(Vec<u8>),
}

impl postgres::types::ToSql for Bound {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Bound::Null => Ok(postgres::types::IsNull::Yes),
            Bound::Int8(v) => v.to_sql(ty, out),
            Bound::Int4(v) => v.to_sql(ty, out),
            Bound::Int2(v) => v.to_sql(ty, out),
            Bound::Bool(v) => v.to_sql(ty, out),
            Bound::Text(v) => v.to_sql(ty, out),
            Bound::Bytea(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        // Checked when bound: `bind` converts to the parameter's own type.
        true
    }

    postgres::types::to_sql_checked!();
}

fn bind(value: &Value<'_>, ty: &postgres::types::Type) -> Result<Bound, SqlError> {
    use postgres::types::Type;
    let misfit = || SqlError::Type(format!("{} does not fit a parameter of type {ty}", value.kind()));
    Ok(match (value, ty) {
        (Value::Null, _) => Bound::Null,
        (Value::Int(v), &Type::INT8) => Bound::Int8(*v),
        (Value::Int(v), &Type::INT4) => Bound::Int4(i32::try_from(*v).map_err(|_| misfit())?),
        (Value::Int(v), &Type::INT2) => Bound::Int2(i16::try_from(*v).map_err(|_| misfit())?),
        (Value::Int(v), &Type::BOOL) => Bound::Bool(*v != 0),
        (Value::Int(v), &Type::TEXT) => Bound::Text(v.to_string()),
        (Value::Text(v), &Type::TEXT | &Type::VARCHAR | &Type::NAME | &Type::BPCHAR) => Bound::Text(v.to_string()),
        (Value::Blob(v), &Type::BYTEA) => Bound::Bytea(v.to_vec()),
        _ => return Err(misfit()),
    })
}

fn read(row: &postgres::Row, i: usize) -> Result<Value<'static>, SqlError> {
    use postgres::types::Type;
    let ty = row.columns().get(i).map(|c| c.type_().clone()).ok_or_else(|| SqlError::Type(format!("no column {i}")))?;
    let value = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into())),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
            row.try_get::<_, Option<String>>(i)?.map(|v| Value::Text(Cow::Owned(v)))
        }
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(|v| Value::Blob(Cow::Owned(v))),
        other => return Err(SqlError::Type(format!("column {i} is of type {other}: cast it in the query"))),
    };
    Ok(value.unwrap_or(Value::Null))
}

type PgArg<'a> = &'a (dyn postgres::types::ToSql + Sync);

impl<C: postgres::GenericClient> Pg<C> {
    /// The statement, and `args` converted to its parameters' types.
    fn prepared(&self, sql: &str, args: &[Value<'_>]) -> Result<(postgres::Statement, Vec<Bound>), SqlError> {
        // A parameter its context does not type (`?1 IS NULL`) needs a cast
        // in the statement (`CAST(?1 AS TEXT)`, which SQLite reads too): a
        // failed prepare would end the transaction it is in, so none is tried.
        let cached = self.2.borrow().get(sql).cloned();
        let stmt = match cached {
            Some(stmt) => stmt,
            None => {
                let stmt = self.0.borrow_mut().prepare(&to_postgres(sql))?;
                let mut cache = self.2.borrow_mut();
                if cache.len() >= CACHED_STATEMENTS {
                    cache.clear();
                }
                cache.insert(sql.to_owned(), stmt.clone());
                stmt
            }
        };
        if args.len() != stmt.params().len() {
            let wanted = stmt.params().len();
            return Err(SqlError::Type(format!("the statement takes {wanted} parameters, {} were given", args.len())));
        }
        let bound = stmt.params().iter().zip(args).map(|(ty, v)| bind(v, ty)).collect::<Result<_, _>>()?;
        Ok((stmt, bound))
    }
}

fn refs(bound: &[Bound]) -> Vec<PgArg<'_>> {
    bound.iter().map(|b| b as PgArg<'_>).collect()
}

/// Whether a PostgreSQL client is a transaction (a client may be in one
/// begun with [`Sql::begin`] too).
pub trait PgClient: postgres::GenericClient {
    const TRANSACTION: bool;
}
impl PgClient for postgres::Client {
    const TRANSACTION: bool = false;
}
impl PgClient for postgres::Transaction<'_> {
    const TRANSACTION: bool = true;
}

impl<C: PgClient> Sql for Pg<C> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<u64, SqlError> {
        let (stmt, bound) = self.prepared(sql, args)?;
        Ok(self.0.borrow_mut().execute(&stmt, &refs(&bound))?)
    }

    fn query_each(&self, sql: &str, args: &[Value<'_>], each: &mut EachRow<'_>) -> Result<(), SqlError> {
        use postgres::fallible_iterator::FallibleIterator;
        let (stmt, bound) = self.prepared(sql, args)?;
        let mut client = self.0.borrow_mut();
        let mut rows = client.query_raw(&stmt, refs(&bound))?;
        let mut values = Vec::new();
        while let Some(row) = rows.next()? {
            values.clear();
            for i in 0..row.len() {
                values.push(read(&row, i)?);
            }
            each(&values)?;
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<(), SqlError> {
        Ok(self.0.borrow_mut().batch_execute(sql)?)
    }

    fn in_transaction(&self) -> bool {
        C::TRANSACTION || self.1.get()
    }

    fn begin(&self) -> Result<(), SqlError> {
        // Said, not assumed: the locks that order writers need each statement
        // to see what the lock's last holder committed (a database whose
        // default is REPEATABLE READ would give them a stale snapshot).
        self.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        self.1.set(true);
        Ok(())
    }

    fn commit(&self) -> Result<(), SqlError> {
        // Ended either way: a failed COMMIT rolls back.
        self.1.set(false);
        self.batch("COMMIT")
    }

    fn rollback(&self) -> Result<(), SqlError> {
        self.1.set(false);
        self.batch("ROLLBACK")
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_for_postgres_outside_quoted_text() {
        assert_eq!(to_postgres("SELECT ?1, ?2 WHERE a = ?1"), "SELECT $1, $2 WHERE a = $1");
        assert_eq!(to_postgres("SELECT ?, ?"), "SELECT $1, $2");
        assert_eq!(to_postgres("SELECT '?1', \"a?\" FROM t WHERE x = ?3"), "SELECT '?1', \"a?\" FROM t WHERE x = $3");
        assert_eq!(to_postgres("VALUES (?2, ?)"), "VALUES ($2, $3)");
        assert_eq!(to_postgres("?3, ?1, ?"), "$3, $1, $4", "a bare ? follows the highest, as in SQLite");
    }

    #[test]
    fn comments_and_every_kind_of_quoted_text_are_left_alone() {
        assert_eq!(to_postgres("SELECT ?1 -- don't ?2\n, ?2"), "SELECT $1 -- don't ?2\n, $2");
        assert_eq!(to_postgres("SELECT /* ? ' */ ?1"), "SELECT /* ? ' */ $1");
        assert_eq!(to_postgres("SELECT E'it\\'s ?', ?1"), "SELECT E'it\\'s ?', $1");
        assert_eq!(to_postgres("SELECT 'a''?', ?1"), "SELECT 'a''?', $1");
        assert_eq!(to_postgres("DO $$ SELECT '?' $$; SELECT ?1"), "DO $$ SELECT '?' $$; SELECT $1");
        assert_eq!(to_postgres("SELECT $fn$ ? $fn$, ?1"), "SELECT $fn$ ? $fn$, $1");
        assert_eq!(to_postgres("SELECT ?1::text, 'é?'"), "SELECT $1::text, 'é?'");
        assert_eq!(to_postgres("WHERE x LIKE'a\\' AND y = ?1"), "WHERE x LIKE'a\\' AND y = $1", "not an E'' string");
    }
}

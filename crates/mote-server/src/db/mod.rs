//! The database behind one small trait: SQLite (embedded, the default) or PostgreSQL, the same
//! SQL for both (`$1` parameters, `BIGINT`/`DOUBLE PRECISION`/`TEXT` columns, `ON CONFLICT`
//! upserts, ids chosen by the server). One thread owns the connection and runs every job in
//! order ([`Db::call`]), so writes never contend and a transaction is one closure.

mod migrate;
mod postgres;
mod sqlite;

use std::sync::mpsc;

/// A parameter or column value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Val {
    pub fn int(&self) -> i64 {
        match self {
            Val::Int(i) => *i,
            Val::Real(r) => *r as i64,
            _ => 0,
        }
    }

    pub fn real(&self) -> f64 {
        match self {
            Val::Real(r) => *r,
            Val::Int(i) => *i as f64,
            _ => 0.0,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Val::Text(s) => s.clone(),
            _ => String::new(),
        }
    }

    pub fn opt_text(&self) -> Option<String> {
        match self {
            Val::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}

impl From<u64> for Val {
    fn from(v: u64) -> Val {
        Val::Int(v as i64)
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::Real(v)
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        v.map_or(Val::Null, Val::Text)
    }
}

pub type Row = Vec<Val>;

/// A database error with the statement it came from.
#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// One connection (statements are prepared once and cached by both backends).
pub trait Conn: Send {
    /// Runs one statement; the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError>;
    /// Runs one query; its rows.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError>;
    /// Runs statements without parameters (`BEGIN`, DDL).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// `"sqlite"` or `"postgres"`.
    fn kind(&self) -> &'static str;
}

/// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
pub fn transaction<T>(c: &mut dyn Conn, f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>) -> Result<T, DbError> {
    c.batch("BEGIN")?;
    match f(c) {
        Ok(v) => {
            c.batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = c.batch("ROLLBACK");
            Err(e)
        }
    }
}

type Job = Box<dyn FnOnce(&mut dyn Conn) + Send>;

/// The handle to the database thread.
#[derive(Clone, Debug)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
    pub kind: &'static str,
}

impl Db {
    /// Opens `url` (`postgres://...` or a SQLite file path), applies the migrations and starts
    /// the thread that owns the connection.
    pub fn open(url: &str) -> Result<Db, DbError> {
        let url = url.to_string();
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<&'static str, DbError>>();
        std::thread::Builder::new()
            .name("mote-db".into())
            .spawn(move || {
                let conn: Result<Box<dyn Conn>, DbError> =
                    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                        postgres::Pg::connect(&url).map(|c| Box::new(c) as Box<dyn Conn>)
                    } else {
                        sqlite::Lite::open(&url).map(|c| Box::new(c) as Box<dyn Conn>)
                    };
                let mut conn = match conn.and_then(|mut c| migrate::run(c.as_mut()).map(|()| c)) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(conn.kind()));
                while let Ok(job) = rx.recv() {
                    job(conn.as_mut());
                }
            })
            .map_err(|e| DbError(format!("cannot start the database thread: {e}")))?;
        let kind = ready_rx.recv().map_err(|_| DbError("the database thread died while opening".into()))??;
        Ok(Db { jobs: tx, kind })
    }

    /// Runs `f` on the database thread and waits for it (async).
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |c| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| DbError("the database thread has stopped".into()))?;
        rx.await.map_err(|_| DbError("the database thread has stopped".into()))?
    }

    /// Runs `f` on the database thread and waits for it (blocking: start-up only).
    pub fn call_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Box::new(move |c| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| DbError("the database thread has stopped".into()))?;
        rx.recv().map_err(|_| DbError("the database thread has stopped".into()))?
    }
}

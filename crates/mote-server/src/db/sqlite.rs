//! SQLite (rusqlite, bundled): one file in WAL mode, `synchronous=NORMAL`, a busy timeout.

use rusqlite::types::{Value, ValueRef};

use super::{Conn, DbError, Row, Val};

pub struct Lite {
    conn: rusqlite::Connection,
}

fn err(sql: &str) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
    move |e| DbError(format!("SQLite: {e} (in `{}`)", sql.trim()))
}

/// The statement with `$N` parameters written as SQLite's `?N`.
fn dialect(sql: &str) -> String {
    sql.replace('$', "?")
}

fn param(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Int(i) => Value::Integer(*i),
        Val::Real(r) => Value::Real(*r),
        Val::Text(s) => Value::Text(s.clone()),
    }
}

impl Lite {
    pub fn open(path: &str) -> Result<Lite, DbError> {
        let conn =
            rusqlite::Connection::open(path).map_err(|e| DbError(format!("cannot open SQLite `{path}`: {e}")))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err("busy_timeout"))?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .map_err(err("PRAGMA"))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Lite { conn })
    }
}

impl Conn for Lite {
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let mut st = self.conn.prepare_cached(&dialect(sql)).map_err(err(sql))?;
        let n = st.execute(rusqlite::params_from_iter(params.iter().map(param))).map_err(err(sql))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        let mut st = self.conn.prepare_cached(&dialect(sql)).map_err(err(sql))?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params.iter().map(param))).map_err(err(sql))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(err(sql))? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i).map_err(err(sql))? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(i) => Val::Int(i),
                    ValueRef::Real(f) => Val::Real(f),
                    ValueRef::Text(t) | ValueRef::Blob(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                });
            }
            out.push(row);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        let sql = if sql == "BEGIN" { "BEGIN IMMEDIATE" } else { sql };
        self.conn.execute_batch(sql).map_err(err(sql))
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

//! PostgreSQL (the `postgres` crate: synchronous, on the database thread). Statements are
//! prepared once per connection and cached.

use std::collections::HashMap;
use std::error::Error as _;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{Conn, DbError, Row, Val};

pub struct Pg {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

fn err(sql: &str) -> impl FnOnce(postgres::Error) -> DbError + '_ {
    move |e| {
        let detail = e.source().map_or_else(String::new, |s| format!(": {s}"));
        DbError(format!("PostgreSQL: {e}{detail} (in `{}`)", sql.trim()))
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Val::Int(i) => i.to_sql(ty, out),
            Val::Real(r) => r.to_sql(ty, out),
            Val::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl Pg {
    pub fn connect(url: &str) -> Result<Pg, DbError> {
        let client = postgres::Client::connect(url, postgres::NoTls).map_err(|e| {
            let detail = e.source().map_or_else(String::new, |s| format!(": {s}"));
            DbError(format!("cannot connect to PostgreSQL at `{url}`: {e}{detail}"))
        })?;
        Ok(Pg { client, statements: HashMap::new() })
    }

    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(err(sql))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

fn params(p: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Conn for Pg {
    fn execute(&mut self, sql: &str, p: &[Val]) -> Result<u64, DbError> {
        let st = self.prepare(sql)?;
        self.client.execute(&st, &params(p)).map_err(err(sql))
    }

    fn query(&mut self, sql: &str, p: &[Val]) -> Result<Vec<Row>, DbError> {
        let st = self.prepare(sql)?;
        let rows = self.client.query(&st, &params(p)).map_err(err(sql))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut row = Vec::with_capacity(r.len());
            for (i, c) in r.columns().iter().enumerate() {
                let t = c.type_();
                let v = if *t == Type::INT8 {
                    r.try_get::<_, Option<i64>>(i).map(|v| v.map(Val::Int))
                } else if *t == Type::INT4 {
                    r.try_get::<_, Option<i32>>(i).map(|v| v.map(|v| Val::Int(v.into())))
                } else if *t == Type::FLOAT8 {
                    r.try_get::<_, Option<f64>>(i).map(|v| v.map(Val::Real))
                } else {
                    r.try_get::<_, Option<String>>(i).map(|v| v.map(Val::Text))
                };
                row.push(v.map_err(err(sql))?.unwrap_or(Val::Null));
            }
            out.push(row);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client.batch_execute(sql).map_err(err(sql))
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

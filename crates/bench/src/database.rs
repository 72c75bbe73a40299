//! The database each engine run uses: a SQLite file in the run's directory, or a fresh
//! PostgreSQL database created for the run and dropped after it.

use serde::Serialize;
use sqlx::Connection;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        })
    }
}

/// A database on the PostgreSQL server that belongs to this run.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates `name` (dropping a leftover of the same name first: the name carries this
    /// process's id, so a leftover is from a crashed earlier run with the same id).
    pub async fn create(admin_url: &str, name: &str) -> Result<PgDatabase, String> {
        let mut admin = sqlx::postgres::PgConnection::connect(admin_url)
            .await
            .map_err(|e| format!("cannot reach PostgreSQL at {admin_url}: {e}"))?;
        for statement in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(&statement)
                .execute(&mut admin)
                .await
                .map_err(|e| format!("{statement}: {e}"))?;
        }
        admin.close().await.ok();
        Ok(PgDatabase {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
            url: with_database(admin_url, name),
        })
    }

    pub async fn drop(self) {
        if let Ok(mut admin) = sqlx::postgres::PgConnection::connect(&self.admin_url).await {
            let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(e) = sqlx::query(&statement).execute(&mut admin).await {
                eprintln!("warning: {statement}: {e}");
            }
            admin.close().await.ok();
        }
    }
}

/// The SQLite URL for a file in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("ducat.db").display())
}

/// `url` with its database name replaced, query string kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    format!("{prefix}/{database}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            with_database(
                "postgres://postgres@127.0.0.1:5432/postgres",
                "ducat_bench_7"
            ),
            "postgres://postgres@127.0.0.1:5432/ducat_bench_7"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}

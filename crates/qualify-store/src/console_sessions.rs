//! Reviewers' sessions in the console: created at sign-in, looked up by the hash of the cookie's
//! session id on every page, ended at sign-out or expiry. Kept in the database so that they
//! survive a restart and work on every node.

use qualify_types::Timestamp;
use uuid::Uuid;

use crate::db;
use crate::records::{parse, timestamp};
use crate::{Store, StoreError, Tx, on_reader};

/// A session as the console reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The reviewer signed in.
    pub user_id: Uuid,
    /// The token every form of this session carries.
    pub csrf_token: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

db::row! {
    struct SessionRow {
        user_id: String,
        csrf_token: String,
        expires_at: i64,
    }
}

impl Store {
    /// The session whose id hashes to `id_hash`, unless it has expired by `now`.
    pub async fn find_console_session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        const SQL: &str = "SELECT user_id, csrf_token, expires_at FROM console_sessions \
                           WHERE id_hash = $1 AND expires_at > $2";
        let row: Option<SessionRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(id_hash)
            .bind(now.unix_millis())
            .fetch_optional(pool)
            .await?);
        row.map(|row| {
            Ok(ConsoleSession {
                user_id: parse("console_sessions.user_id", &row.user_id)?,
                csrf_token: row.csrf_token,
                expires_at: timestamp("console_sessions.expires_at", row.expires_at)?,
            })
        })
        .transpose()
    }
}

impl Tx {
    /// Starts a session for `user_id`, and forgets every session that has expired (so the
    /// table holds only live sessions and those since their last sign-in).
    pub async fn insert_console_session(
        &mut self,
        id_hash: &str,
        user_id: Uuid,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        const PURGE: &str = "DELETE FROM console_sessions WHERE expires_at <= $1";
        const INSERT: &str = "INSERT INTO console_sessions (id_hash, user_id, csrf_token, created_at, expires_at) \
                              VALUES ($1, $2, $3, $4, $5)";
        db::query(PURGE)
            .bind(now.unix_millis())
            .execute(&mut *self)
            .await?;
        db::query(INSERT)
            .bind(id_hash)
            .bind(user_id.to_string())
            .bind(csrf_token)
            .bind(now.unix_millis())
            .bind(expires_at.unix_millis())
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Ends the session whose id hashes to `id_hash` (sign-out).
    pub async fn delete_console_session(&mut self, id_hash: &str) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM console_sessions WHERE id_hash = $1";
        db::query(SQL)
            .bind(id_hash)
            .execute(&mut *self)
            .await
            .map(|_| ())?;
        Ok(())
    }
}

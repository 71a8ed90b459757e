//! Refresh tokens of the password grant: stored as hashes, single use, rotated on each use
//! within a family, and the whole family revoked when a used token is presented again.

use qualify_types::Timestamp;
use uuid::Uuid;

use crate::db;
use crate::records::parse;
use crate::{StoreError, Tx};

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken<'a> {
    /// SHA-256 (hex) of the token.
    pub token_hash: &'a str,
    /// The family it belongs to (the first token's, carried on by every rotation).
    pub family_id: &'a str,
    /// The application it was issued to.
    pub client_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// The scope granted.
    pub scope: &'a str,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// What a presented refresh token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// Valid: it is now used, and its successor stored. Here is who it was for.
    Valid {
        /// The application it was issued to.
        client_id: Uuid,
        /// The user.
        user_id: Uuid,
        /// The scope granted.
        scope: String,
    },
    /// No such token.
    Unknown,
    /// Past its expiry, or revoked.
    Expired,
    /// Already used: someone replayed it. Its whole family is now revoked.
    Reused,
}

db::row! {
    struct TokenRow {
        family_id: String,
        client_id: String,
        user_id: String,
        scope: String,
        used_at: Option<i64>,
        revoked_at: Option<i64>,
    }
}

const INSERT_SQL: &str = "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at, created_at) \
                          VALUES ($1, $2, $3, $4, $5, $6, $7)";

impl Tx {
    /// Redeems the token whose hash is `presented`: if it is valid, marks it used and stores its
    /// successor (`successor_hash`, valid until `expires_at`) in the same family, atomically, so
    /// two concurrent redemptions can't both succeed.
    pub async fn redeem_refresh_token(
        &mut self,
        presented: &str,
        successor_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Redeemed, StoreError> {
        const USE: &str = "UPDATE refresh_tokens SET used_at = $2 \
                           WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                           RETURNING family_id, client_id, user_id, scope, used_at, revoked_at";
        const FIND: &str = "SELECT family_id, client_id, user_id, scope, used_at, revoked_at \
                            FROM refresh_tokens WHERE token_hash = $1";
        const REVOKE_FAMILY: &str =
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL";
        let used: Option<TokenRow> = db::query(USE)
            .bind(presented)
            .bind(now.unix_millis())
            .fetch_optional(&mut *self)
            .await?;
        if let Some(row) = used {
            db::query(INSERT_SQL)
                .bind(successor_hash)
                .bind(&row.family_id)
                .bind(&row.client_id)
                .bind(&row.user_id)
                .bind(&row.scope)
                .bind(expires_at.unix_millis())
                .bind(now.unix_millis())
                .execute(&mut *self)
                .await?;
            return Ok(Redeemed::Valid {
                client_id: parse("refresh_tokens.client_id", &row.client_id)?,
                user_id: parse("refresh_tokens.user_id", &row.user_id)?,
                scope: row.scope,
            });
        }
        let found: Option<TokenRow> = db::query(FIND)
            .bind(presented)
            .fetch_optional(&mut *self)
            .await?;
        Ok(match found {
            None => Redeemed::Unknown,
            Some(row) if row.used_at.is_some() && row.revoked_at.is_none() => {
                db::query(REVOKE_FAMILY)
                    .bind(&row.family_id)
                    .bind(now.unix_millis())
                    .execute(&mut *self)
                    .await?;
                Redeemed::Reused
            }
            Some(row) if row.used_at.is_some() => Redeemed::Reused,
            Some(_) => Redeemed::Expired,
        })
    }

    /// Stores the first refresh token of a new family.
    pub async fn insert_refresh_token(
        &mut self,
        token: &NewRefreshToken<'_>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        db::query(INSERT_SQL)
            .bind(token.token_hash)
            .bind(token.family_id)
            .bind(token.client_id.to_string())
            .bind(token.user_id.to_string())
            .bind(token.scope)
            .bind(token.expires_at.unix_millis())
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await
            .map(|_| ())?;
        Ok(())
    }

    /// Revokes a whole family (e.g. when its token is presented by another application).
    pub async fn revoke_refresh_family_of(
        &mut self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id = \
                           (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)";
        db::query(SQL)
            .bind(token_hash)
            .bind(now.unix_millis())
            .execute(&mut *self)
            .await
            .map(|_| ())?;
        Ok(())
    }
}

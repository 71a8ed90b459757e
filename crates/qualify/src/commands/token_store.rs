//! The command line's token store: each run of `qualify` reuses the token an earlier run got
//! from the same server with the same credentials, while it has more than a few minutes left, as
//! MSAL's and the Azure CLI's caches do. Without it a script of ten commands asks for ten
//! tokens, which Partner Center's token endpoint (Entra) sees as misbehaviour, and which the
//! conformance report names (`token-per-call`).
//!
//! Kept in `$XDG_CACHE_HOME/qualify/tokens.json` (`~/.cache/qualify/tokens.json`), a directory
//! and a file only their owner can read, keyed by a hash of the server and the credentials;
//! expired tokens are dropped whenever it is written. `QUALIFY_TOKEN_CACHE=off` turns it off,
//! and any other value is the file to use.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use qualify_client::TokenStore;
use serde::{Deserialize, Serialize};

/// The variable that moves or turns off the store.
const VARIABLE: &str = "QUALIFY_TOKEN_CACHE";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    token: String,
    /// Seconds since the epoch.
    expires_at: u64,
}

/// Tokens in a file.
#[derive(Debug)]
pub(crate) struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// The store `QUALIFY_TOKEN_CACHE` or the user's cache directory names; `None` when it is
    /// turned off or there is nowhere to keep it.
    pub(crate) fn for_this_user() -> Option<Self> {
        match std::env::var_os(VARIABLE) {
            Some(value) if value == "off" => None,
            Some(value) if !value.is_empty() => Some(Self {
                path: PathBuf::from(value),
            }),
            _ => {
                let cache = std::env::var_os("XDG_CACHE_HOME")
                    .filter(|dir| !dir.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache"))
                    })?;
                Some(Self {
                    path: cache.join("qualify").join("tokens.json"),
                })
            }
        }
    }

    fn read(&self) -> BTreeMap<String, Kept> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes `kept` (less what has expired) through a file renamed into place, so that a run
    /// reading at the same time reads the old file or the new, never half of one. A store
    /// that can't be written is no failure: the next run asks for a token again.
    fn write(&self, mut kept: BTreeMap<String, Kept>) {
        let now = seconds(wall_now());
        kept.retain(|_, entry| entry.expires_at > now);
        let Some(dir) = self.path.parent() else {
            return;
        };
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
        let partial = self
            .path
            .with_extension(format!("{}.partial", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .and_then(|mut file| file.write_all(&serde_json::to_vec(&kept).unwrap_or_default()))
            .and_then(|()| std::fs::rename(&partial, &self.path));
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
    }
}

/// Now, by the wall clock: the file is shared with other runs, in real time.
#[allow(clippy::disallowed_methods)]
fn wall_now() -> SystemTime {
    SystemTime::now()
}

fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

impl TokenStore for FileTokenStore {
    fn load(&self, key: &str) -> Option<(String, SystemTime)> {
        let kept = self.read().remove(key)?;
        Some((
            kept.token,
            UNIX_EPOCH + Duration::from_secs(kept.expires_at),
        ))
    }

    fn save(&self, key: &str, token: &str, expires_at: SystemTime) {
        let mut kept = self.read();
        kept.insert(
            key.to_owned(),
            Kept {
                token: token.to_owned(),
                expires_at: seconds(expires_at),
            },
        );
        self.write(kept);
    }

    fn forget(&self, key: &str) {
        let mut kept = self.read();
        if kept.remove(key).is_some() {
            self.write(kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_kept_for_its_owner_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore {
            path: dir.path().join("qualify").join("tokens.json"),
        };
        let later = wall_now() + Duration::from_secs(3600);
        store.save("a", "token-a", later);
        store.save("gone", "token-gone", wall_now() - Duration::from_secs(1));
        assert_eq!(store.load("a").unwrap().0, "token-a");
        assert!(store.load("gone").is_none(), "expired tokens are dropped");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(store.path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        store.forget("a");
        assert!(store.load("a").is_none());
    }
}

//! The server's vetting rules: read from the rules file (`--rules`, TOML) into the domain's
//! [`RuleSet`], held by a [`RuleBook`] that a reload (SIGHUP) replaces only with a set that
//! reads without error. `qualify rules check` reads a file the same way.

mod file;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use qualify_domain::RuleSet;

pub use file::{RulesFileError, parse_rules, read_rules_file, rule_from};

/// The rules in force, and where they come from.
#[derive(Debug)]
pub struct RuleBook {
    file: Option<PathBuf>,
    rules: RwLock<Arc<RuleSet>>,
}

impl RuleBook {
    /// The rules of `file`, or none.
    pub fn load(file: Option<&Path>) -> Result<Self, RulesFileError> {
        let rules = match file {
            Some(path) => read_rules_file(path)?,
            None => RuleSet::default(),
        };
        Ok(Self {
            file: file.map(Path::to_owned),
            rules: RwLock::new(Arc::new(rules)),
        })
    }

    /// The rules in force now.
    pub fn current(&self) -> Arc<RuleSet> {
        Arc::clone(&self.rules.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reads the file again; on success its rules replace the old ones (returns how many), on
    /// failure the old ones stay. Without a file, nothing changes.
    pub fn reload(&self) -> Result<usize, RulesFileError> {
        let Some(path) = &self.file else {
            return Ok(0);
        };
        let rules = read_rules_file(path)?;
        let count = rules.len();
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
        Ok(count)
    }

    /// The file the rules come from.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

//! A CPU budget for a server: a cgroup whose CFS quota holds its processes to a fraction of one
//! CPU, so that two nodes on this one machine each have CPU of their own, as nodes on machines of
//! their own do, instead of taking turns on the same CPU.
//!
//! Written as files under `/sys/fs/cgroup` (cgroup v2's `cpu.max`, or v1's `cpu` controller):
//! a benchmark needs a quota and a process list, not a cgroup library. Creating a cgroup needs
//! root and a writable hierarchy; where there is none, [`CpuBudget::new`] says why and the
//! benchmark leaves its budgeted rows out.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

/// The quota's period: short, so that a server that spends its budget waits at most the rest of
/// 10 ms for more, not the rest of the kernel's default 100 ms.
const PERIOD_US: u64 = 10_000;

/// One cgroup with a quota, removed when dropped (once its processes have exited).
#[derive(Debug)]
pub(crate) struct CpuBudget {
    dir: PathBuf,
}

impl CpuBudget {
    /// A new cgroup named `name` (made unique by this process's id and a count), its processes
    /// allowed `fraction` of one CPU.
    pub(crate) fn new(name: &str, fraction: f64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            fraction > 0.0 && fraction.is_finite(),
            "a CPU budget is a positive fraction of a CPU, not {fraction}"
        );
        // `fraction` is positive and finite: the cast rounds it to whole microseconds, at least
        // the kernel's minimum of 1 ms.
        let quota_us = ((fraction * PERIOD_US as f64) as u64).max(1_000);
        static MADE: AtomicU64 = AtomicU64::new(0);
        let made = MADE.fetch_add(1, Ordering::Relaxed);
        let name = format!("{name}-{}-{made}", std::process::id());
        let root = Path::new("/sys/fs/cgroup");
        let budget = if has_v2_cpu(root) {
            // v2: the root must hand the cpu controller down before its children have `cpu.max`.
            write(&root.join("cgroup.subtree_control"), "+cpu")?;
            let budget = Self::create(root.join(&name))?;
            write(
                &budget.dir.join("cpu.max"),
                &format!("{quota_us} {PERIOD_US}"),
            )?;
            budget
        } else {
            let controller = root.join("cpu");
            anyhow::ensure!(
                controller.join("cpu.cfs_quota_us").exists(),
                "no cgroup cpu controller under {} (neither v2's nor v1's)",
                root.display()
            );
            let budget = Self::create(controller.join(&name))?;
            write(
                &budget.dir.join("cpu.cfs_period_us"),
                &PERIOD_US.to_string(),
            )?;
            write(&budget.dir.join("cpu.cfs_quota_us"), &quota_us.to_string())?;
            budget
        };
        Ok(budget)
    }

    fn create(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir(&dir).with_context(|| {
            format!(
                "creating the cgroup {} (needs root and a writable cgroup hierarchy)",
                dir.display()
            )
        })?;
        Ok(Self { dir })
    }

    /// Moves process `pid`, with every thread it has and will have, into the budget.
    pub(crate) fn admit(&self, pid: u32) -> anyhow::Result<()> {
        write(&self.dir.join("cgroup.procs"), &pid.to_string())
    }
}

impl Drop for CpuBudget {
    fn drop(&mut self) {
        // Fails while a process is still in it; its owner terminates them first.
        if let Err(error) = std::fs::remove_dir(&self.dir) {
            eprintln!("removing the cgroup {}: {error}", self.dir.display());
        }
    }
}

/// Whether `root` is a cgroup v2 hierarchy with the cpu controller.
fn has_v2_cpu(root: &Path) -> bool {
    std::fs::read_to_string(root.join("cgroup.controllers"))
        .is_ok_and(|controllers| controllers.split_whitespace().any(|c| c == "cpu"))
}

fn write(path: &Path, value: &str) -> anyhow::Result<()> {
    std::fs::write(path, value).with_context(|| format!("writing {value} to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_a_positive_fraction() {
        for fraction in [0.0, -0.5, f64::NAN, f64::INFINITY] {
            let refused = CpuBudget::new("qualify-bench-test", fraction).unwrap_err();
            assert!(
                refused.to_string().contains("positive fraction"),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_process_admitted_is_in_the_budget_and_the_budget_goes_when_dropped() {
        let budget = match CpuBudget::new("qualify-bench-test", 0.5) {
            Ok(budget) => budget,
            Err(error) => {
                eprintln!("skipped: no cgroups to write here: {error:#}");
                return;
            }
        };
        let dir = budget.dir.clone();
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        budget.admit(child.id()).unwrap();
        let cgroups = std::fs::read_to_string(format!("/proc/{}/cgroup", child.id())).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            cgroups
                .lines()
                .any(|line| line.ends_with(&format!("/{name}"))),
            "{cgroups}"
        );
        drop(budget);
        assert!(!dir.exists());
    }
}

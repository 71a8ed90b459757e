//! The suite's PostgreSQL rows: GETs and durable POSTs against one node and against two nodes
//! sharing one database (requests spread over both), each server configured as by default.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use qualify_harness::load;
use qualify_harness::{ServerProcess, user_token};
use qualify_store::testing::TestDatabase;
use qualify_types::dev;
use serde::Serialize;

use crate::seed;
use crate::servers::{Measured, measured, qualify, random_reads, submissions_for};

/// GETs and POSTs of one PostgreSQL setup.
#[derive(Debug, Serialize)]
pub(crate) struct PostgresRow {
    /// Servers sharing the database; the load is spread over them.
    pub(crate) nodes: usize,
    pub(crate) get: Measured,
    pub(crate) post: Measured,
}

/// What the suite's runs share.
pub(crate) struct Load {
    pub(crate) connections: usize,
    pub(crate) duration: std::time::Duration,
    pub(crate) rounds: usize,
}

/// One node, then two, on one database seeded with `customers` read by the GETs and `fresh`
/// taken by the POSTs; `None` when no PostgreSQL server is reachable (said on stderr).
pub(crate) async fn rows(
    binary: &Path,
    customers: usize,
    fresh: usize,
    load: &Load,
    cpu: Option<usize>,
) -> anyhow::Result<Option<Vec<PostgresRow>>> {
    let Some(db) = TestDatabase::postgres("qualify-bench all").await else {
        return Ok(None);
    };
    let database = db.url().expose();
    // A first server creates the schema and the development identities.
    qualify(binary, &database, &[], cpu)?.terminate()?;
    let seeded = seed::populate(&db, customers, fresh)
        .await
        .context("seeding PostgreSQL")?;
    let (read, fresh) = (Arc::new(seeded.with_history), Arc::new(seeded.fresh));
    let offset = Arc::new(AtomicU64::new(0));
    let mut rows = Vec::new();
    for nodes in [1, 2] {
        let servers = (0..nodes)
            .map(|_| qualify(binary, &database, &[], cpu))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let addrs: Vec<SocketAddr> = servers.iter().map(ServerProcess::addr).collect();
        let token = user_token(&servers[0].base, dev::PARTNER_A).await?;
        let (mut gets, mut posts) = (Vec::new(), Vec::new());
        for _ in 0..load.rounds {
            gets.push(
                load::run(
                    &addrs,
                    load.connections,
                    load.duration,
                    random_reads(read.clone(), token.clone()),
                )
                .await,
            );
            posts.push(
                load::run(
                    &addrs,
                    load.connections,
                    load.duration,
                    submissions_for(fresh.clone(), token.clone(), offset.clone()),
                )
                .await,
            );
        }
        for server in servers {
            server.terminate()?;
        }
        rows.push(PostgresRow {
            nodes,
            get: measured(gets),
            post: measured(posts),
        });
    }
    Ok(Some(rows))
}

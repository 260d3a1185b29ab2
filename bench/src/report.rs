//! The markdown tables. Ratios are taken within one run, between rows of the same mode and
//! session count, so that the machine's noise hits both sides of each ratio alike.

use std::fmt::Write;

use crate::client::LoadResult;
use crate::cluster::Setup;
use crate::idle::{Held, IdleResult};
use crate::servers::{Kind, Mode};

pub(crate) enum Outcome<T> {
    /// The server does not speak this mode (rmcp and 2024-11-05), or HTTP/2 (idle rows).
    NotApplicable,
    /// The server did not start, or died during the run.
    Failed(String),
    Done(T),
}

impl<T> Outcome<T> {
    fn done(&self) -> Option<&T> {
        match self {
            Outcome::Done(result) => Some(result),
            _ => None,
        }
    }
}

pub(crate) struct LoadRow {
    pub(crate) mode: Mode,
    pub(crate) sessions: usize,
    pub(crate) server: Kind,
    pub(crate) outcome: Outcome<LoadResult>,
}

/// A row against the example server, deployed as `setup` says.
pub(crate) struct ClusterRow {
    pub(crate) mode: Mode,
    pub(crate) sessions: usize,
    pub(crate) setup: Setup,
    pub(crate) outcome: Outcome<LoadResult>,
}

pub(crate) struct IdleRow {
    pub(crate) server: Kind,
    pub(crate) sessions: usize,
    pub(crate) held: Held,
    pub(crate) outcome: Outcome<IdleResult>,
}

/// Whether anything failed or any request errored.
pub(crate) fn any_failure(load: &[LoadRow], cluster: &[ClusterRow], idle: &[IdleRow]) -> bool {
    let failed = |outcome: &Outcome<LoadResult>| match outcome {
        Outcome::Failed(_) => true,
        Outcome::Done(result) => result.errors > 0 || result.requests == 0,
        Outcome::NotApplicable => false,
    };
    let load_failed = load.iter().any(|row| failed(&row.outcome))
        || cluster.iter().any(|row| failed(&row.outcome));
    let idle_failed = idle.iter().any(|row| match &row.outcome {
        Outcome::Failed(_) => true,
        Outcome::Done(result) => result.errors > 0 || result.opened < result.sessions,
        Outcome::NotApplicable => false,
    });
    load_failed || idle_failed
}

fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(base) if base > 0.0 => format!("{:.2}", value / base),
        _ => "n/a".to_owned(),
    }
}

pub(crate) fn load_table(rows: &[LoadRow]) -> String {
    let mut out = String::new();
    out.push_str(
        "| mode | sessions | server | req/s | p50 µs | p99 µs | errors | server CPU µs/req | × rmcp req/s | × rmcp p99 | × rmcp CPU/req | × hyper req/s | × hyper CPU/req |\n",
    );
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut notes = Vec::new();
    for row in rows {
        let peer = |kind: Kind| {
            rows.iter()
                .find(|other| {
                    other.mode == row.mode && other.sessions == row.sessions && other.server == kind
                })
                .and_then(|other| other.outcome.done())
        };
        let (mode, sessions, server) = (row.mode, row.sessions, row.server);
        let cells = match &row.outcome {
            Outcome::NotApplicable => {
                "n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a".to_owned()
            }
            Outcome::Failed(error) => {
                notes.push(format!("{mode}/{sessions}/{server}: failed: {error}"));
                "failed | | | | | | | | |".to_owned()
            }
            Outcome::Done(result) => {
                if let Some(error) = &result.first_error {
                    notes.push(format!(
                        "{mode}/{sessions}/{server}: {} errors, first: {error}",
                        result.errors
                    ));
                }
                let (rmcp, hyper) = (peer(Kind::Rmcp), peer(Kind::Hyper));
                format!(
                    "{:.0} | {} | {} | {} | {:.1} | {} | {} | {} | {} | {}",
                    result.rps(),
                    result.p50_us,
                    result.p99_us,
                    result.errors,
                    result.cpu_us_per_request(),
                    ratio(result.rps(), rmcp.map(LoadResult::rps)),
                    ratio(result.p99_us as f64, rmcp.map(|r| r.p99_us as f64)),
                    ratio(
                        result.cpu_us_per_request(),
                        rmcp.map(LoadResult::cpu_us_per_request)
                    ),
                    ratio(result.rps(), hyper.map(LoadResult::rps)),
                    ratio(
                        result.cpu_us_per_request(),
                        hyper.map(LoadResult::cpu_us_per_request)
                    ),
                )
            }
        };
        let _ = writeln!(out, "| {mode} | {sessions} | {server} | {cells} |");
    }
    for note in notes {
        let _ = writeln!(out, "\n- {note}");
    }
    out
}

/// The deployments' table: CPU per request of the servers (every instance), nginx and Redis
/// apart, the client's, and how much of the cores other work took; ratios to the one instance
/// in memory reached directly ([`Setup::BASE`]) of the same mode and session count.
pub(crate) fn cluster_table(rows: &[ClusterRow]) -> String {
    let mut out = String::new();
    out.push_str(
        "| mode | sessions | setup | req/s | p50 µs | p99 µs | errors | servers CPU µs/req | nginx CPU µs/req | Redis CPU µs/req | client CPU µs/req | others' CPU % | × 1-memory req/s | × 1-memory servers CPU/req | × 1-memory servers + nginx + Redis CPU/req |\n",
    );
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut notes = Vec::new();
    let deployed = |r: &LoadResult| r.per_request(r.cpu.servers + r.cpu.nginx + r.cpu.redis);
    for row in rows {
        let (mode, sessions, setup) = (row.mode, row.sessions, row.setup);
        let base = rows
            .iter()
            .find(|other| {
                other.mode == mode && other.sessions == sessions && other.setup == Setup::BASE
            })
            .and_then(|other| other.outcome.done());
        let cells = match &row.outcome {
            Outcome::NotApplicable => "n/a | | | | | | | | | | |".to_owned(),
            Outcome::Failed(error) => {
                notes.push(format!("{mode}/{sessions}/{setup}: failed: {error}"));
                "failed | | | | | | | | | | |".to_owned()
            }
            Outcome::Done(result) => {
                if let Some(error) = &result.first_error {
                    notes.push(format!(
                        "{mode}/{sessions}/{setup}: {} errors, first: {error}",
                        result.errors
                    ));
                }
                // A part that is not deployed has no cell rather than a 0.
                let part = |present: bool, us: u64| {
                    if present {
                        format!("{:.1}", result.per_request(us))
                    } else {
                        "–".to_owned()
                    }
                };
                format!(
                    "{:.0} | {} | {} | {} | {:.1} | {} | {} | {:.1} | {:.0} | {} | {} | {}",
                    result.rps(),
                    result.p50_us,
                    result.p99_us,
                    result.errors,
                    result.cpu_us_per_request(),
                    part(setup.nginx, result.cpu.nginx),
                    part(setup.redis, result.cpu.redis),
                    result.per_request(result.cpu.client),
                    result.others_percent(),
                    ratio(result.rps(), base.map(LoadResult::rps)),
                    ratio(
                        result.cpu_us_per_request(),
                        base.map(LoadResult::cpu_us_per_request)
                    ),
                    ratio(deployed(result), base.map(deployed)),
                )
            }
        };
        let _ = writeln!(out, "| {mode} | {sessions} | {setup} | {cells} |");
    }
    for note in notes {
        let _ = writeln!(out, "\n- {note}");
    }
    out
}

pub(crate) fn idle_table(rows: &[IdleRow]) -> String {
    let mut out = String::new();
    out.push_str(
        "| server | idle sessions | each holds | RSS before MiB | RSS after MiB | KiB/session | open | errors |\n",
    );
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|\n");
    let mut notes = Vec::new();
    for row in rows {
        let (server, sessions) = (row.server, row.sessions);
        let stream = row.held.describe();
        match &row.outcome {
            Outcome::NotApplicable => {
                notes.push(format!(
                    "{server} ({stream}): n/a: no h2c, the bench serves it on hyper's HTTP/1.1 \
                     connection alone (as rmcp's own tests do)"
                ));
                let _ = writeln!(out, "| {server} | {sessions} | {stream} | n/a | | | | |");
            }
            Outcome::Failed(error) => {
                notes.push(format!("{server} ({stream}): failed: {error}"));
                let _ = writeln!(out, "| {server} | {sessions} | {stream} | failed | | | | |");
            }
            Outcome::Done(result) => {
                if let Some(error) = &result.first_error {
                    notes.push(format!(
                        "{server} ({stream}): {} errors, first: {error}",
                        result.errors
                    ));
                }
                let _ = writeln!(
                    out,
                    "| {server} | {sessions} | {stream} | {:.1} | {:.1} | {:.1} | {} | {} |",
                    result.rss_before_kib as f64 / 1024.0,
                    result.rss_after_kib as f64 / 1024.0,
                    result.kib_per_session(),
                    result.opened,
                    result.errors,
                );
            }
        }
    }
    for note in notes {
        let _ = writeln!(out, "\n- {note}");
    }
    out
}

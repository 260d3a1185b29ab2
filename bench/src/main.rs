//! `mcp-load`: an end-to-end load benchmark of our MCP servers (tokio and smol adapters)
//! against the official Rust SDK (rmcp) and a bare hyper server (the HTTP stack's ceiling).
//!
//! ```text
//! mcp-load [--seconds S] [--sessions 10,64] [--modes sse,json,legacy]
//!          [--servers tokio,smol,rmcp,bridge,hyper] [--idle N] [--idle-over h1,h2] [--pin] [--quick]
//!          [--cluster 1-memory,1-memory-nginx,1-redis-nginx,3-redis-nginx]
//!          [--example PATH] [--nginx PATH] [--redis-server PATH]
//! mcp-load serve <tokio|smol|rmcp|bridge|hyper> [--mode sse|json|legacy]
//! ```
//!
//! Each server runs in a child process (this binary, `serve`), so that RSS is per server and
//! each run starts from a fresh process. `--cluster` adds rows against the example server,
//! deployed as each setup says (`cluster`). Progress goes to stderr, the tables to stdout. The
//! exit status is 1 if any server failed or any request errored.

#![allow(clippy::print_stdout)]

mod client;
mod cluster;
mod cpu;
mod echo;
mod idle;
mod report;
mod servers;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use client::{Load, LoadResult, Peer};
use cluster::{Deployment, Programs, Setup};
use cpu::Processes;
use idle::Held;
use report::{ClusterRow, IdleRow, LoadRow, Outcome};
use servers::{Kind, Mode};

const USAGE: &str = "usage: mcp-load [--seconds S] [--sessions 10,64] [--modes sse,json,legacy] \
    [--servers tokio,smol,rmcp,bridge,hyper] [--idle N] [--idle-over h1,h2] [--pin] [--quick]\n                \
    [--cluster 1-memory,1-memory-nginx,1-redis-nginx,3-redis-nginx]\n                \
    [--example PATH] [--nginx PATH] [--redis-server PATH]\n       \
    mcp-load serve <tokio|smol|rmcp|bridge|hyper> [--mode sse|json|legacy]";

struct Options {
    seconds: Duration,
    /// Run before the measured window, not counted.
    warmup: Duration,
    sessions: Vec<usize>,
    modes: Vec<Mode>,
    servers: Vec<Kind>,
    /// Idle sessions per idle run; 0 skips the idle runs.
    idle: usize,
    /// How the idle runs' streams are held: [`Held::Stream`] (HTTP/1.1, a connection each)
    /// and/or [`Held::StreamH2`].
    idle_over: Vec<Held>,
    /// Wait before each RSS reading of the idle runs.
    settle: Duration,
    /// The client on CPU 0 and each server on CPU 1, so that neither takes the other's time.
    pin: bool,
    /// Deployments of the example server to run in every mode and session count (none by
    /// default).
    cluster: Vec<Setup>,
    /// What the deployments run.
    programs: Programs,
}

impl Options {
    /// Every mode with every session count, in that order.
    fn loads(&self) -> impl Iterator<Item = Load> + '_ {
        self.modes.iter().flat_map(move |&mode| {
            self.sessions.iter().map(move |&sessions| Load {
                mode,
                sessions,
                warmup: self.warmup,
                seconds: self.seconds,
            })
        })
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seconds: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            sessions: vec![10, 64],
            modes: Mode::ALL.to_vec(),
            servers: Kind::ALL.to_vec(),
            idle: 10_000,
            idle_over: vec![Held::Stream],
            settle: Duration::from_secs(1),
            pin: false,
            cluster: Vec::new(),
            programs: Programs::default(),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(&args[1..]);
    }
    match parse(&args) {
        Ok(options) => run(&options),
        Err(error) => {
            eprintln!("{error}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `serve <kind> [--mode m]`: the child side.
fn serve(args: &[String]) -> ExitCode {
    let parsed = (|| -> Result<(Kind, Mode), String> {
        let kind = args.first().ok_or("serve needs a server kind")?.parse()?;
        let mode = match (args.get(1).map(String::as_str), args.get(2)) {
            (None, _) => Mode::Sse,
            (Some("--mode"), Some(mode)) => mode.parse()?,
            _ => return Err("serve <kind> [--mode sse|json|legacy]".to_owned()),
        };
        Ok((kind, mode))
    })();
    let (kind, mode) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match servers::serve(kind, mode) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp-load serve {kind}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    fn list<T: std::str::FromStr>(value: &str) -> Result<Vec<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        // An empty list is allowed: `--modes ''` runs the idle part alone.
        value
            .split(',')
            .filter(|item| !item.trim().is_empty())
            .map(|item| item.trim().parse().map_err(|e| format!("`{item}`: {e}")))
            .collect()
    }
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag == "--pin" {
            options.pin = true;
            continue;
        }
        if flag == "--quick" {
            // A smoke run for CI: every server and mode, briefly.
            options.seconds = Duration::from_secs(1);
            options.warmup = Duration::from_millis(250);
            options.sessions = vec![4];
            options.idle = 200;
            options.idle_over = vec![Held::Stream, Held::StreamH2];
            options.settle = Duration::from_millis(200);
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => {
                let seconds: f64 = value.parse().map_err(|e| format!("--seconds: {e}"))?;
                options.seconds =
                    Duration::try_from_secs_f64(seconds).map_err(|e| format!("--seconds: {e}"))?;
            }
            "--sessions" => options.sessions = list(value)?,
            "--modes" => options.modes = list(value)?,
            "--servers" => options.servers = list(value)?,
            "--cluster" => options.cluster = list(value)?,
            "--example" => options.programs.example = PathBuf::from(value),
            "--nginx" => options.programs.nginx = PathBuf::from(value),
            "--redis-server" => options.programs.redis = PathBuf::from(value),
            "--idle" => options.idle = value.parse().map_err(|e| format!("--idle: {e}"))?,
            "--idle-over" => {
                options.idle_over = list::<String>(value)?
                    .iter()
                    .map(|over| match over.as_str() {
                        "h1" => Ok(Held::Stream),
                        "h2" => Ok(Held::StreamH2),
                        _ => Err(format!("--idle-over: `{over}` (h1, h2)")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(options)
}

fn run(options: &Options) -> ExitCode {
    let limit = servers::raise_nofile();
    if options.pin
        && let Err(error) = pin_client()
    {
        eprintln!("--pin: {error}");
        return ExitCode::FAILURE;
    }
    // Before the runtime: its threads inherit the CPU, and its size follows it.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let began = Instant::now();
    let mut load_rows = Vec::new();
    for load in options.loads() {
        let Load { mode, sessions, .. } = load;
        for &server in &options.servers {
            let outcome = if server.supports(mode) {
                eprint!("load {mode:>6} {sessions:>3} sessions {server:>5}: ");
                let outcome = with_server(server, mode, options.pin, |process| {
                    let processes = Processes::server(process.child.id());
                    let peer = Peer::of(server);
                    runtime.block_on(client::load(process.addr, peer, load, &processes))
                });
                match &outcome {
                    Outcome::Done(r) => eprintln!(
                        "{:.0} req/s, p50 {} µs, p99 {} µs, server CPU {:.1} µs/req, {} errors{}{}",
                        r.rps(),
                        r.p50_us,
                        r.p99_us,
                        r.cpu_us_per_request(),
                        r.errors,
                        machine_note(r),
                        first_error_note(&r.first_error)
                    ),
                    Outcome::Failed(error) => eprintln!("FAILED: {error}"),
                    Outcome::NotApplicable => eprintln!("n/a"),
                }
                outcome
            } else {
                Outcome::NotApplicable
            };
            load_rows.push(LoadRow {
                mode,
                sessions,
                server,
                outcome,
            });
        }
    }
    let cluster_rows = run_cluster(options, &runtime);
    let mut idle_rows = Vec::new();
    if options.idle > 0 {
        for &server in &options.servers {
            // The bare server has no sessions: its row is the cost of an open connection.
            let helds = match server {
                Kind::Hyper => vec![Held::Connection],
                _ => [&options.idle_over[..], &[Held::Session]].concat(),
            };
            for held in helds {
                eprint!("idle {server:>5}: {} × {}: ", options.idle, held.describe());
                // Both processes hold one descriptor per connection (plus a few).
                let needed = held.connections(options.idle) as u64 + 256;
                let outcome = if held == Held::StreamH2 && !server.speaks_h2c() {
                    Outcome::NotApplicable
                } else if limit < needed {
                    Outcome::Failed(format!(
                        "RLIMIT_NOFILE is {limit} and cannot be raised (raising the hard limit \
                         needs CAP_SYS_RESOURCE): {needed} descriptors needed per process"
                    ))
                } else {
                    with_server(server, Mode::Sse, options.pin, |process| {
                        runtime.block_on(idle::idle(
                            process.addr,
                            process.child.id(),
                            server,
                            options.idle,
                            held,
                            options.settle,
                        ))
                    })
                };
                match &outcome {
                    Outcome::Done(r) => eprintln!(
                        "RSS {} → {} KiB, {:.1} KiB/session, {} open, {} errors{}",
                        r.rss_before_kib,
                        r.rss_after_kib,
                        r.kib_per_session(),
                        r.opened,
                        r.errors,
                        first_error_note(&r.first_error)
                    ),
                    Outcome::Failed(error) => eprintln!("FAILED: {error}"),
                    Outcome::NotApplicable => eprintln!("n/a (no h2c)"),
                }
                idle_rows.push(IdleRow {
                    server,
                    sessions: options.idle,
                    held,
                    outcome,
                });
            }
        }
    }
    let seconds = options.seconds.as_secs_f64();
    let placement = if options.pin {
        "; client on CPU 0, server on CPU 1 (one worker)"
    } else {
        ""
    };
    let load = format!(
        "{seconds} s measured after {} ms warm-up, `tools/call echo` back to back, 64-byte message",
        options.warmup.as_millis()
    );
    if !load_rows.is_empty() {
        println!("## Load: {load}{placement}\n");
        println!("{}", report::load_table(&load_rows));
    }
    if !cluster_rows.is_empty() {
        println!("## The example server, deployed: {load}\n");
        println!("{}", report::cluster_table(&cluster_rows));
    }
    if !idle_rows.is_empty() {
        println!("## Idle sessions\n");
        println!("{}", report::idle_table(&idle_rows));
    }
    eprintln!("done in {:.0} s", began.elapsed().as_secs_f64());
    if report::any_failure(&load_rows, &cluster_rows, &idle_rows) {
        eprintln!("FAILED: a server failed or a request errored");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `--pin`: where the client and the servers run.
const CLIENT_CPU: &str = "0";
const SERVER_CPU: &str = "1";

/// Moves this process (all its threads: only the main one yet) to [`CLIENT_CPU`], with
/// util-linux's `taskset`.
fn pin_client() -> Result<(), String> {
    let cpus = std::thread::available_parallelism().map_or(1, |cpus| cpus.get());
    if cpus < 2 {
        return Err(format!("needs two CPUs, this process may use {cpus}"));
    }
    let status = Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            CLIENT_CPU,
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("taskset: {status}"))
    }
}

/// A server child process, killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(kind: Kind, mode: Mode, pin: bool) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut command = if pin {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", SERVER_CPU]).arg(exe);
            taskset
        } else {
            Command::new(exe)
        };
        let workers = if pin { 1 } else { servers::WORKERS };
        let mut child = command
            .args(["serve", &kind.to_string(), "--mode", &mode.to_string()])
            // smol's global executor takes its thread count from here.
            .env("SMOL_THREADS", workers.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let mut line = String::new();
        let read = child
            .stdout
            .take()
            .map(|stdout| BufReader::new(stdout).read_line(&mut line));
        let port = line.trim().parse::<u16>();
        let mut process = Self {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        };
        match (read, port) {
            (Some(Ok(_)), Ok(port)) => {
                process.addr.set_port(port);
                Ok(process)
            }
            _ => Err(format!("the server did not say its port (said {line:?})")),
        }
    }

    /// Still running?
    fn check(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the server exited: {status}")),
            Err(error) => Err(format!("the server's status: {error}")),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kind` in `mode`, runs `measure` against it, and fails the run if the server died.
fn with_server<T>(
    kind: Kind,
    mode: Mode,
    pin: bool,
    measure: impl FnOnce(&ServerProcess) -> T,
) -> Outcome<T> {
    let mut process = match ServerProcess::start(kind, mode, pin) {
        Ok(process) => process,
        Err(error) => return Outcome::Failed(error),
    };
    let result = measure(&process);
    match process.check() {
        Ok(()) => Outcome::Done(result),
        Err(error) => Outcome::Failed(error),
    }
}

/// The `--cluster` rows: each setup, in each mode and session count, deployed afresh.
fn run_cluster(options: &Options, runtime: &tokio::runtime::Runtime) -> Vec<ClusterRow> {
    if options.cluster.is_empty() {
        return Vec::new();
    }
    let dir = std::env::temp_dir().join(format!("mcp-load-{}", std::process::id()));
    let mut rows = Vec::new();
    for load in options.loads() {
        let Load { mode, sessions, .. } = load;
        for &setup in &options.cluster {
            eprint!("load {mode:>6} {sessions:>3} sessions {setup}: ");
            let files = dir.join(format!("{mode}-{sessions}-{setup}"));
            let outcome = deployed(setup, load, &options.programs, &files, runtime);
            match &outcome {
                Outcome::Done(r) => eprintln!(
                    "{:.0} req/s, p50 {} µs, p99 {} µs, CPU µs/req: servers {:.1}, nginx {:.1}, Redis {:.1}, client {:.1}; {} errors{}{}",
                    r.rps(),
                    r.p50_us,
                    r.p99_us,
                    r.cpu_us_per_request(),
                    r.per_request(r.cpu.nginx),
                    r.per_request(r.cpu.redis),
                    r.per_request(r.cpu.client),
                    r.errors,
                    machine_note(r),
                    first_error_note(&r.first_error)
                ),
                Outcome::Failed(error) => eprintln!("FAILED: {error}"),
                Outcome::NotApplicable => eprintln!("n/a"),
            }
            rows.push(ClusterRow {
                mode,
                sessions,
                setup,
                outcome,
            });
        }
    }
    if report::any_failure(&[], &rows, &[]) {
        eprintln!("the deployments' logs are kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    rows
}

/// One `--cluster` row: `setup` deployed (its files under `files`), loaded, stopped.
fn deployed(
    setup: Setup,
    load: Load,
    programs: &Programs,
    files: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Outcome<LoadResult> {
    let mut deployment = match Deployment::start(setup, load.mode, programs, files) {
        Ok(deployment) => deployment,
        Err(error) => return Outcome::Failed(error),
    };
    let processes = deployment.processes();
    let result = runtime.block_on(client::load(
        deployment.addr(),
        Peer::EXAMPLE,
        load,
        &processes,
    ));
    match deployment.check() {
        Ok(()) => Outcome::Done(result),
        Err(error) => Outcome::Failed(error),
    }
}

/// ", others … %, load …" after a result line: how much of the machine other work took in the
/// window, and the load average then, so that a disturbed row shows.
fn machine_note(result: &LoadResult) -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    format!(
        ", others {:.0} % of the cores, load {load}",
        result.others_percent()
    )
}

/// " (first: …)" after a result line, when it had errors.
fn first_error_note(first: &Option<String>) -> String {
    first
        .as_ref()
        .map(|e| format!(" (first: {e})"))
        .unwrap_or_default()
}

//! Rows against the example server (`cargo build --release -p mcp-sse-tokio --example server`)
//! deployed as users deploy it: one instance or several, in memory or sharing one Redis, reached
//! directly or through nginx round robin with the configuration of README "Running several
//! instances". Every process of a row is started afresh for it (a `redis-server` without
//! persistence, the instances, nginx) and stopped after it by PID; logs and nginx's files go to
//! a directory of the row's own.

use std::fmt;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::cpu::Processes;
use crate::servers::Mode;

/// How long a process may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long nginx may take to stop its workers after `SIGTERM`.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// The instances' shared secret for sealed request state (`--seal-key`, 32 characters or more).
const SEAL_KEY: &str = "mcp-load-cluster-seal-key-0123456789abcdef";

/// One way of deploying the example server: `N-memory`, `N-redis`, either with `-nginx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Setup {
    pub(crate) instances: usize,
    /// The instances share sessions and events through Redis (`--redis`).
    pub(crate) redis: bool,
    /// The client reaches them through nginx, round robin.
    pub(crate) nginx: bool,
}

impl Setup {
    /// One instance in memory, reached directly: the base of the ratios.
    pub(crate) const BASE: Setup = Setup {
        instances: 1,
        redis: false,
        nginx: false,
    };
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = if self.redis { "redis" } else { "memory" };
        let nginx = if self.nginx { "-nginx" } else { "" };
        write!(f, "{}-{store}{nginx}", self.instances)
    }
}

impl FromStr for Setup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("`{s}`: N-memory or N-redis, with -nginx (1-memory, 3-redis-nginx)");
        let mut parts = s.split('-');
        let instances: usize = parts
            .next()
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(usage)?;
        let redis = match parts.next() {
            Some("memory") => false,
            Some("redis") => true,
            _ => return Err(usage()),
        };
        let nginx = match parts.next() {
            None => false,
            Some("nginx") => true,
            Some(_) => return Err(usage()),
        };
        if parts.next().is_some() {
            return Err(usage());
        }
        if instances > 1 && !(redis && nginx) {
            return Err(format!(
                "`{s}`: several instances need Redis to share sessions and nginx to reach them"
            ));
        }
        Ok(Setup {
            instances,
            redis,
            nginx,
        })
    }
}

/// The programs a deployment runs.
#[derive(Clone, Debug)]
pub(crate) struct Programs {
    pub(crate) example: PathBuf,
    pub(crate) nginx: PathBuf,
    pub(crate) redis: PathBuf,
}

impl Default for Programs {
    /// The example server built beside this binary (`target/release/examples/server`), nginx
    /// and redis-server from `PATH` or where Debian puts them.
    fn default() -> Self {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("examples").join("server")));
        Self {
            example: beside.unwrap_or_else(|| PathBuf::from("target/release/examples/server")),
            nginx: find("nginx"),
            redis: find("redis-server"),
        }
    }
}

/// `name` in `PATH` or in the system directories a non-root `PATH` may leave out; `name` alone
/// (for the error to name) when nowhere.
fn find(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The running processes of one row; stopped when dropped.
pub(crate) struct Deployment {
    /// Where the client connects: nginx, or the one instance.
    addr: SocketAddr,
    redis: Option<Service>,
    instances: Vec<Service>,
    nginx: Option<Service>,
}

impl Deployment {
    /// Starts `setup` serving `mode`, its files under `dir` (created).
    pub(crate) fn start(
        setup: Setup,
        mode: Mode,
        programs: &Programs,
        dir: &Path,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut deployment = Deployment {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            redis: None,
            instances: Vec::new(),
            nginx: None,
        };
        let mut redis_url = None;
        if setup.redis {
            let port = free_port()?;
            let mut command = Command::new(&programs.redis);
            command
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir);
            let redis = Service::start("redis-server", command, port, dir)?;
            deployment.redis = Some(redis);
            redis_url = Some(format!("redis://127.0.0.1:{port}/"));
        }
        for index in 1..=setup.instances {
            let port = free_port()?;
            let mut command = Command::new(&programs.example);
            command.args(["--bind", &format!("127.0.0.1:{port}")]);
            command.args(mode_args(mode));
            if let Some(url) = &redis_url {
                command.args(["--redis", url, "--seal-key", SEAL_KEY]);
            }
            let name = if setup.instances == 1 {
                "server".to_owned()
            } else {
                format!("server-{index}")
            };
            let instance = Service::start(&name, command, port, dir)?;
            deployment.addr.set_port(port);
            deployment.instances.push(instance);
        }
        if setup.nginx {
            let port = free_port()?;
            let upstreams: Vec<u16> = deployment.instances.iter().map(|s| s.port).collect();
            let conf = dir.join("nginx.conf");
            std::fs::write(&conf, nginx_conf(dir, port, &upstreams))
                .map_err(|e| format!("{}: {e}", conf.display()))?;
            let mut command = Command::new(&programs.nginx);
            command
                .arg("-p")
                .arg(dir)
                .arg("-e")
                .arg(dir.join("nginx-error.log"))
                .arg("-c")
                .arg(&conf);
            let mut nginx = Service::start("nginx", command, port, dir)?;
            // Its master stops the workers: a `SIGKILL` would leave them behind.
            nginx.terminate = true;
            deployment.nginx = Some(nginx);
            deployment.addr.set_port(port);
        }
        Ok(deployment)
    }

    // ---- getters ----

    /// Where the client connects.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The processes measured, by group (nginx's workers are found from its master's PID).
    pub(crate) fn processes(&self) -> Processes {
        let pids = |services: &mut dyn Iterator<Item = &Service>| {
            services.map(|service| service.child.id()).collect()
        };
        Processes {
            servers: pids(&mut self.instances.iter()),
            nginx: pids(&mut self.nginx.iter()),
            redis: pids(&mut self.redis.iter()),
        }
    }

    // ---- commands ----

    /// Every process still running?
    pub(crate) fn check(&mut self) -> Result<(), String> {
        let mut services = self
            .redis
            .iter_mut()
            .chain(&mut self.instances)
            .chain(&mut self.nginx);
        services.try_for_each(Service::check)
    }
}

impl Drop for Deployment {
    /// The client's side first: nginx, the instances, Redis.
    fn drop(&mut self) {
        self.nginx.take();
        self.instances.clear();
        self.redis.take();
    }
}

/// The example server's flags for `mode`: its sessions answer with JSON or with SSE streams;
/// 2024-11-05 needs nothing.
fn mode_args(mode: Mode) -> &'static [&'static str] {
    match mode {
        Mode::Sse => &["--response-mode", "sse"],
        Mode::Json => &["--response-mode", "json"],
        Mode::Legacy => &[],
    }
}

/// README "Running several instances"'s `upstream` and `server` blocks, in what running nginx
/// in the foreground as this user, with its files under `dir`, needs. Access logging is off (a
/// write per request would be the log's cost, not the hop's); `worker_processes auto` is one
/// per core.
fn nginx_conf(dir: &Path, port: u16, upstreams: &[u16]) -> String {
    let dir = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|port| format!("        server 127.0.0.1:{port};\n"))
        .collect();
    // As root, nginx's workers would run as `nobody`, which has no group on Debian.
    let user = match (run_id("-un"), run_id("-gn")) {
        (Some(user), Some(group)) if user == "root" => format!("user {user} {group};\n"),
        _ => String::new(),
    };
    format!(
        r#"{user}daemon off;
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/temp-body;
    proxy_temp_path {dir}/temp-proxy;
    fastcgi_temp_path {dir}/temp-fastcgi;
    uwsgi_temp_path {dir}/temp-uwsgi;
    scgi_temp_path {dir}/temp-scgi;
    upstream mcp {{
{servers}        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"#
    )
}

/// `id <flag>`'s answer (this process's user or group name).
fn run_id(flag: &str) -> Option<String> {
    let output = Command::new("id").arg(flag).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A loopback port free a moment ago.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("a free port: {e}"))
}

/// A process of a deployment, listening on `port`; killed (or, `terminate`, sent `SIGTERM`)
/// and reaped when dropped.
struct Service {
    name: String,
    child: Child,
    port: u16,
    log: PathBuf,
    terminate: bool,
}

impl Service {
    /// Spawns `command` (its output to `dir/<name>.log`) and waits until it listens on `port`.
    fn start(name: &str, mut command: Command, port: u16, dir: &Path) -> Result<Self, String> {
        let log = dir.join(format!("{name}.log"));
        let file = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let copy = file
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(copy)
            .spawn()
            .map_err(|e| format!("{name}: {:?}: {e}", command.get_program()))?;
        let mut service = Service {
            name: name.to_owned(),
            child,
            port,
            log,
            terminate: false,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            service.check()?;
            if Instant::now() > deadline {
                return Err(format!(
                    "{name} did not listen on {addr} within {START_TIMEOUT:?}{}",
                    service.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(service)
    }

    /// Still running?
    fn check(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited: {status}{}", self.name, self.log_tail())),
            Err(error) => Err(format!("{}'s status: {error}", self.name)),
        }
    }

    /// The last lines of its log, for an error.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n    ");
        format!(" ({}:\n    {tail})", self.log.display())
    }

    /// Sends `SIGTERM` and waits for the exit, at most [`STOP_TIMEOUT`].
    fn stop_gently(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        if !sent.is_ok_and(|status| status.success()) {
            return false;
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.terminate && self.stop_gently() {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setups_parse_and_print_back() {
        for text in [
            "1-memory",
            "1-memory-nginx",
            "1-redis",
            "1-redis-nginx",
            "3-redis-nginx",
        ] {
            let setup: Setup = text.parse().expect(text);
            assert_eq!(setup.to_string(), text);
        }
        assert_eq!("1-memory".parse(), Ok(Setup::BASE));
        for bad in [
            "",
            "0-memory",
            "3-memory-nginx",
            "3-redis",
            "1-disk",
            "1-memory-haproxy",
        ] {
            assert!(bad.parse::<Setup>().is_err(), "{bad}");
        }
    }

    #[test]
    fn nginx_gets_every_instance() {
        let conf = nginx_conf(Path::new("/tmp/x"), 8000, &[8001, 8002, 8003]);
        for line in [
            "listen 127.0.0.1:8000;",
            "server 127.0.0.1:8001;",
            "server 127.0.0.1:8003;",
            "proxy_buffering off;",
            "pid /tmp/x/nginx.pid;",
        ] {
            assert!(conf.contains(line), "{line} in {conf}");
        }
    }
}

//! The command line of a server binary (feature `cli`): where it listens, the transport settings
//! an operator changes most, and its log format. The example servers and the conformance test
//! server share it; a server of your own can too.
//!
//! ```no_run
//! use mcp_sse_server::McpServer;
//! use mcp_sse_server::cli::ServerArgs;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let args = ServerArgs::from_env(); // on a bad flag: prints the usage and exits
//!     args.init_logging("info");
//!     let server = McpServer::builder("calculator", "1.0.0").build(mcp_sse_tokio::Tokio::current());
//!     let listener = tokio::net::TcpListener::bind(args.bind).await?;
//!     mcp_sse_tokio::serve(listener, args.configure(server.config()), server).await
//! }
//! ```
//!
//! Every default `--help` shows is read from [`Config::default()`], so the help cannot drift from
//! the transport's defaults. [`configure`](ServerArgs::configure) writes every setting the flags
//! cover, a flag left out writing its default: the command line describes those settings whole.

use std::fmt;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use clap::builder::{PossibleValue, RangedU64ValueParser};
use clap::{Parser, ValueEnum};
use mcp_sse_app::auth::jwt::{Fetch, JwtConfig, JwtConfigError, JwtVerifier};
use mcp_sse_app::auth::{Authenticator, StaticTokens};
use mcp_sse_app::core::{Cors, OriginPolicy, ResponseMode};
use mcp_sse_app::{Authorization, Config, Principal};

use crate::builder::Options;
use crate::seal::StateKey;

/// The flags of a server binary: `--help` describes each. Flatten it into a parser of your own
/// (`#[command(flatten)]`) to add flags.
#[derive(Clone, Debug, Parser)]
#[command(
    about = "An MCP server over HTTP and Server-Sent Events: /mcp (Streamable HTTP, 2025-03-26 \
             to 2026-07-28) and /sse + /messages (2024-11-05). RUST_LOG sets what is logged \
             (to stderr); Ctrl-C stops the server gracefully.",
    long_about = None
)]
#[non_exhaustive]
pub struct ServerArgs {
    /// Address and port to listen on. On a loopback address only loopback `Host` names are
    /// accepted (DNS-rebinding defence); on any other, every host.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// A browser origin allowed to call the server (repeatable), as `scheme://host[:port]`;
    /// `loopback` for http(s)://localhost, 127.0.0.1 and [::1] on any port; `*` for any origin
    /// (only for a server that authenticates every request). Requests from other origins get
    /// 403; requests without an `Origin` (non-browser clients) always pass.
    #[arg(
        long = "allow-origin",
        value_name = "ORIGIN",
        default_values_t = AllowOrigin::of(&Config::default().origins)
    )]
    pub allow_origins: Vec<AllowOrigin>,

    /// Send no CORS headers (by default, pages from the allowed origins may read the answers,
    /// `Mcp-Session-Id` included, and preflights are answered).
    #[arg(long, default_value_t = Config::default().cors.is_none())]
    pub no_cors: bool,

    /// Path prefix in front of the server's paths as clients see them, for a reverse proxy that
    /// strips it: the 2024-11-05 `endpoint` event points under it.
    #[arg(long, value_name = "PATH", value_parser = base_path, default_value_t = Config::default().base_path)]
    pub base_path: String,

    /// Trust a request's `X-Forwarded-Prefix` header: it replaces --base-path in the `endpoint`
    /// event. Only behind a reverse proxy that sets it.
    #[arg(long, default_value_t = Config::default().trust_forwarded_prefix)]
    pub trust_forwarded: bool,

    /// Serve without sessions: `initialize` mints none, every POST is answered on its own, GET
    /// and DELETE on /mcp get 405.
    #[arg(long, default_value_t = Config::default().stateless)]
    pub stateless: bool,

    /// How a request's answer is shaped.
    #[arg(long, value_name = "MODE", default_value_t = Mode(Config::default().response_mode))]
    pub response_mode: Mode,

    /// Most sessions alive at once. At the cap the least recently active idle session gives way
    /// to a new one; only when every session is busy is the new one refused (503).
    #[arg(
        long,
        value_name = "N",
        value_parser = RangedU64ValueParser::<usize>::new().range(1..),
        default_value_t = Config::default().max_sessions
    )]
    pub max_sessions: usize,

    /// Seconds a session may stay idle (no request, no open stream, nothing in flight) before
    /// it is closed; `off` keeps idle sessions until the cap.
    #[arg(long, value_name = "SECS", default_value_t = Timeout(Config::default().idle_timeout))]
    pub idle_timeout: Timeout,

    /// Seconds of silence after which a keepalive comment is written on an SSE stream.
    #[arg(long, value_name = "SECS", default_value_t = Seconds(Config::default().keepalive_interval))]
    pub keepalive: Seconds,

    /// Serve 2026-07-28 clients only: older requests get 400 naming the supported versions, the
    /// 2024-11-05 paths 404, GET and DELETE on /mcp 405.
    #[arg(long, default_value_t = Config::default().only_2026)]
    pub modern_only: bool,

    /// This server's resource identifier (RFC 8707), the URL of its MCP endpoint as clients
    /// reach it, e.g. https://mcp.example.com/mcp: turns authorization on (every request needs a
    /// bearer token; `/.well-known/oauth-protected-resource` describes the server). Needed by
    /// --auth-token and --jwt-issuer.
    #[arg(long, value_name = "URL")]
    pub resource: Option<String>,

    /// A bearer token that is accepted, as NAME:TOKEN (repeatable): NAME is the principal's
    /// subject (sessions belong to it), with the --auth-scope scopes.
    #[arg(
        long = "auth-token",
        value_name = "NAME:TOKEN",
        requires = "resource",
        conflicts_with = "jwt_issuer"
    )]
    pub auth_tokens: Vec<AuthToken>,

    /// Accept JWT access tokens from this authorization server (exactly its `iss`), checked
    /// against its key set (found from its RFC 8414 or OpenID metadata, or --jwt-jwks); named
    /// in the protected-resource metadata.
    #[arg(long, value_name = "URL", requires = "resource")]
    pub jwt_issuer: Option<String>,

    /// The audience a JWT must name; default: --resource.
    #[arg(long, value_name = "AUD", requires = "jwt_issuer")]
    pub jwt_audience: Option<String>,

    /// Where the issuer's key set (JWKS) is, instead of its metadata's `jwks_uri`.
    #[arg(long, value_name = "URL", requires = "jwt_issuer")]
    pub jwt_jwks: Option<String>,

    /// A scope every request needs (repeatable): named in the `401` challenge and the metadata;
    /// a token without it gets `403 insufficient_scope`. Static tokens get them all.
    #[arg(long = "auth-scope", value_name = "SCOPE", requires = "resource")]
    pub auth_scopes: Vec<String>,

    /// Log line format on stderr. Colours only when stderr is a terminal.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Serve the server's metrics in Prometheus' text format at http://ADDR:PORT/metrics
    /// ([`exporter`](crate::exporter)); off by default.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,

    /// Share sessions with the other instances behind one balancer through this Redis
    /// (redis://HOST:PORT[/DB]): any instance then serves any session's requests. Give every
    /// instance the same URL and --seal-key. Off by default: everything stays in this process.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// The secret that seals 2026-07-28 request state (32 characters or more; the key is its
    /// SHA-256), the same on every instance behind one address. Default: a random key per
    /// process, which other instances do not accept.
    #[arg(long, value_name = "SECRET", value_parser = seal_key)]
    pub seal_key: Option<SealKey>,
}

/// `--seal-key`: a secret long enough to be one, kept out of `Debug`.
#[derive(Clone)]
pub struct SealKey(StateKey);

impl SealKey {
    /// The key the secret gives.
    pub fn key(&self) -> StateKey {
        self.0.clone()
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(..)")
    }
}

fn seal_key(text: &str) -> Result<SealKey, String> {
    use sha2::Digest as _;
    if text.len() < 32 {
        return Err("a secret of 32 characters or more".into());
    }
    Ok(SealKey(StateKey::new(sha2::Sha256::digest(text).into())))
}

impl ServerArgs {
    /// The arguments of this process; prints the usage (or `--help`) and exits on a bad one.
    pub fn from_env() -> Self {
        Self::parse()
    }

    /// `config` with every setting of these arguments written into it.
    pub fn configure(&self, mut config: Config) -> Config {
        config.origins = AllowOrigin::policy(&self.allow_origins);
        config.cors = match self.no_cors {
            true => None,
            false => config.cors.or_else(|| Some(Cors::default())),
        };
        config.base_path = self.base_path.clone();
        config.trust_forwarded_prefix = self.trust_forwarded;
        config.stateless = self.stateless;
        config.response_mode = self.response_mode.0;
        config.max_sessions = self.max_sessions;
        config.idle_timeout = self.idle_timeout.0;
        config.keepalive_interval = self.keepalive.0;
        config.only_2026 = self.modern_only;
        config.auth = self.resource.as_ref().map(|resource| {
            let mut auth = Authorization::default();
            auth.resource = resource.clone();
            auth.authorization_servers = self.jwt_issuer.iter().cloned().collect();
            auth.required_scopes = self.auth_scopes.clone();
            auth.scopes_supported = self.auth_scopes.clone();
            auth
        });
        config
    }

    /// `options` with the settings of these arguments that belong to the typed layer written
    /// into them (--seal-key).
    pub fn options(&self, mut options: Options) -> Options {
        if let Some(secret) = &self.seal_key {
            options.state_key = secret.key();
        }
        options
    }

    /// The bearer-token check of these arguments, for `ServeConfig::authenticator`: the
    /// --auth-token table, or the --jwt-issuer verifier fetching its keys with `fetch` (e.g.
    /// `HttpFetch::new(runtime)`); `None` without either.
    pub fn authenticator(
        &self,
        fetch: Arc<dyn Fetch>,
    ) -> Result<Option<Authenticator>, JwtConfigError> {
        if let Some(issuer) = &self.jwt_issuer {
            let audience = self.jwt_audience.as_ref().or(self.resource.as_ref());
            let mut config = JwtConfig::new(issuer, audience.cloned().unwrap_or_default());
            config.jwks_uri = self.jwt_jwks.clone();
            let verifier = JwtVerifier::new(config, fetch)?;
            return Ok(Some(Authenticator::new(verifier)));
        }
        if self.auth_tokens.is_empty() {
            return Ok(None);
        }
        let tokens = self
            .auth_tokens
            .iter()
            .fold(StaticTokens::new(), |tokens, entry| {
                let principal = Principal::new(&entry.name).with_scopes(&self.auth_scopes);
                tokens.with(&entry.token, principal)
            });
        Ok(Some(Authenticator::new(tokens)))
    }

    /// Installs the global `tracing` subscriber: lines to stderr in `--log-format`, filtered by
    /// `RUST_LOG` or else `default_filter` (e.g. `"info"`), coloured only on a terminal.
    pub fn init_logging(&self, default_filter: &str) {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| default_filter.into());
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal());
        match self.log_format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().init(),
        }
    }
}

/// One `--allow-origin` value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AllowOrigin {
    /// `*`: any origin.
    Any,
    /// `loopback`: http(s)://localhost, 127.0.0.1 and [::1], any port.
    Loopback,
    /// One origin, compared byte for byte with the `Origin` a browser sends.
    Origin(String),
}

impl AllowOrigin {
    /// The values that describe `policy` (the default shown by `--help`).
    fn of(policy: &OriginPolicy) -> Vec<Self> {
        match policy {
            OriginPolicy::Any => vec![Self::Any],
            OriginPolicy::Loopback => vec![Self::Loopback],
            OriginPolicy::List {
                origins,
                with_loopback,
            } => {
                let loopback = with_loopback.then_some(Self::Loopback);
                loopback
                    .into_iter()
                    .chain(origins.iter().cloned().map(Self::Origin))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The policy the values describe together: `*` anywhere allows any origin.
    fn policy(values: &[Self]) -> OriginPolicy {
        if values.contains(&Self::Any) {
            return OriginPolicy::Any;
        }
        let origins: Vec<String> = values
            .iter()
            .filter_map(|value| match value {
                Self::Origin(origin) => Some(origin.clone()),
                _ => None,
            })
            .collect();
        let with_loopback = values.contains(&Self::Loopback);
        match origins.is_empty() {
            true => OriginPolicy::Loopback,
            false => OriginPolicy::List {
                origins,
                with_loopback,
            },
        }
    }
}

impl FromStr for AllowOrigin {
    type Err = String;

    /// `*`, `loopback`, or an origin as browsers send it: `http` or `https`, a host, an optional
    /// port, nothing after (a trailing `/` would never match).
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "*" => return Ok(Self::Any),
            "loopback" => return Ok(Self::Loopback),
            _ => {}
        }
        let authority = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"))
            .ok_or("expected `*`, `loopback` or an origin such as https://app.example.com")?;
        if authority.is_empty() {
            return Err("the origin has no host".into());
        }
        if let Some(bad) = authority
            .chars()
            .find(|c| matches!(c, '/' | '?' | '#' | '@') || !c.is_ascii_graphic())
        {
            return Err(format!(
                "an origin is scheme://host[:port] only, as a browser sends it (found {bad:?}; no path, not even a trailing `/`)"
            ));
        }
        Ok(Self::Origin(text.to_owned()))
    }
}

impl fmt::Display for AllowOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Loopback => f.write_str("loopback"),
            Self::Origin(origin) => f.write_str(origin),
        }
    }
}

/// One `--auth-token` value: NAME:TOKEN.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// The principal's subject.
    pub name: String,
    /// The bearer token.
    pub token: String,
}

impl fmt::Debug for AuthToken {
    /// The name only: tokens stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl FromStr for AuthToken {
    type Err = String;

    /// NAME:TOKEN, both non-empty; the token as a bearer token may be (RFC 6750 token68).
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, token) = text
            .split_once(':')
            .filter(|(name, token)| !name.is_empty() && !token.is_empty())
            .ok_or("expected NAME:TOKEN")?;
        let token68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
        if !token.bytes().all(token68) {
            return Err("a token is letters, digits and -._~+/= only".into());
        }
        Ok(Self {
            name: name.to_owned(),
            token: token.to_owned(),
        })
    }
}

/// `--base-path`: empty, or an absolute path; a trailing `/` is dropped (the server's paths
/// start with one).
fn base_path(text: &str) -> Result<String, String> {
    let path = text.trim_end_matches('/');
    let path_like = path
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'\\'));
    if !(path.is_empty() || path.starts_with('/')) || !path_like {
        return Err("expected an absolute path such as /prefix (no query, no spaces)".into());
    }
    Ok(path.to_owned())
}

/// `--response-mode`: one of the transport's [`ResponseMode`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(pub ResponseMode);

impl ValueEnum for Mode {
    fn value_variants<'a>() -> &'a [Self] {
        const MODES: &[Mode] = &[
            Mode(ResponseMode::Auto),
            Mode(ResponseMode::Json),
            Mode(ResponseMode::Sse),
        ];
        MODES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let hold = Seconds(Config::default().json_hold);
        let (name, help) = match self.0 {
            ResponseMode::Auto => (
                "auto",
                format!(
                    "JSON, unless the handler first sends a notification or a request, or stays silent for {hold} s"
                ),
            ),
            ResponseMode::Json => (
                "json",
                "always JSON (request notifications go nowhere)".into(),
            ),
            ResponseMode::Sse => ("sse", "always an SSE stream".into()),
            _ => return None,
        };
        Some(PossibleValue::new(name).help(help))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self
            .to_possible_value()
            .expect("every mode offered has a name");
        f.write_str(value.get_name())
    }
}

/// A duration given in seconds (fractions allowed), more than zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let seconds: f64 = text
            .parse()
            .map_err(|_| "expected a number of seconds, such as 15 or 0.5")?;
        match Duration::try_from_secs_f64(seconds) {
            Ok(duration) if !duration.is_zero() => Ok(Self(duration)),
            _ => Err("expected a number of seconds more than 0".into()),
        }
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

/// A timeout in [`Seconds`], or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

impl FromStr for Timeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "off" => Ok(Self(None)),
            _ => match text.parse::<Seconds>() {
                Ok(Seconds(duration)) => Ok(Self(Some(duration))),
                Err(error) => Err(format!("{error}, or `off`")),
            },
        }
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(duration) => Seconds(duration).fmt(f),
            None => f.write_str("off"),
        }
    }
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields), for log collectors.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<ServerArgs, clap::Error> {
        ServerArgs::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
    }

    fn configured(args: &[&str]) -> Config {
        parse(args).unwrap().configure(Config::default())
    }

    /// The error's text, without clap's styling.
    fn error(args: &[&str]) -> String {
        let error = parse(args).expect_err("refused");
        let kinds = [ErrorKind::ValueValidation, ErrorKind::InvalidValue];
        assert!(kinds.contains(&error.kind()), "{error}");
        error.render().to_string()
    }

    #[test]
    fn no_flags_leave_the_defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.bind, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(args.log_format, LogFormat::Text);
        let parsed = args.configure(Config::default());
        let default = Config::default();
        // Config has no PartialEq (it holds trait-free settings only, but is non_exhaustive and
        // grows): its Debug form covers every field.
        assert_eq!(format!("{parsed:?}"), format!("{default:?}"));
    }

    /// Each flag that takes a value shows its default, read from `Config::default()`; a switch
    /// shows none (its default is its absence, which `no_flags_leave_the_defaults` checks).
    #[test]
    fn help_names_every_flag_with_the_configs_default() {
        let help = ServerArgs::command().render_long_help().to_string();
        let default = Config::default();
        let idle = default.idle_timeout.unwrap().as_secs().to_string();
        let keepalive = default.keepalive_interval.as_secs().to_string();
        for (flag, value) in [
            ("--bind <ADDR:PORT>", Some("127.0.0.1:8000")),
            ("--allow-origin <ORIGIN>", Some("loopback")),
            ("--no-cors", None),
            ("--base-path <PATH>", Some("\"\"")),
            ("--trust-forwarded", None),
            ("--stateless", None),
            ("--response-mode <MODE>", Some("auto")),
            ("--max-sessions <N>", Some("100000")),
            ("--idle-timeout <SECS>", Some(idle.as_str())),
            ("--keepalive <SECS>", Some(keepalive.as_str())),
            ("--modern-only", None),
            ("--log-format <FORMAT>", Some("text")),
            ("--metrics <ADDR:PORT>", None),
        ] {
            let at = help
                .find(flag)
                .unwrap_or_else(|| panic!("{flag} in\n{help}"));
            // Up to the next flag's line (flags are indented less than their help).
            let section: String = help[at + flag.len()..]
                .lines()
                .take_while(|line| {
                    let indent = line.len() - line.trim_start().len();
                    !(line.trim_start().starts_with('-') && indent < 8)
                })
                .collect();
            let shown = section.find("[default: ").map(|at| {
                let value = &section[at + "[default: ".len()..];
                &value[..value.find(']').expect("closed")]
            });
            assert_eq!(shown, value, "{flag}: {section}");
        }
        assert_eq!(
            default.max_sessions, 100_000,
            "the table above follows the default"
        );
    }

    /// README.md's table of the flags names each one with the default `--help` shows.
    #[test]
    fn the_readme_table_follows_the_help() {
        let readme = include_str!("../../README.md");
        let mut command = ServerArgs::command();
        command.build();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long().filter(|&long| long != "help") else {
                continue;
            };
            let row = readme
                .lines()
                .find(|line| line.starts_with(&format!("| `--{long}")))
                .unwrap_or_else(|| panic!("README.md has no row for --{long}"));
            if arg.get_action().takes_values() {
                let shown = row.split(" | ").nth(1).expect("a default column");
                let expected = match arg.get_default_values().first() {
                    None => "none".to_owned(),
                    Some(default) => match default.to_string_lossy().as_ref() {
                        "" => "empty".to_owned(),
                        value => format!("`{value}`"),
                    },
                };
                assert_eq!(shown, expected, "--{long}: {row}");
            }
        }
    }

    #[test]
    fn each_flag_sets_its_setting() {
        let config = configured(&[
            "--allow-origin",
            "https://app.example.com",
            "--no-cors",
            "--base-path",
            "/prefix/",
            "--trust-forwarded",
            "--stateless",
            "--response-mode",
            "json",
            "--max-sessions",
            "10",
            "--idle-timeout",
            "90",
            "--keepalive",
            "0.5",
            "--modern-only",
        ]);
        assert!(matches!(
            &config.origins,
            OriginPolicy::List { origins, with_loopback: false }
                if origins == &["https://app.example.com"]
        ));
        assert!(config.cors.is_none());
        assert_eq!(config.base_path, "/prefix");
        assert!(config.trust_forwarded_prefix);
        assert!(config.stateless);
        assert_eq!(config.response_mode, ResponseMode::Json);
        assert_eq!(config.max_sessions, 10);
        assert_eq!(config.idle_timeout, Some(Duration::from_secs(90)));
        assert_eq!(config.keepalive_interval, Duration::from_millis(500));
        assert!(config.only_2026);

        let args = parse(&["--bind", "0.0.0.0:9000", "--log-format", "json"]).unwrap();
        assert_eq!(args.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(args.log_format, LogFormat::Json);
        assert_eq!(args.metrics, None);
        let args = parse(&["--metrics", "127.0.0.1:9100"]).unwrap();
        assert_eq!(args.metrics, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(configured(&["--idle-timeout", "off"]).idle_timeout, None);
        assert_eq!(
            configured(&["--response-mode", "sse"]).response_mode,
            ResponseMode::Sse
        );
    }

    #[test]
    fn allowed_origins_combine() {
        let origins = |args: &[&str]| configured(args).origins;
        assert!(matches!(
            origins(&["--allow-origin", "*"]),
            OriginPolicy::Any
        ));
        assert!(matches!(
            origins(&["--allow-origin", "loopback"]),
            OriginPolicy::Loopback
        ));
        assert!(matches!(
            origins(&["--allow-origin", "http://a.test:3000", "--allow-origin", "loopback"]),
            OriginPolicy::List { origins, with_loopback: true } if origins == ["http://a.test:3000"]
        ));
        assert!(matches!(
            origins(&["--allow-origin", "https://a.test", "--allow-origin", "*"]),
            OriginPolicy::Any
        ));
        // The help's default reads back as the default policy.
        let default = AllowOrigin::of(&Config::default().origins);
        assert!(matches!(
            AllowOrigin::policy(&default),
            OriginPolicy::Loopback
        ));
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        for (args, says) in [
            (&["--bind", "localhost"][..], "invalid socket address"),
            (
                &["--allow-origin", "app.example.com"],
                "expected `*`, `loopback` or an origin",
            ),
            (&["--allow-origin", "https://app.example.com/"], "no path"),
            (&["--allow-origin", "https://"], "no host"),
            (&["--base-path", "prefix"], "expected an absolute path"),
            (&["--base-path", "/a b"], "expected an absolute path"),
            (
                &["--response-mode", "xml"],
                "[possible values: auto, json, sse]",
            ),
            (&["--max-sessions", "0"], "0 is not in 1.."),
            (&["--max-sessions", "many"], "invalid digit"),
            (
                &["--idle-timeout", "never"],
                "expected a number of seconds, such as 15 or 0.5, or `off`",
            ),
            (&["--idle-timeout", "0"], "more than 0, or `off`"),
            (
                &["--keepalive", "0"],
                "expected a number of seconds more than 0",
            ),
            (&["--keepalive=-1"], "more than 0"),
            (&["--keepalive", "off"], "expected a number of seconds"),
            (&["--log-format", "xml"], "[possible values: text, json]"),
            (&["--metrics", "9100"], "invalid socket address"),
        ] {
            let text = error(args);
            assert!(text.contains(says), "{args:?}: {text}");
            let flag = args[0].split('=').next().unwrap();
            assert!(text.contains(flag), "{args:?} names its flag: {text}");
        }
        let unknown = parse(&["--port", "80"]).expect_err("refused");
        assert_eq!(unknown.kind(), ErrorKind::UnknownArgument);
        let missing = parse(&["--bind"]).expect_err("refused");
        assert_eq!(missing.kind(), ErrorKind::InvalidValue);
    }

    /// A fetch that is never used: the static table needs none, and a JWT verifier fetches only
    /// when a token comes.
    struct NoFetch;

    impl Fetch for NoFetch {
        fn get<'a>(&'a self, _: &'a str, _: usize) -> mcp_sse_app::auth::jwt::FetchFuture<'a> {
            unreachable!("nothing is fetched here")
        }
    }

    #[test]
    fn the_auth_flags_turn_authorization_on() {
        assert!(configured(&[]).auth.is_none());
        assert!(
            parse(&[])
                .unwrap()
                .authenticator(Arc::new(NoFetch))
                .unwrap()
                .is_none()
        );
        let args = parse(&[
            "--resource",
            "https://mcp.example.com/mcp",
            "--auth-token",
            "ci:s3cret",
            "--auth-token",
            "ops:other",
            "--auth-scope",
            "mcp",
        ])
        .unwrap();
        let auth = args.configure(Config::default()).auth.expect("on");
        assert_eq!(auth.resource, "https://mcp.example.com/mcp");
        assert!(auth.authorization_servers.is_empty());
        assert_eq!(
            (auth.required_scopes, auth.scopes_supported),
            (vec!["mcp".to_owned()], vec!["mcp".to_owned()])
        );
        assert!(!format!("{args:?}").contains("s3cret"), "{args:?}");
        let authenticator = args
            .authenticator(Arc::new(NoFetch))
            .unwrap()
            .expect("tokens");
        assert!(format!("{authenticator:?}").contains("Authenticator"));

        let args = parse(&[
            "--resource",
            "https://mcp.example.com/mcp",
            "--jwt-issuer",
            "https://auth.example.com",
            "--jwt-jwks",
            "https://auth.example.com/jwks",
        ])
        .unwrap();
        let auth = args.configure(Config::default()).auth.expect("on");
        assert_eq!(auth.authorization_servers, ["https://auth.example.com"]);
        assert!(args.authenticator(Arc::new(NoFetch)).unwrap().is_some());

        for (args, says) in [
            (&["--auth-token", "ci:s3cret"][..], "--resource"),
            (&["--jwt-issuer", "https://a.test"], "--resource"),
            (&["--jwt-audience", "x"], "--jwt-issuer"),
            (
                &["--resource", "https://m.test/mcp", "--auth-token", "s3cret"],
                "expected NAME:TOKEN",
            ),
            (
                &["--resource", "https://m.test/mcp", "--auth-token", "ci:a b"],
                "-._~+/= only",
            ),
            (
                &[
                    "--resource",
                    "https://m.test/mcp",
                    "--auth-token",
                    "ci:t",
                    "--jwt-issuer",
                    "https://a.test",
                ],
                "cannot be used with",
            ),
        ] {
            let error = parse(args).expect_err("refused").render().to_string();
            assert!(error.contains(says), "{args:?}: {error}");
        }
    }

    #[test]
    fn the_command_is_well_formed() {
        ServerArgs::command().debug_assert();
    }
}

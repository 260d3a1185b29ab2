//! [`ProtocolVersion`]: the MCP revisions this crate speaks, and what each changes on the wire.

use std::fmt;

/// An MCP protocol revision (S5.18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// 2024-11-05: the HTTP+SSE transport.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP; batches.
    V2025_03_26,
    /// 2025-06-18: no batches; `MCP-Protocol-Version` header.
    V2025_06_18,
    /// 2025-11-25: priming events and server-initiated polling.
    V2025_11_25,
    /// 2026-07-28: no sessions; every request self-describing (`_meta` and request headers).
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every version served, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];

    /// The version named by `text`, if served.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The version's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Whether requests of this version are self-describing and sessionless (S3.1).
    pub fn is_modern(self) -> bool {
        self >= Self::V2026_07_28
    }

    /// Whether a POST may carry a JSON-RPC batch (S2.6, S2.7).
    pub fn allows_batches(self) -> bool {
        self == Self::V2025_03_26
    }

    /// Whether clients expect the priming event and may be asked to poll (S2.16, S2.31, S2.33):
    /// older clients break on the priming event's empty data.
    pub fn primes_streams(self) -> bool {
        self == Self::V2025_11_25
    }

    /// The supported versions as a JSON array, for error bodies (S2.48).
    pub(crate) fn supported_json() -> String {
        let names: Vec<_> = Self::ALL
            .iter()
            .map(|v| format!("\"{}\"", v.as_str()))
            .collect();
        format!("[{}]", names.join(","))
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

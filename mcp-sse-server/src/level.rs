//! Log levels (`LoggingLevel`), ranked by severity as syslog ranks them.

use rust_mcp_schema::LoggingLevel;

/// The level named `text`.
pub(crate) fn parse(text: &str) -> Option<LoggingLevel> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

/// Higher is more severe.
pub(crate) fn rank(level: &LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_their_wire_names_and_rank_by_severity() {
        let names = [
            "debug",
            "info",
            "notice",
            "warning",
            "error",
            "critical",
            "alert",
            "emergency",
        ];
        let ranks: Vec<u8> = names
            .iter()
            .map(|name| rank(&parse(name).expect(name)))
            .collect();
        assert_eq!(ranks, (0..8).collect::<Vec<u8>>());
        assert!(parse("loud").is_none());
    }
}

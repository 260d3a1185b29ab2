//! Tokio adapter for mcp-sse-core.

//! Simulation harness for mcp-sse-core.

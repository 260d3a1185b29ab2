//! JSON-RPC 2.0 messages with MCP's restrictions.

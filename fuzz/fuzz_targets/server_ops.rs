#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_sse_core::fuzzing::server_ops(data);
});

//! mcp-sse's JSON-RPC values into rmcp's typed messages, and rmcp's answers back.
//!
//! The core hands over requests with their `params` as raw JSON; rmcp parses its own types from
//! the same bytes. What rmcp sends goes out as rmcp serialises it.

use bytes::Bytes;
use mcp_sse_app::RequestContext;
use mcp_sse_app::core::Change;
use mcp_sse_app::core::ProtocolVersion;
use mcp_sse_app::jsonrpc::{self, ErrorObject};
use rmcp::ErrorData;
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, GetExtensions, GetMeta, InitializeRequestParams,
    JsonRpcRequest, ProgressToken, RequestId, ServerJsonRpcMessage, ServerNotification,
    ServerResult,
};
use serde_json::Value;

/// A handler's answer, as mcp-sse takes it.
pub(crate) type Outcome = Result<Value, ErrorObject>;

/// A client request as rmcp's typed request, carrying in its extensions what rmcp's own HTTP
/// service puts there (the request head, `http::request::Parts`) and the mcp-sse request
/// context. Unknown methods become rmcp's `CustomRequest`; known ones with params rmcp cannot
/// read are answered `-32602` here, as rmcp's own service refuses the body.
pub(crate) fn request(
    cx: &RequestContext,
    request: &jsonrpc::Request,
) -> Result<JsonRpcRequest<ClientRequest>, ErrorObject> {
    let encoded = jsonrpc::encode_request(&request.id, &request.method, request.params.as_deref());
    let mut typed = client_request(&request.method, &encoded)
        .map_err(|error| ErrorObject::invalid_params(format!("Invalid params: {error}")))?;
    let extensions = typed.extensions_mut();
    extensions.insert(cx.http().clone());
    extensions.insert(cx.clone());
    let id = match &request.id {
        jsonrpc::Id::Number(n) => RequestId::Number(*n),
        jsonrpc::Id::String(s) => RequestId::String(s.as_ref().into()),
    };
    Ok(JsonRpcRequest::new(id, typed))
}

/// The request of `method` as rmcp's type, read straight into its variant: `ClientRequest` is an
/// untagged union, which serde reads by buffering the request and trying its variants in turn
/// (about a tenth of the bridge's time per `tools/call`, measured). Unknown methods take that
/// path to rmcp's `CustomRequest`.
fn client_request(method: &str, encoded: &[u8]) -> serde_json::Result<ClientRequest> {
    macro_rules! by_method {
        ($($name:literal => $variant:ident),* $(,)?) => {
            match method {
                $($name => serde_json::from_slice(encoded).map(ClientRequest::$variant),)*
                _ => serde_json::from_slice(encoded),
            }
        };
    }
    by_method! {
        "tools/call" => CallToolRequest,
        "tools/list" => ListToolsRequest,
        "resources/read" => ReadResourceRequest,
        "resources/list" => ListResourcesRequest,
        "resources/templates/list" => ListResourceTemplatesRequest,
        "prompts/get" => GetPromptRequest,
        "prompts/list" => ListPromptsRequest,
        "completion/complete" => CompleteRequest,
        "ping" => PingRequest,
        "initialize" => InitializeRequest,
        "server/discover" => DiscoverRequest,
        "logging/setLevel" => SetLevelRequest,
        "resources/subscribe" => SubscribeRequest,
        "resources/unsubscribe" => UnsubscribeRequest,
        "subscriptions/listen" => SubscriptionsListenRequest,
    }
}

/// The progress token a request carries in `_meta`, if any.
pub(crate) fn progress_token(request: &JsonRpcRequest<ClientRequest>) -> Option<ProgressToken> {
    request.request.get_meta().get_progress_token()
}

/// A client notification as rmcp's, with the request head in its extensions; `None` when rmcp
/// cannot read it (it would drop it too).
pub(crate) fn notification(
    head: &http::request::Parts,
    notification: &jsonrpc::Notification,
) -> Option<ClientJsonRpcMessage> {
    let encoded =
        jsonrpc::encode_notification(&notification.method, notification.params.as_deref());
    let mut message: ClientJsonRpcMessage = serde_json::from_slice(&encoded)
        .inspect_err(|error| tracing::debug!(%error, "a notification rmcp cannot read dropped"))
        .ok()?;
    if let ClientJsonRpcMessage::Notification(notification) = &mut message {
        notification
            .notification
            .extensions_mut()
            .insert(head.clone());
    }
    Some(message)
}

/// A client's answer to a server request, as rmcp's.
pub(crate) fn response(response: &jsonrpc::Message) -> Option<ClientJsonRpcMessage> {
    serde_json::from_slice(&jsonrpc::encode_message(response))
        .inspect_err(|error| tracing::debug!(%error, "an answer rmcp cannot read dropped"))
        .ok()
}

/// `notifications/cancelled` for a request, as the client would have sent it: the core takes
/// the client's own (S2.17), and a closed 2026-07-28 stream has none.
pub(crate) fn cancelled(id: RequestId) -> ClientJsonRpcMessage {
    let id = serde_json::to_value(id).unwrap_or(Value::Null);
    let text = serde_json::json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": { "requestId": id, "reason": "cancelled by the client" },
    });
    serde_json::from_value(text).expect("rmcp reads its own cancellation notification")
}

/// A result rmcp produced, as the value mcp-sse answers with.
pub(crate) fn result(result: &ServerResult) -> Outcome {
    serde_json::to_value(result)
        .map_err(|error| ErrorObject::internal_error(format!("unserialisable result: {error}")))
}

/// An error rmcp answered with, as mcp-sse's error object.
pub(crate) fn error(error: &ErrorData) -> ErrorObject {
    let object = ErrorObject::new(i64::from(error.code.0), error.message.to_string());
    match error.data.as_ref().map(serde_json::value::to_raw_value) {
        Some(Ok(data)) => object.with_data(data),
        _ => object,
    }
}

/// A message rmcp sends, encoded for the wire.
pub(crate) fn encode(message: &ServerJsonRpcMessage) -> Bytes {
    serde_json::to_vec(message)
        .expect("rmcp's messages serialise")
        .into()
}

/// The change a notification announces to 2026-07-28 `subscriptions/listen` streams, which the
/// core holds (rmcp's `ServerHandler::listen` is not called).
pub(crate) fn change(notification: &ServerNotification) -> Option<Change> {
    Some(match notification {
        ServerNotification::ToolListChangedNotification(_) => Change::ToolsListChanged,
        ServerNotification::PromptListChangedNotification(_) => Change::PromptsListChanged,
        ServerNotification::ResourceListChangedNotification(_) => Change::ResourcesListChanged,
        ServerNotification::ResourceUpdatedNotification(updated) => {
            Change::ResourceUpdated(updated.params.uri.clone())
        }
        _ => return None,
    })
}

/// What rmcp's one-shot path needs to know of the client: the protocol version the request is
/// served under (the core's, else the `MCP-Protocol-Version` header, else 2025-03-26, as rmcp's
/// own stateless service assumes).
pub(crate) fn peer_info(cx: &RequestContext) -> InitializeRequestParams {
    let version = cx
        .protocol_version()
        .map(ProtocolVersion::as_str)
        .or_else(|| {
            cx.http()
                .headers
                .get("mcp-protocol-version")
                .and_then(|value| value.to_str().ok())
        })
        .and_then(|version| serde_json::from_value(Value::String(version.to_owned())).ok())
        .unwrap_or(rmcp::model::ProtocolVersion::V_2025_03_26);
    InitializeRequestParams::new(Default::default(), Default::default())
        .with_protocol_version(version)
}

/// The answer to a request whose service ended without answering it.
pub(crate) fn gone() -> ErrorObject {
    ErrorObject::internal_error("the rmcp service ended before it answered")
}

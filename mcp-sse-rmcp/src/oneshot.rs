//! Requests without a session (2026-07-28, and stateless serving): one rmcp service per request,
//! through rmcp's public one-shot path (`OneshotTransport` with `serve_directly_with_ct`, or
//! `serve_server_with_ct` for a stateless `initialize`, so that rmcp negotiates the version).
//!
//! Everything the service sends before its answer goes on the request's stream, except list
//! changes on 2026-07-28, which belong to `subscriptions/listen` streams: those are published.
//! Dropping the future (the client closed a 2026-07-28 stream, S3.15) cancels the service.

use mcp_sse_app::{RequestContext, Transport};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, JsonRpcRequest};
use rmcp::service::{serve_directly_with_ct, serve_server_with_ct};
use rmcp::transport::OneshotTransport;
use rmcp::{RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use crate::wire::{self, Outcome};

/// Serves `request` with a service of its own and resolves with its answer.
pub(crate) async fn serve<S: ServerHandler>(
    service: S,
    cx: &RequestContext,
    request: JsonRpcRequest<ClientRequest>,
) -> Outcome {
    let initialize = matches!(request.request, ClientRequest::InitializeRequest(_));
    let (transport, mut outbound) =
        OneshotTransport::<RoleServer>::new(ClientJsonRpcMessage::Request(request));
    let stop = CancellationToken::new();
    // Held until the answer is read: a running service, dropped, cancels its token (and with
    // it every handler's), so dropping this future stops the request's handler.
    let _running = if initialize {
        serve_server_with_ct(service, transport, stop)
            .await
            .inspect_err(|error| tracing::debug!(%error, "stateless initialize failed"))
            .ok()
    } else {
        Some(serve_directly_with_ct(
            service,
            transport,
            Some(wire::peer_info(cx)),
            stop,
        ))
    };
    let modern = cx.transport() == Transport::Streamable2026;
    while let Some(message) = outbound.recv().await {
        match &message {
            JsonRpcMessage::Response(response) => return wire::result(&response.result),
            JsonRpcMessage::Error(error) => return Err(wire::error(&error.error)),
            JsonRpcMessage::Notification(notification) => {
                if let Some(change) = wire::change(&notification.notification) {
                    cx.handle().publish(change);
                    if modern {
                        continue;
                    }
                }
            }
            // 2026-07-28 forbids them (rmcp does not send them there); a stateless client can
            // see one but has no session to answer in, as with rmcp's own stateless service.
            JsonRpcMessage::Request(_) => {}
        }
        if let Err(error) = cx.send_message(wire::encode(&message)) {
            tracing::debug!(%error, "a message of a sessionless request dropped");
        }
    }
    Err(wire::gone())
}

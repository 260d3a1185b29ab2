//! Content items and tool results: short constructors for the schema types, and
//! [`IntoToolResult`], what a tool may return.

use rust_mcp_schema::{
    AudioContent, BlobResourceContents, CallToolResult, ContentBlock, EmbeddedResource,
    EmbeddedResourceResource, ImageContent, PromptMessage, ReadResourceContent, Role, TextContent,
    TextResourceContents,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::derive;
use crate::error::Error;

/// A text item.
pub fn text(text: impl Into<String>) -> ContentBlock {
    TextContent::new(text.into(), None, None).into()
}

/// An image item: base64 `data` of the `mime_type`.
pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> ContentBlock {
    ImageContent::new(data.into(), mime_type.into(), None, None).into()
}

/// An audio item: base64 `data` of the `mime_type`.
pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> ContentBlock {
    AudioContent::new(data.into(), mime_type.into(), None, None).into()
}

/// An embedded text resource item.
pub fn embedded_text(uri: &str, mime_type: &str, text: impl Into<String>) -> ContentBlock {
    let contents = text_contents(uri, mime_type, text);
    let resource = match contents {
        ReadResourceContent::TextResourceContents(text) => {
            EmbeddedResourceResource::TextResourceContents(text)
        }
        ReadResourceContent::BlobResourceContents(blob) => {
            EmbeddedResourceResource::BlobResourceContents(blob)
        }
    };
    EmbeddedResource::new(resource, None, None).into()
}

/// The text contents of a resource, for a `resources/read` result.
pub fn text_contents(uri: &str, mime_type: &str, text: impl Into<String>) -> ReadResourceContent {
    ReadResourceContent::TextResourceContents(TextResourceContents {
        meta: None,
        mime_type: Some(mime_type.to_owned()),
        text: text.into(),
        uri: uri.to_owned(),
    })
}

/// The binary contents of a resource (base64 `blob`), for a `resources/read` result.
pub fn blob_contents(uri: &str, mime_type: &str, blob: impl Into<String>) -> ReadResourceContent {
    ReadResourceContent::BlobResourceContents(BlobResourceContents {
        blob: blob.into(),
        meta: None,
        mime_type: Some(mime_type.to_owned()),
        uri: uri.to_owned(),
    })
}

/// A prompt message from the user.
pub fn user(content: ContentBlock) -> PromptMessage {
    PromptMessage {
        content,
        role: Role::User,
    }
}

/// A prompt message from the assistant.
pub fn assistant(content: ContentBlock) -> PromptMessage {
    PromptMessage {
        content,
        role: Role::Assistant,
    }
}

/// A successful tool result with these items.
pub fn tool_result(content: Vec<ContentBlock>) -> CallToolResult {
    CallToolResult {
        content,
        is_error: None,
        meta: None,
        structured_content: None,
    }
}

/// A failed tool result (`isError: true`) with one text item.
pub fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult {
        is_error: Some(true),
        ..tool_result(vec![text(message)])
    }
}

/// What a tool may return: text, items, a whole [`CallToolResult`], or [`Json`] for structured
/// output (which also gives the tool its `outputSchema`).
pub trait IntoToolResult {
    /// The result.
    fn into_tool_result(self) -> Result<CallToolResult, Error>;

    /// The tool's `outputSchema`, when its results are structured.
    fn output_schema() -> Option<Value> {
        None
    }
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> Result<CallToolResult, Error> {
        Ok(self)
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> Result<CallToolResult, Error> {
        Ok(tool_result(vec![text(self)]))
    }
}

impl IntoToolResult for &'static str {
    fn into_tool_result(self) -> Result<CallToolResult, Error> {
        Ok(tool_result(vec![text(self)]))
    }
}

impl IntoToolResult for ContentBlock {
    fn into_tool_result(self) -> Result<CallToolResult, Error> {
        Ok(tool_result(vec![self]))
    }
}

impl IntoToolResult for Vec<ContentBlock> {
    fn into_tool_result(self) -> Result<CallToolResult, Error> {
        Ok(tool_result(self))
    }
}

/// Structured tool output: `structuredContent` is the value, a text item carries the same JSON
/// for clients that read only `content` (as the spec advises), and the tool's `outputSchema` is
/// derived from `T`, which must serialize as a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct Json<T>(pub T);

impl<T: Serialize + JsonSchema> IntoToolResult for Json<T> {
    fn into_tool_result(self) -> Result<CallToolResult, Error> {
        let value = serde_json::to_value(&self.0).map_err(|error| {
            Error::internal(format!("the tool's output does not serialize: {error}"))
        })?;
        let Value::Object(fields) = value else {
            return Err(Error::internal(
                "a tool's structured output must be a JSON object",
            ));
        };
        let text = Value::Object(fields.clone()).to_string();
        Ok(CallToolResult {
            structured_content: Some(fields),
            ..tool_result(vec![self::text(text)])
        })
    }

    fn output_schema() -> Option<Value> {
        Some(derive::of::<T>())
    }
}

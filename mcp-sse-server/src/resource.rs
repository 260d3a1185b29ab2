//! [`Resource`] (one URI) and [`ResourceTemplate`] (a URI pattern, RFC 6570 level 1).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rust_mcp_schema::ReadResourceContent;
use serde_json::{Map, Value, json};

use crate::content::{blob_contents, text_contents};
use crate::context::Context;
use crate::error::Error;
use crate::prompt::Completer;

type Read = dyn Fn(
        String,
        HashMap<String, String>,
        Context,
    ) -> BoxFuture<'static, Result<Vec<ReadResourceContent>, Error>>
    + Send
    + Sync;

/// A resource at one URI, and how to read it.
#[derive(Clone)]
pub struct Resource {
    pub(crate) uri: String,
    pub(crate) descriptor: Map<String, Value>,
    pub(crate) read: Arc<Read>,
    pub(crate) ttl: Option<Duration>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("descriptor", &self.descriptor)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Resource {
    /// A resource read by `read`, which returns its contents.
    pub fn new<F, Fut>(uri: impl Into<String>, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ReadResourceContent>, Error>> + Send + 'static,
    {
        let uri = uri.into();
        let mut descriptor = Map::new();
        descriptor.insert("uri".into(), json!(uri));
        descriptor.insert("name".into(), json!(name.into()));
        let read = Arc::new(read);
        Self {
            uri,
            descriptor,
            read: Arc::new(move |_, _, cx| Box::pin(read(cx))),
            ttl: None,
        }
    }

    /// A resource whose text never changes.
    pub fn text(
        uri: impl Into<String>,
        name: impl Into<String>,
        mime_type: &str,
        text: impl Into<String>,
    ) -> Self {
        let uri = uri.into();
        let contents = text_contents(&uri, mime_type, text);
        Self::fixed(uri, name, contents).mime_type(mime_type)
    }

    /// A binary resource (base64 `blob`) that never changes.
    pub fn blob(
        uri: impl Into<String>,
        name: impl Into<String>,
        mime_type: &str,
        blob: impl Into<String>,
    ) -> Self {
        let uri = uri.into();
        let contents = blob_contents(&uri, mime_type, blob);
        Self::fixed(uri, name, contents).mime_type(mime_type)
    }

    fn fixed(uri: String, name: impl Into<String>, contents: ReadResourceContent) -> Self {
        Self::new(uri, name, move |_| {
            let contents = contents.clone();
            async move { Ok(vec![contents]) }
        })
    }

    /// A description for the model.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.descriptor
            .insert("description".into(), json!(description.into()));
        self
    }

    /// The MIME type of its contents.
    #[must_use]
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.descriptor
            .insert("mimeType".into(), json!(mime_type.into()));
        self
    }

    /// How long 2026-07-28 clients may cache what they read (`ttlMs` of `resources/read`);
    /// the server's [`Options::read_ttl`](crate::Options::read_ttl) otherwise.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The resource as `resources/list` shows it.
    pub fn descriptor(&self) -> Value {
        Value::Object(self.descriptor.clone())
    }
}

/// Resources whose URIs fit a template such as `file:///logs/{date}`: each `{name}` matches one
/// non-empty path segment (no `/`), and the handler gets the values by name.
#[derive(Clone)]
pub struct ResourceTemplate {
    pub(crate) pattern: Vec<Piece>,
    pub(crate) descriptor: Map<String, Value>,
    pub(crate) read: Arc<Read>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) completions: HashMap<String, Completer>,
}

impl fmt::Debug for ResourceTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplate")
            .field("descriptor", &self.descriptor)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Literal(String),
    Variable(String),
}

impl ResourceTemplate {
    /// A template read by `read`, which gets the URI and its variables.
    pub fn new<F, Fut>(uri_template: impl Into<String>, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(String, HashMap<String, String>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ReadResourceContent>, Error>> + Send + 'static,
    {
        let template = uri_template.into();
        let mut descriptor = Map::new();
        descriptor.insert("uriTemplate".into(), json!(template));
        descriptor.insert("name".into(), json!(name.into()));
        let read = Arc::new(read);
        Self {
            pattern: parse(&template),
            descriptor,
            read: Arc::new(move |uri, variables, cx| Box::pin(read(uri, variables, cx))),
            ttl: None,
            completions: HashMap::new(),
        }
    }

    /// A description for the model.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.descriptor
            .insert("description".into(), json!(description.into()));
        self
    }

    /// The MIME type of its contents.
    #[must_use]
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.descriptor
            .insert("mimeType".into(), json!(mime_type.into()));
        self
    }

    /// How long 2026-07-28 clients may cache what they read.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Suggestions for the variable `name` (`completion/complete`).
    #[must_use]
    pub fn complete(
        mut self,
        name: impl Into<String>,
        complete: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completions.insert(name.into(), Arc::new(complete));
        self
    }

    /// The template as `resources/templates/list` shows it.
    pub fn descriptor(&self) -> Value {
        Value::Object(self.descriptor.clone())
    }

    /// The template's text.
    pub fn uri_template(&self) -> &str {
        self.descriptor["uriTemplate"].as_str().unwrap_or_default()
    }

    /// The variables of `uri` when it fits the template.
    pub(crate) fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        let mut rest = uri;
        let mut variables = HashMap::new();
        for (at, piece) in self.pattern.iter().enumerate() {
            match piece {
                Piece::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
                Piece::Variable(name) => {
                    let end = match self.pattern.get(at + 1) {
                        Some(Piece::Literal(next)) => rest.get(1..)?.find(next.as_str())? + 1,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    variables.insert(name.clone(), value.to_owned());
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(variables)
    }
}

/// The literal text and `{variables}` of a template; an unclosed `{` is literal.
fn parse(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let variable = rest
            .find('{')
            .and_then(|open| Some((open, open + rest[open..].find('}')?)));
        match variable {
            Some((open, close)) => {
                if open > 0 {
                    pieces.push(Piece::Literal(rest[..open].to_owned()));
                }
                pieces.push(Piece::Variable(rest[open + 1..close].to_owned()));
                rest = &rest[close + 1..];
            }
            None => {
                pieces.push(Piece::Literal(rest.to_owned()));
                rest = "";
            }
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> ResourceTemplate {
        ResourceTemplate::new(text, "t", |_, _, _| async { Ok(Vec::new()) })
    }

    #[test]
    fn variables_match_one_non_empty_segment() {
        let data = template("test://template/{id}/data");
        let found = data.matches("test://template/42/data").expect("fits");
        assert_eq!(found["id"], "42");
        assert!(data.matches("test://template//data").is_none());
        assert!(data.matches("test://template/a/b/data").is_none());
        assert!(data.matches("test://template/42/data/more").is_none());
        assert!(data.matches("test://other/42/data").is_none());
    }

    #[test]
    fn a_trailing_variable_takes_the_rest_and_two_variables_split_on_the_literal() {
        let logs = template("file:///logs/{day}");
        assert_eq!(
            logs.matches("file:///logs/2026-01-02").expect("fits")["day"],
            "2026-01-02"
        );
        let pair = template("db://{table}-{row}");
        let found = pair.matches("db://users-7").expect("fits");
        assert_eq!(
            (found["table"].as_str(), found["row"].as_str()),
            ("users", "7")
        );
    }
}

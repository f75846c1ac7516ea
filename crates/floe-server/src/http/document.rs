//! A small element tree that the admin interface writes either as Icecast's XML or as the same
//! data in JSON, so both shapes always carry the same fields.
//!
//! XML is written as libxml2 writes Icecast's documents: `<?xml version="1.0"?>`, a newline,
//! then the root element without indentation. In JSON the root becomes a one-key object
//! (`{"icestats": {…}}`), attributes and fields become keys, numbers stay numbers, and a
//! [`Element::list`] is always an array (never Icecast's object-for-one wart).

use super::error::Flavor;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use floe_proto::xml::escape;
use serde_json::{Map, Value};

/// A leaf value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    /// Text (escaped in XML, a string in JSON).
    Text(String),
    /// A count (a number in JSON).
    Int(u64),
}

impl From<&str> for Scalar {
    fn from(v: &str) -> Scalar {
        Scalar::Text(v.to_string())
    }
}

impl From<String> for Scalar {
    fn from(v: String) -> Scalar {
        Scalar::Text(v)
    }
}

impl From<u64> for Scalar {
    fn from(v: u64) -> Scalar {
        Scalar::Int(v)
    }
}

impl From<u32> for Scalar {
    fn from(v: u32) -> Scalar {
        Scalar::Int(u64::from(v))
    }
}

impl From<usize> for Scalar {
    fn from(v: usize) -> Scalar {
        Scalar::Int(v as u64)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Field(&'static str, Scalar),
    Child(Element),
    List(&'static str, Vec<Element>),
}

/// An element with attributes and children, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    children: Vec<Node>,
}

impl Element {
    /// An empty element.
    pub fn new(name: &'static str) -> Element {
        Element {
            name,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Element {
        self.attrs.push((name, value.into()));
        self
    }

    /// Adds a leaf child `<name>value</name>`.
    pub fn field(mut self, name: &'static str, value: impl Into<Scalar>) -> Element {
        self.children.push(Node::Field(name, value.into()));
        self
    }

    /// Adds a leaf child when there is a value.
    pub fn field_opt<V: Into<Scalar>>(self, name: &'static str, value: Option<V>) -> Element {
        match value {
            Some(v) => self.field(name, v),
            None => self,
        }
    }

    /// Adds a nested element.
    pub fn child(mut self, element: Element) -> Element {
        self.children.push(Node::Child(element));
        self
    }

    /// Adds repeated elements (written one after another in XML, as an array under `key` in JSON).
    pub fn list(mut self, key: &'static str, elements: Vec<Element>) -> Element {
        self.children.push(Node::List(key, elements));
        self
    }

    /// The document as XML, declaration included.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\"?>\n");
        self.write_xml(&mut out);
        out
    }

    fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name);
        for (name, value) in &self.attrs {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(&escape(value));
            out.push('"');
        }
        out.push('>');
        for node in &self.children {
            match node {
                Node::Field(name, value) => {
                    out.push('<');
                    out.push_str(name);
                    out.push('>');
                    match value {
                        Scalar::Text(t) => out.push_str(&escape(t)),
                        Scalar::Int(n) => out.push_str(&n.to_string()),
                    }
                    out.push_str("</");
                    out.push_str(name);
                    out.push('>');
                }
                Node::Child(e) => e.write_xml(out),
                Node::List(_, elements) => elements.iter().for_each(|e| e.write_xml(out)),
            }
        }
        out.push_str("</");
        out.push_str(self.name);
        out.push('>');
    }

    /// The document as JSON: `{"root": {…}}`.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        root.insert(self.name.to_string(), self.json_body());
        Value::Object(root)
    }

    fn json_body(&self) -> Value {
        let mut map = Map::new();
        for (name, value) in &self.attrs {
            map.insert((*name).to_string(), Value::String(value.clone()));
        }
        for node in &self.children {
            match node {
                Node::Field(name, Scalar::Text(t)) => {
                    map.insert((*name).to_string(), Value::String(t.clone()));
                }
                Node::Field(name, Scalar::Int(n)) => {
                    map.insert((*name).to_string(), Value::from(*n));
                }
                Node::Child(e) => {
                    map.insert(e.name.to_string(), e.json_body());
                }
                Node::List(key, elements) => {
                    let items = elements.iter().map(Element::json_body).collect();
                    map.insert((*key).to_string(), Value::Array(items));
                }
            }
        }
        Value::Object(map)
    }

    /// The document as a response in the requested shape (`text/xml` or `application/json`).
    pub fn respond(&self, flavor: Flavor) -> Response {
        match flavor {
            Flavor::Json => json_response(&self.to_json()),
            Flavor::Xml | Flavor::Text => {
                ([(header::CONTENT_TYPE, "text/xml")], self.to_xml()).into_response()
            }
        }
    }
}

/// A JSON value as an `application/json` response.
pub fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// Icecast's reply document: `<iceresponse><message>…</message><return>1|0</return></iceresponse>`.
pub fn ice_response(message: &str, ok: bool) -> Element {
    Element::new("iceresponse")
        .field("message", message)
        .field("return", u64::from(ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_json_carry_the_same_fields() {
        let doc = Element::new("icestats").field("admin", "a&b").child(
            Element::new("source")
                .attr("mount", "/x\"y")
                .field("listeners", 2u64)
                .list(
                    "listener",
                    vec![Element::new("listener").attr("id", "1").field("ID", 1u64)],
                ),
        );
        assert_eq!(
            doc.to_xml(),
            "<?xml version=\"1.0\"?>\n<icestats><admin>a&amp;b</admin><source mount=\"/x&quot;y\">\
             <listeners>2</listeners><listener id=\"1\"><ID>1</ID></listener></source></icestats>"
        );
        assert_eq!(
            doc.to_json(),
            serde_json::json!({"icestats": {"admin": "a&b", "source": {
                "mount": "/x\"y", "listeners": 2, "listener": [{"id": "1", "ID": 1}]}}})
        );
    }

    #[test]
    fn ice_response_is_byte_exact() {
        assert_eq!(
            ice_response("Metadata update successful", true).to_xml(),
            "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful</message>\
             <return>1</return></iceresponse>"
        );
    }
}

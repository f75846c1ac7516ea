//! The `subsonic-response` envelope and the element tree inside it, written as XML
//! (namespace `http://subsonic.org/restapi`) or JSON/JSONP from the same data.
//!
//! JSON follows the Subsonic convention: the envelope is `{"subsonic-response": {…}}`,
//! attributes become keys with typed values (numbers, booleans), a nested element becomes an
//! object under its name, repeated elements become an array under their name (an array even
//! for one element, and for none), and an element's text becomes `"value"`.

use super::auth::API_VERSION;
use super::error::SubsonicError;
use floe_proto::xml::escape;
use serde_json::{Map, Value as Json};

/// The XML namespace of the Subsonic API.
pub const NAMESPACE: &str = "http://subsonic.org/restapi";
/// The server's name in the envelope's `type`.
pub const SERVER_TYPE: &str = "floe";

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// An integer (a JSON number).
    Int(i64),
    /// A real number (a JSON number).
    Float(f64),
    /// `true`/`false` (a JSON boolean).
    Bool(bool),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }

    fn json(&self) -> Json {
        match self {
            Value::Str(s) => Json::String(s.clone()),
            Value::Int(n) => Json::from(*n),
            Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
            Value::Bool(b) => Json::Bool(*b),
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Str(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    One(Element),
    Many(&'static str, Vec<Element>),
    Texts(&'static str, Vec<Value>),
}

/// An element: attributes, then children, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    name: &'static str,
    attrs: Vec<(&'static str, Value)>,
    children: Vec<Node>,
    text: Option<String>,
}

impl Element {
    /// An empty element.
    pub fn new(name: &'static str) -> Element {
        Element {
            name,
            attrs: Vec::new(),
            children: Vec::new(),
            text: None,
        }
    }

    /// A fragment: its children go straight into the envelope (its name and attributes are
    /// not written).
    pub fn fragment() -> Element {
        Element::new("")
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: &'static str, value: impl Into<Value>) -> Element {
        self.attrs.push((name, value.into()));
        self
    }

    /// Adds an attribute when there is a value.
    pub fn attr_opt<V: Into<Value>>(self, name: &'static str, value: Option<V>) -> Element {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Sets the element's text (`<genre …>Rock</genre>`; `"value"` in JSON).
    pub fn text(mut self, text: impl Into<String>) -> Element {
        self.text = Some(text.into());
        self
    }

    /// Adds one nested element.
    pub fn child(mut self, element: Element) -> Element {
        self.children.push(Node::One(element));
        self
    }

    /// Adds repeated elements named `name` (each element's own name is replaced by it).
    pub fn list(mut self, name: &'static str, elements: Vec<Element>) -> Element {
        let elements = elements
            .into_iter()
            .map(|mut e| {
                e.name = name;
                e
            })
            .collect();
        self.children.push(Node::Many(name, elements));
        self
    }

    /// Adds repeated text elements `<name>value</name>` (a JSON array of values).
    pub fn texts(mut self, name: &'static str, values: Vec<Value>) -> Element {
        self.children.push(Node::Texts(name, values));
        self
    }

    fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name);
        self.write_attrs(out);
        self.write_rest(out);
    }

    fn write_attrs(&self, out: &mut String) {
        for (name, value) in &self.attrs {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(&escape(&value.text()));
            out.push('"');
        }
    }

    fn write_rest(&self, out: &mut String) {
        if self.children.is_empty() && self.text.is_none() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(text) = &self.text {
            out.push_str(&escape(text));
        }
        for node in &self.children {
            match node {
                Node::One(e) => e.write_xml(out),
                Node::Many(_, elements) => elements.iter().for_each(|e| e.write_xml(out)),
                Node::Texts(name, values) => {
                    for v in values {
                        out.push_str(&format!("<{name}>{}</{name}>", escape(&v.text())));
                    }
                }
            }
        }
        out.push_str("</");
        out.push_str(self.name);
        out.push('>');
    }

    fn json_into(&self, map: &mut Map<String, Json>) {
        for (name, value) in &self.attrs {
            map.insert((*name).to_string(), value.json());
        }
        if let Some(text) = &self.text {
            map.insert("value".to_string(), Json::String(text.clone()));
        }
        for node in &self.children {
            match node {
                Node::One(e) => {
                    map.insert(e.name.to_string(), e.json());
                }
                Node::Many(name, elements) => {
                    map.insert(
                        (*name).to_string(),
                        Json::Array(elements.iter().map(Element::json).collect()),
                    );
                }
                Node::Texts(name, values) => {
                    map.insert(
                        (*name).to_string(),
                        Json::Array(values.iter().map(Value::json).collect()),
                    );
                }
            }
        }
    }

    fn json(&self) -> Json {
        let mut map = Map::new();
        self.json_into(&mut map);
        Json::Object(map)
    }
}

/// The shape of the answer, from `f` (and `callback` for JSONP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `f=xml` or no `f`.
    Xml,
    /// `f=json`.
    Json,
    /// `f=jsonp`: JSON wrapped in a call of this function name.
    Jsonp(String),
}

impl Format {
    /// The format named by `f`, with `callback` for JSONP. An unknown `f`, or a JSONP callback
    /// that is not a JavaScript identifier path, falls back to XML with an error.
    pub fn from_params(
        f: Option<&str>,
        callback: Option<&str>,
    ) -> Result<Format, (Format, SubsonicError)> {
        match f.unwrap_or("xml") {
            "xml" => Ok(Format::Xml),
            "json" => Ok(Format::Json),
            "jsonp" => match callback {
                Some(cb) if is_callback_name(cb) => Ok(Format::Jsonp(cb.to_string())),
                Some(cb) => Err((
                    Format::Json,
                    SubsonicError::InvalidParameter {
                        name: "callback",
                        value: cb.to_string(),
                    },
                )),
                None => Err((Format::Json, SubsonicError::MissingParameter("callback"))),
            },
            other => Err((
                Format::Xml,
                SubsonicError::InvalidParameter {
                    name: "f",
                    value: other.to_string(),
                },
            )),
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
            Format::Jsonp(_) => "application/javascript; charset=utf-8",
        }
    }
}

fn is_callback_name(name: &str) -> bool {
    name.len() <= 128
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

/// A successful answer: `status="ok"` with the children of `content` (a
/// [`Element::fragment`]) inside (none for `ping`).
pub fn ok(content: Element, format: &Format) -> String {
    envelope("ok", content.children, format)
}

/// A failed answer: `status="failed"` with `<error code=… message=…/>`.
pub fn failed(error: &SubsonicError, format: &Format) -> String {
    let e = Element::new("error")
        .attr("code", error.code())
        .attr("message", error.to_string());
    envelope("failed", vec![Node::One(e)], format)
}

fn envelope(status: &str, body: Vec<Node>, format: &Format) -> String {
    let mut root = Element::new("subsonic-response")
        .attr("status", status)
        .attr("version", API_VERSION)
        .attr("type", SERVER_TYPE)
        .attr("serverVersion", env!("CARGO_PKG_VERSION"))
        .attr("openSubsonic", true);
    root.children = body;
    match format {
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            out.push_str("<subsonic-response xmlns=\"");
            out.push_str(NAMESPACE);
            out.push('"');
            root.write_attrs(&mut out);
            root.write_rest(&mut out);
            out
        }
        Format::Json => json_envelope(&root).to_string(),
        Format::Jsonp(callback) => format!("{callback}({});", json_envelope(&root)),
    }
}

fn json_envelope(root: &Element) -> Json {
    let mut outer = Map::new();
    outer.insert(root.name.to_string(), root.json());
    Json::Object(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Element {
        Element::fragment().child(Element::new("artists").attr("ignoredArticles", "The").list(
            "index",
            vec![Element::new("i").attr("name", "A").list(
                "artist",
                vec![Element::new("a")
                    .attr("id", "ar-1")
                    .attr("name", "AC & DC")
                    .attr("albumCount", 2u32)],
            )],
        ))
    }

    #[test]
    fn xml_envelope_is_byte_exact() {
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            ok(sample(), &Format::Xml),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<subsonic-response xmlns=\"http://subsonic.org/restapi\" status=\"ok\" version=\"1.16.1\" type=\"floe\" serverVersion=\"{v}\" openSubsonic=\"true\"><artists ignoredArticles=\"The\"><index name=\"A\"><artist id=\"ar-1\" name=\"AC &amp; DC\" albumCount=\"2\"/></index></artists></subsonic-response>"
            )
        );
        assert_eq!(
            ok(Element::fragment(), &Format::Xml),
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<subsonic-response xmlns=\"http://subsonic.org/restapi\" status=\"ok\" version=\"1.16.1\" type=\"floe\" serverVersion=\"{v}\" openSubsonic=\"true\"/>")
        );
    }

    #[test]
    fn json_envelope_is_typed() {
        let v = env!("CARGO_PKG_VERSION");
        let got: Json = serde_json::from_str(&ok(sample(), &Format::Json)).unwrap();
        let want: Json = serde_json::from_str(&format!("{{\"subsonic-response\":{{\"status\":\"ok\",\"version\":\"1.16.1\",\"type\":\"floe\",\"serverVersion\":\"{v}\",\"openSubsonic\":true,\"artists\":{{\"ignoredArticles\":\"The\",\"index\":[{{\"name\":\"A\",\"artist\":[{{\"id\":\"ar-1\",\"name\":\"AC & DC\",\"albumCount\":2}}]}}]}}}}}}")).unwrap();
        assert_eq!(got, want);
        let j = ok(
            Element::fragment().child(
                Element::new("x")
                    .texts("versions", vec![Value::Int(1)])
                    .list("e", vec![]),
            ),
            &Format::Jsonp("cb".into()),
        );
        assert!(j.starts_with("cb({\"subsonic-response\":"), "{j}");
        let inner: Json = serde_json::from_str(&j["cb(".len()..j.len() - 2]).unwrap();
        assert!(j.ends_with("});"), "{j}");
        assert_eq!(
            inner["subsonic-response"]["x"],
            serde_json::json!({"versions": [1], "e": []})
        );
    }

    #[test]
    fn element_text_is_content_in_xml_and_value_in_json() {
        let content = Element::fragment().child(Element::new("genres").list(
            "genre",
            vec![Element::new("g").attr("songCount", 2u32).text("R&B")],
        ));
        let xml = ok(content.clone(), &Format::Xml);
        assert!(
            xml.ends_with(
                "<genres><genre songCount=\"2\">R&amp;B</genre></genres></subsonic-response>"
            ),
            "{xml}"
        );
        let json: Json = serde_json::from_str(&ok(content, &Format::Json)).unwrap();
        assert_eq!(
            json["subsonic-response"]["genres"]["genre"],
            serde_json::json!([{"songCount": 2, "value": "R&B"}])
        );
    }

    #[test]
    fn errors_and_formats() {
        let xml = failed(&SubsonicError::WrongCredentials, &Format::Xml);
        assert!(xml.contains("status=\"failed\""));
        assert!(
            xml.ends_with(
                "<error code=\"40\" message=\"Wrong username or password\"/></subsonic-response>"
            ),
            "{xml}"
        );
        let json: Json = serde_json::from_str(&failed(
            &SubsonicError::MissingParameter("id"),
            &Format::Json,
        ))
        .unwrap();
        assert_eq!(json["subsonic-response"]["error"]["code"], 10);
        assert_eq!(json["subsonic-response"]["status"], "failed");
        assert_eq!(Format::from_params(None, None), Ok(Format::Xml));
        assert_eq!(
            Format::from_params(Some("jsonp"), Some("a.b_1")),
            Ok(Format::Jsonp("a.b_1".into()))
        );
        assert!(Format::from_params(Some("jsonp"), Some("alert(1)//")).is_err());
        assert!(Format::from_params(Some("jsonp"), None).is_err());
        assert!(Format::from_params(Some("yaml"), None).is_err());
    }
}

//! A Subsonic request's parameters: the query string and, for a form POST
//! (OpenSubsonic's `formPost`), the `application/x-www-form-urlencoded` body, in that order.
//! Names may repeat (`songId=1&songId=2`).

use super::error::SubsonicError;
use floe_proto::query::Query;

/// The parameters of one request, in the order they arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `a=1&b=%20x+y` (`+` is a space, `%XX` an octet, invalid UTF-8 is replaced) with
    /// [`Query::parse`]; appends to what is already there.
    pub fn extend_from_urlencoded(&mut self, text: &[u8]) {
        let query = Query::parse(&String::from_utf8_lossy(text));
        self.pairs.extend(
            query
                .pairs
                .into_iter()
                .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned())),
        );
    }

    /// Parameters from a query string alone.
    pub fn from_query(query: &str) -> Params {
        let mut p = Params::default();
        p.extend_from_urlencoded(query.as_bytes());
        p
    }

    /// The first value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `name` appears at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// The value of `name`, or error 10.
    pub fn require(&self, name: &'static str) -> Result<&str, SubsonicError> {
        self.get(name).ok_or(SubsonicError::MissingParameter(name))
    }

    /// `name` as a number, `None` when absent, an error when not a number.
    pub fn number<T: std::str::FromStr>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, SubsonicError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| SubsonicError::InvalidParameter {
                    name,
                    value: v.to_string(),
                }),
        }
    }

    /// `name` as a boolean (`true`/`false`, also `1`/`0`); `None` when absent.
    pub fn flag(&self, name: &'static str) -> Result<Option<bool>, SubsonicError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(Some(false)),
            Some(v) => Err(SubsonicError::InvalidParameter {
                name,
                value: v.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_form_with_repeats() {
        let mut p = Params::from_query("u=al%C3%AFce&songId=1&songId=2&x&c=my+app&bad=%zz%4");
        p.extend_from_urlencoded(b"songId=3&name=Road%20trip");
        assert_eq!(p.get("u"), Some("alïce"));
        assert_eq!(p.all("songId"), vec!["1", "2", "3"]);
        assert_eq!(p.get("c"), Some("my app"));
        assert_eq!(p.get("bad"), Some("%zz%4"));
        assert_eq!(p.get("name"), Some("Road trip"));
        assert!(p.has("x"));
        assert_eq!(p.get("x"), None);
    }

    #[test]
    fn typed_values() {
        let p = Params::from_query("size=10&offset=x&submission=false&f=1");
        assert_eq!(p.number::<u32>("size"), Ok(Some(10)));
        assert_eq!(p.number::<u32>("count"), Ok(None));
        assert_eq!(
            p.number::<u32>("offset"),
            Err(SubsonicError::InvalidParameter {
                name: "offset",
                value: "x".into()
            })
        );
        assert_eq!(p.flag("submission"), Ok(Some(false)));
        assert_eq!(p.flag("f"), Ok(Some(true)));
        assert_eq!(p.require("id"), Err(SubsonicError::MissingParameter("id")));
    }
}

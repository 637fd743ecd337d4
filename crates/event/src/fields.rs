use crate::value::Value;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// An ordered list of named fields.
///
/// Events carry a few dozen fields at most, so a vector with a linear scan
/// beats a hash map: no hashing, better locality, and insertion order is
/// kept for display. Lookup is exact first, then ASCII case-insensitive,
/// because exports disagree on case (`commandline` vs `CommandLine`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    entries: Vec<(Arc<str>, Value)>,
}

impl Fields {
    /// An empty field list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Fields {
            entries: Vec::with_capacity(n),
        }
    }

    /// Number of top-level fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add or replace a field.
    pub fn insert(&mut self, name: &str, value: Value) {
        if let Some(e) = self.entries.iter_mut().find(|(k, _)| &**k == name) {
            e.1 = value;
        } else {
            self.entries.push((Arc::from(name), value));
        }
    }

    /// Add a field without checking for an existing one with the same name.
    /// Readers use this when they know names are unique.
    pub fn push(&mut self, name: Arc<str>, value: Value) {
        self.entries.push((name, value));
    }

    /// Remove a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| &**k == name)?;
        Some(self.entries.remove(i).1)
    }

    /// A top-level field by exact name only (readers use this while
    /// normalising, where a case-insensitive hit would be wrong).
    pub fn get_exact(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }

    /// Mutable access to a top-level field by exact name.
    pub fn get_mut_exact(&mut self, name: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }

    /// Consume the list, yielding the fields in insertion order (readers
    /// move values out of parsed records without cloning them).
    pub fn into_entries(self) -> impl Iterator<Item = (Arc<str>, Value)> {
        self.entries.into_iter()
    }

    /// A top-level field by name (exact, then case-insensitive).
    ///
    /// One pass: an exact match anywhere wins, else the first
    /// case-insensitive one. Analytics look up many names an event does
    /// not have, and two passes for each showed in the profile.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let mut folded = None;
        for (k, v) in &self.entries {
            if k.len() != name.len() {
                continue;
            }
            if &**k == name {
                return Some(v);
            }
            if folded.is_none() && k.eq_ignore_ascii_case(name) {
                folded = Some(v);
            }
        }
        folded
    }

    /// A field by dotted path. A top-level field whose name itself contains
    /// dots (`process.name` in flattened ECS) wins over descent.
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        if let Some(v) = self.get(path) {
            return Some(v);
        }
        let mut rest = path;
        let mut current = self;
        loop {
            let (head, tail) = rest.split_once('.')?;
            match current.get(head)? {
                Value::Object(inner) => {
                    if let Some(v) = inner.get(tail) {
                        return Some(v);
                    }
                    current = inner;
                    rest = tail;
                }
                _ => return None,
            }
        }
    }

    /// Iterate over the top-level fields in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// Visit every scalar leaf with its dotted path; used for keyword
    /// searches and IOC matching across all fields.
    pub fn for_each_leaf<F: FnMut(&str, &Value)>(&self, mut f: F) {
        fn walk<F: FnMut(&str, &Value)>(prefix: &mut String, fields: &Fields, f: &mut F) {
            for (k, v) in fields.iter() {
                let len = prefix.len();
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(k);
                visit(prefix, v, f);
                prefix.truncate(len);
            }
        }
        fn visit<F: FnMut(&str, &Value)>(prefix: &mut String, v: &Value, f: &mut F) {
            match v {
                Value::Object(o) => walk(prefix, o, f),
                Value::Array(a) => {
                    for item in a {
                        visit(prefix, item, f);
                    }
                }
                other => f(prefix, other),
            }
        }
        let mut prefix = String::new();
        walk(&mut prefix, self, &mut f);
    }

    /// Convert to a JSON object, keeping order.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::with_capacity(self.entries.len());
        for (k, v) in &self.entries {
            m.insert(k.to_string(), v.to_json());
        }
        serde_json::Value::Object(m)
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(&**k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_name_wins_over_an_earlier_case_insensitive_one() {
        let mut f = Fields::default();
        f.push(Arc::from("user"), Value::str("lower"));
        f.push(Arc::from("USER"), Value::str("upper"));
        f.push(Arc::from("User"), Value::str("title"));
        assert_eq!(f.get("User"), Some(&Value::str("title")));
        assert_eq!(f.get("USER"), Some(&Value::str("upper")));
        // No exact match: the first case-insensitive one.
        assert_eq!(f.get("uSeR"), Some(&Value::str("lower")));
        assert_eq!(f.get("users"), None);
        assert_eq!(f.get(""), None);
    }

    #[test]
    fn dotted_paths_descend_and_flat_names_win() {
        let mut inner = Fields::default();
        inner.insert("name", Value::str("cmd.exe"));
        let mut f = Fields::default();
        f.insert("process", Value::Object(inner));
        f.insert("host.name", Value::str("WS1"));
        assert_eq!(f.get_path("process.name"), Some(&Value::str("cmd.exe")));
        assert_eq!(f.get_path("host.name"), Some(&Value::str("WS1")));
        assert_eq!(f.get_path("process.pid"), None);
        assert_eq!(f.get_path("PROCESS.NAME"), Some(&Value::str("cmd.exe")));
    }

    #[test]
    fn leaves_are_visited_with_paths() {
        let v = Value::from_json(serde_json::json!({"a": {"b": [1, "x"]}, "c": null}));
        let Value::Object(f) = v else { panic!() };
        let mut seen = Vec::new();
        f.for_each_leaf(|p, v| seen.push(format!("{p}={:?}", v.as_text())));
        assert_eq!(seen, vec!["a.b=Some(\"1\")", "a.b=Some(\"x\")", "c=None"]);
    }
}

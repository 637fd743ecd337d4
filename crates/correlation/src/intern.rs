//! A string interner that stores each string once (the hash table holds
//! only ids), so a million group keys cost one allocation each.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

#[derive(Default)]
pub(crate) struct Interner {
    table: HashTable<u32>,
    items: Vec<Box<str>>,
    hasher: DefaultHashBuilder,
}

impl Interner {
    /// The id of `s`, adding it if there are fewer than `cap` strings;
    /// `None` when `s` is new and the cap is reached.
    pub(crate) fn intern(&mut self, s: &str, cap: usize) -> Option<u32> {
        let Interner {
            table,
            items,
            hasher,
        } = self;
        let h = hasher.hash_one(s);
        if let Some(&id) = table.find(h, |&id| &*items[id as usize] == s) {
            return Some(id);
        }
        if items.len() >= cap || items.len() >= u32::MAX as usize {
            return None;
        }
        let id = items.len() as u32;
        items.push(Box::from(s));
        table.insert_unique(h, id, |&id| hasher.hash_one(&*items[id as usize]));
        Some(id)
    }

    /// The strings in id order.
    pub(crate) fn items(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|s| &**s)
    }

    pub(crate) fn get(&self, id: u32) -> &str {
        self.items.get(id as usize).map(|s| &**s).unwrap_or("")
    }
}

/// Append `v` to a composite key so that no two different tuples encode
/// the same (values are attacker-controlled and may contain any separator).
pub(crate) fn push_part(buf: &mut String, v: &str) {
    use std::fmt::Write;
    let _ = write!(buf, "{}:", v.len());
    buf.push_str(v);
}

/// Split a key built with [`push_part`] back into its values.
pub(crate) fn parts(mut key: &str) -> Vec<&str> {
    let mut out = Vec::new();
    while let Some((len, rest)) = key.split_once(':') {
        let Ok(n) = len.parse::<usize>() else { break };
        let Some(v) = rest.get(..n) else { break };
        out.push(v);
        key = &rest[n..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_respect_the_cap() {
        let mut k = String::new();
        push_part(&mut k, "a:1");
        push_part(&mut k, "");
        push_part(&mut k, "ü");
        assert_eq!(parts(&k), vec!["a:1", "", "ü"]);
        let mut i = Interner::default();
        assert_eq!(i.intern("x", 2), Some(0));
        assert_eq!(i.intern("y", 2), Some(1));
        assert_eq!(i.intern("x", 2), Some(0));
        assert_eq!(i.intern("z", 2), None);
        assert_eq!(i.get(1), "y");
    }
}

//! The names evidence is known by when the bytes kahu reads are a local
//! copy: an object of an object store (`s3://bucket/key`) spooled to a
//! private temporary folder is read from that folder, but its events,
//! warnings, inventory and case store must name the object, never the
//! temporary file (which is gone when the run ends).
//!
//! Why a process-wide table rather than a parameter: evidence paths travel
//! as `Path` through the listing, the readers, the case store and the
//! evidence fingerprint (five crates); the table lets each place that turns
//! a path into a name ask one question, and the paths stay real files for
//! everything that opens them. It is empty unless an object store was read
//! (the `object-store` feature of the `kahu` binary), and a lookup is one
//! uncontended read lock per file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

/// What a local copy of evidence stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceName {
    /// The name shown everywhere instead of the local path
    /// (`s3://bucket/key`, `file:///abs/path`).
    pub name: Arc<str>,
    /// The object's path components (bucket then key parts for S3, the
    /// real path's components for `file://`), used where a local file's
    /// path components are (the host a collection layout names, the file
    /// name a format is recognised by).
    pub components: Vec<String>,
    /// Why the object was not copied (over a size cap): reading the local
    /// placeholder reports this as a warning instead of reading it.
    pub not_read: Option<String>,
}

fn table() -> &'static RwLock<HashMap<PathBuf, EvidenceName>> {
    static TABLE: OnceLock<RwLock<HashMap<PathBuf, EvidenceName>>> = OnceLock::new();
    TABLE.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Record that the local file or folder `local` stands for `name`.
pub fn register_evidence_name(local: PathBuf, name: EvidenceName) {
    table()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(local, name);
}

/// Forget every name registered under the folder `root` (its spool was
/// removed).
pub fn forget_evidence_names_under(root: &Path) {
    table()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p, _| !p.starts_with(root));
}

/// What `path` stands for, when it is a registered local copy.
pub fn evidence_name(path: &Path) -> Option<EvidenceName> {
    let t = table().read().unwrap_or_else(|e| e.into_inner());
    if t.is_empty() {
        return None;
    }
    t.get(path).cloned()
}

/// The name to show for the evidence path `path`: its registered name, or
/// the path itself.
pub fn display_evidence_path(path: &Path) -> String {
    match evidence_name(path) {
        Some(n) => n.name.to_string(),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_copy_is_shown_by_its_name_until_forgotten() {
        let root = PathBuf::from("/nonexistent/kahu-spool-test");
        let local = root.join("000001");
        assert_eq!(display_evidence_path(&local), local.display().to_string());
        register_evidence_name(
            local.clone(),
            EvidenceName {
                name: Arc::from("s3://b/k.evtx"),
                components: vec!["b".into(), "k.evtx".into()],
                not_read: None,
            },
        );
        assert_eq!(display_evidence_path(&local), "s3://b/k.evtx");
        assert_eq!(
            display_evidence_path(Path::new("/other")),
            "/other",
            "unregistered paths keep their own name"
        );
        forget_evidence_names_under(&root);
        assert_eq!(evidence_name(&local), None);
    }
}

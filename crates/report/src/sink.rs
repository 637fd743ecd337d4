//! Where kahu's products go. Every writer (report, JSON documents,
//! containment lists, findings) writes through an [`OutputSink`] by name,
//! instead of opening files itself: the assessment folder is one sink
//! ([`DirSink`], which never follows a link planted at an output path and
//! never replaces a directory), tests use [`MemorySink`], and another
//! destination (an archive, object storage) is one more implementation.

use crate::safe::{create_output_dir, create_output_file, create_output_root};
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A destination for named outputs. Names are relative, `/`-separated
/// (`report.html`, `containment/hosts.txt`), chosen by kahu, never by
/// evidence.
pub trait OutputSink {
    /// A writer for output `name`, created (or replaced) empty. The caller
    /// flushes it; dropping it unflushed may lose the end of the output.
    fn create(&mut self, name: &str) -> io::Result<Box<dyn Write>>;

    /// Write all of `bytes` as output `name`.
    fn put(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut w = self.create(name)?;
        w.write_all(bytes)?;
        w.flush()
    }
}

/// Outputs as files under one folder (created if missing).
#[derive(Debug)]
pub struct DirSink {
    dir: PathBuf,
    written: Vec<PathBuf>,
}

impl DirSink {
    /// A sink writing under `dir`.
    pub fn new(dir: &Path) -> io::Result<Self> {
        create_output_root(dir)?;
        Ok(DirSink {
            dir: dir.to_path_buf(),
            written: Vec::new(),
        })
    }

    /// The files created so far, in creation order.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// The folder written into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl OutputSink for DirSink {
    fn create(&mut self, name: &str) -> io::Result<Box<dyn Write>> {
        let mut path = self.dir.clone();
        let mut parts = name.split('/').peekable();
        while let Some(part) = parts.next() {
            // Names are kahu's own; refuse anything that could leave the folder.
            if part.is_empty() || part == "." || part == ".." {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("output name {name:?} is not a plain relative path"),
                ));
            }
            path.push(part);
            if parts.peek().is_some() {
                create_output_dir(&path)?;
            }
        }
        let file = create_output_file(&path)?;
        self.written.push(path);
        Ok(Box::new(BufWriter::new(file)))
    }
}

/// Outputs kept in memory, by name (for tests, and for callers that ship
/// the products elsewhere).
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    outputs: std::sync::Arc<std::sync::Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl MemorySink {
    /// Every output written so far, by name.
    pub fn outputs(&self) -> BTreeMap<String, Vec<u8>> {
        self.outputs
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

/// A [`MemorySink`] output: stored on flush and on drop.
struct MemoryFile {
    name: String,
    buf: Vec<u8>,
    outputs: std::sync::Arc<std::sync::Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl Write for MemoryFile {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut m = self
            .outputs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        m.insert(self.name.clone(), self.buf.clone());
        Ok(())
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl OutputSink for MemorySink {
    fn create(&mut self, name: &str) -> io::Result<Box<dyn Write>> {
        Ok(Box::new(MemoryFile {
            name: name.to_string(),
            buf: Vec::new(),
            outputs: self.outputs.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dir_sink_writes_nested_names_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DirSink::new(&dir.path().join("out")).unwrap();
        sink.put("a.json", b"{}").unwrap();
        sink.put("containment/hosts.txt", b"WS01\n").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("out/containment/hosts.txt")).unwrap(),
            b"WS01\n"
        );
        assert_eq!(sink.written().len(), 2);
        for bad in ["../x", "/etc/x", "a//b", "./a"] {
            assert!(sink.create(bad).is_err(), "{bad}");
        }
        assert!(!dir.path().join("x").exists());
    }

    #[test]
    fn a_memory_sink_keeps_what_was_written() {
        let mut sink = MemorySink::default();
        sink.put("b.txt", b"2").unwrap();
        {
            let mut w = sink.create("a.txt").unwrap();
            w.write_all(b"1").unwrap();
        }
        let out = sink.outputs();
        assert_eq!(out.keys().collect::<Vec<_>>(), ["a.txt", "b.txt"]);
        assert_eq!(out["a.txt"], b"1");
    }
}

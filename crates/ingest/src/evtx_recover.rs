//! Reading an EVTX file whose file header is zeroed or damaged (a wiped
//! header, a file carved from disk) by its chunks, which carry their own
//! `ElfChnk` signature, record numbers and checksums.
//!
//! The `evtx` parser needs a file header only to start; it then finds
//! chunks at fixed offsets and reads past the header's chunk count. So the
//! damaged file is presented to it behind a minimal valid header, its first
//! chunk (found by signature) where the first chunk belongs.

use std::io::{Read, Seek, SeekFrom};

/// Chunk header magic.
pub(crate) const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// Size of the file header block before the first chunk.
const HEADER_BLOCK: u64 = 4096;
/// How far into a file the first chunk signature is looked for.
const SEARCH: u64 = 1 << 20;

/// Where the first chunk signature is, if any, within the first MiB.
pub(crate) fn find_first_chunk<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<u64>> {
    r.seek(SeekFrom::Start(0))?;
    let mut buf = Vec::new();
    r.by_ref().take(SEARCH + 8).read_to_end(&mut buf)?;
    Ok(memchr::memmem::find(&buf, CHUNK_MAGIC).map(|i| i as u64))
}

/// What the caller made of a signature found off the grid.
pub(crate) enum Seen {
    /// A chunk, read: its bytes are not searched for more signatures.
    Chunk,
    /// Not a valid chunk: the search goes on right after the signature.
    NotAChunk,
    /// Stop searching (the sink asked to stop).
    Stop,
}

/// Call `found(offset, bytes)` for every chunk signature off the grid
/// `base + k * chunk`, with up to `chunk` bytes from it (fewer at the end
/// of the file); a chunk `found` read is not searched inside. Stops when
/// `found` says so. Reads the file
/// in 1 MiB windows: memory is one window and one chunk.
pub(crate) fn off_grid_chunks<R: Read + Seek>(
    r: &mut R,
    base: u64,
    chunk: u64,
    found: &mut dyn FnMut(u64, Vec<u8>) -> Seen,
) -> std::io::Result<()> {
    const WINDOW: u64 = 1 << 20;
    let len = r.seek(SeekFrom::End(0))?;
    let mut pos = 0u64;
    // Chunks already taken: signatures before this are inside one.
    let mut taken_until = 0u64;
    let mut hay = Vec::new();
    while pos < len {
        r.seek(SeekFrom::Start(pos))?;
        hay.clear();
        // Overlap by the magic's length - 1 so a signature across two
        // windows is seen (in the first).
        r.by_ref()
            .take(WINDOW + CHUNK_MAGIC.len() as u64 - 1)
            .read_to_end(&mut hay)?;
        let starts: Vec<u64> = memchr::memmem::find_iter(&hay, CHUNK_MAGIC)
            .map(|i| pos + i as u64)
            .filter(|&at| at < pos + WINDOW)
            .collect();
        for at in starts {
            let on_grid = at >= base && (at - base).is_multiple_of(chunk);
            if on_grid || at < taken_until {
                continue;
            }
            r.seek(SeekFrom::Start(at))?;
            let mut bytes = Vec::with_capacity(chunk as usize);
            r.by_ref().take(chunk).read_to_end(&mut bytes)?;
            match found(at, bytes) {
                Seen::Chunk => taken_until = at + chunk,
                Seen::NotAChunk => {}
                Seen::Stop => return Ok(()),
            }
        }
        pos += WINDOW;
    }
    Ok(())
}

/// A file header the parser accepts: version 3.1, 4096-byte block, no
/// checksum (the flag says so), dirty, no chunk count (the parser counts).
fn synthetic_header() -> Vec<u8> {
    let mut h = vec![0u8; HEADER_BLOCK as usize];
    h[..8].copy_from_slice(b"ElfFile\0");
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&(HEADER_BLOCK as u16).to_le_bytes());
    // DIRTY | NO_CRC32.
    h[120..124].copy_from_slice(&0x5u32.to_le_bytes());
    h
}

/// `inner` from `base` on, behind a synthetic file header.
pub(crate) struct Rebased<R> {
    header: Vec<u8>,
    inner: R,
    base: u64,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Rebased<R> {
    pub(crate) fn new(mut inner: R, base: u64) -> std::io::Result<Self> {
        let inner_len = inner.seek(SeekFrom::End(0))?;
        Ok(Rebased {
            header: synthetic_header(),
            inner,
            base,
            pos: 0,
            len: HEADER_BLOCK + inner_len.saturating_sub(base),
        })
    }
}

impl<R: Read + Seek> Read for Rebased<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos < HEADER_BLOCK {
            let from = &self.header[self.pos as usize..];
            let n = from.len().min(out.len());
            out[..n].copy_from_slice(&from[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        self.inner
            .seek(SeekFrom::Start(self.pos - HEADER_BLOCK + self.base))?;
        let n = self.inner.read(out)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Rebased<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) => {
                self.pos = t;
                Ok(t)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            )),
        }
    }
}

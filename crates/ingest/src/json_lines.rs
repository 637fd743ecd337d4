//! JSON lines: one object per line, streamed in bounded memory.
//!
//! Inputs are read line by line on the calling thread, unless splitting
//! was turned on with [`crate::json::set_parallel_lines`]: then a large one
//! (an NXLog or Winlogbeat export of millions of records in one file) is cut
//! into blocks of whole lines that the rayon pool parses while the calling
//! thread reads ahead and hands finished blocks' events to the sink. The
//! sink sees exactly what the line-by-line path would send, in the same
//! order, with the same line numbers: each block numbers its lines from one
//! and the delivering thread adds the lines of the blocks before it. At most
//! four blocks per pool thread (each [`BLOCK`] bytes of text and its events)
//! are in flight.

use crate::json::{MAX_LINE, to_event};
use crate::jsonvalue::{self, KeyCache};
use crate::{Origin, Sink, Warning};
use kahu_event::{Event, Location};
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Bytes of whole lines per block handed to one parse task. Big enough that
/// task overhead is noise, small enough to keep memory and latency low.
const BLOCK: usize = 1024 * 1024;

/// Smallest input [`crate::json::set_parallel_lines`] accepts as worth
/// splitting: below a few blocks there is nothing to spread.
pub(crate) const PARALLEL_FLOOR: u64 = 4 * BLOCK as u64;

/// Read JSON lines one at a time on this thread.
pub(crate) fn read_sequential(
    mut r: Box<dyn BufRead + Send + '_>,
    origin: &Origin,
    sink: &mut dyn Sink,
    keys: &mut KeyCache,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut line_no = 0u64;
    loop {
        line_no += 1;
        buf.clear();
        let out = match append_line(&mut r, &mut buf, MAX_LINE)? {
            Line::Eof => return Ok(()),
            Line::TooLong(n) => Some(Err(too_long(origin, line_no, n))),
            Line::Text => parse_line(&buf, line_no, origin, keys, &mut |w| sink.warning(w)),
        };
        if !deliver(out, sink) {
            return Ok(());
        }
    }
}

/// Read JSON lines with parsing spread over the rayon pool; the sink is
/// called on this thread only, in line order.
pub(crate) fn read_parallel(
    r: Box<dyn BufRead + Send + '_>,
    origin: &Origin,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    read_parallel_with(r, origin, sink, MAX_LINE, BLOCK)
}

/// [`read_parallel`] with the line cap and block size as parameters, so
/// tests can exercise many blocks and over-long lines on small inputs.
fn read_parallel_with(
    r: Box<dyn BufRead + Send + '_>,
    origin: &Origin,
    sink: &mut dyn Sink,
    cap: usize,
    block_size: usize,
) -> std::io::Result<()> {
    // Blocks read ahead of the one being delivered: enough to keep every
    // thread busy while this one delivers and reads, few enough to bound
    // memory (each is about `block_size` of text plus its events).
    let window = 4 * rayon::current_num_threads().max(1);
    let mut blocks = Blocks {
        r,
        cap,
        block_size: block_size.max(1),
        carry: Vec::new(),
        eof: false,
        error: None,
        spare: Vec::new(),
    };
    let caches: Mutex<Vec<KeyCache>> = Mutex::new(Vec::new());
    // Emptied result lists, reused: growing a fresh one per block costs
    // large reallocations that make the allocator consolidate its heap.
    let lists: Mutex<Vec<Results>> = Mutex::new(Vec::new());
    let (caches, lists) = (&caches, &lists);
    // Lines delivered so far: block results carry block-relative line
    // numbers, made absolute here, in order.
    let mut base = 0u64;
    rayon::in_place_scope(|s| {
        let mut in_flight: VecDeque<Arc<Slot>> = VecDeque::with_capacity(window);
        loop {
            while in_flight.len() < window
                && let Some(block) = blocks.block()
            {
                let slot = Arc::new(Slot::default());
                let done = slot.clone();
                s.spawn(move |_| {
                    let out = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        let mut keys = lock(caches).pop().unwrap_or_default();
                        let list = lock(lists).pop().unwrap_or_default();
                        let out = parse_block(&block, cap, origin, &mut keys, list);
                        lock(caches).push(keys);
                        out
                    }));
                    *lock(&done.out) = Some((block, out));
                    done.ready.notify_all();
                });
                in_flight.push_back(slot);
            }
            let Some(oldest) = in_flight.pop_front() else {
                return;
            };
            let (block, parsed) = oldest.wait();
            let mut parsed = parsed.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            blocks.recycle(block);
            for mut out in parsed.results.drain(..) {
                shift_line(&mut out, base);
                if !deliver(Some(out), sink) {
                    // The scope still waits for the blocks in flight.
                    return;
                }
            }
            base += parsed.lines;
            let mut spare = lock(lists);
            if spare.len() < window {
                spare.push(parsed.results);
            }
        }
    });
    match blocks.error.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Where a parse task leaves its block and what it made of it.
#[derive(Default)]
struct Slot {
    out: Mutex<Option<(Block, std::thread::Result<Parsed>)>>,
    ready: Condvar,
}

impl Slot {
    /// Wait for the task, running other pool tasks meanwhile (this thread
    /// is usually a pool thread itself and would otherwise sit idle).
    fn wait(&self) -> (Block, std::thread::Result<Parsed>) {
        loop {
            if let Some(out) = lock(&self.out).take() {
                return out;
            }
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                let guard = lock(&self.out);
                if guard.is_none() {
                    // Timed so that a task this thread could run later is
                    // never waited on forever.
                    let _ = self.ready.wait_timeout(guard, Duration::from_millis(1));
                }
            }
        }
    }
}

/// Make a block-relative line number absolute.
fn shift_line(out: &mut Result<Event, Warning>, base: u64) {
    let loc = match out {
        Ok(ev) => Some(&mut ev.provenance.location),
        Err(w) => w.location.as_mut(),
    };
    if let Some(Location::Line(l)) = loc {
        *l += base;
    }
}

/// A poisoned lock only means a parse task panicked; the data is still a
/// plain list, so carry on with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Events and warnings in line order.
type Results = Vec<Result<Event, Warning>>;

/// What one block produced.
#[derive(Default)]
struct Parsed {
    /// With block-relative line numbers.
    results: Results,
    /// Lines in the block.
    lines: u64,
}

/// Send one line's outcome to the sink; `false` if the sink asked to stop.
fn deliver(out: Option<Result<Event, Warning>>, sink: &mut dyn Sink) -> bool {
    match out {
        Some(Ok(ev)) => sink.event(ev),
        Some(Err(w)) => {
            sink.warning(w);
            true
        }
        None => true,
    }
}

/// Parse one line (without its `\n`); `None` for a blank line. A line
/// with invalid UTF-8 is kept, decoded lossily, and its warning goes to
/// `lossy` first.
fn parse_line(
    raw: &[u8],
    line_no: u64,
    origin: &Origin,
    keys: &mut KeyCache,
    lossy: &mut dyn FnMut(Warning),
) -> Option<Result<Event, Warning>> {
    let line = trim(raw);
    if line.is_empty() {
        return None;
    }
    let at = Some(Location::Line(line_no));
    let v = match jsonvalue::parse_lossy(line, keys) {
        Ok((v, false)) => v,
        Ok((v, true)) => {
            lossy(origin.warning(at, jsonvalue::LOSSY_UTF8_WARNING));
            v
        }
        Err(e) => return Some(Err(origin.warning(at, format!("malformed JSON: {e}")))),
    };
    Some(to_event(v, Some(line_no), origin).map_err(|why| origin.warning(at, why)))
}

fn too_long(origin: &Origin, line_no: u64, n: u64) -> Warning {
    origin.warning(
        Some(Location::Line(line_no)),
        format!("line of {n} bytes is over the {MAX_LINE}-byte limit; skipped"),
    )
}

/// A piece of the input, cut at line ends.
enum Block {
    /// Whole lines, the last one followed by `\n` too.
    Lines(Vec<u8>),
    /// One line over the cap (its length), drained without being kept.
    TooLong(u64),
}

fn parse_block(
    block: &Block,
    cap: usize,
    origin: &Origin,
    keys: &mut KeyCache,
    mut results: Results,
) -> Parsed {
    results.clear();
    let data = match block {
        Block::Lines(data) => data,
        Block::TooLong(n) => {
            results.push(Err(too_long(origin, 1, *n)));
            return Parsed { results, lines: 1 };
        }
    };
    let mut line_no = 0;
    let mut rest = &data[..];
    while let Some(end) = memchr::memchr(b'\n', rest) {
        line_no += 1;
        let line = &rest[..end];
        if line.len() > cap {
            results.push(Err(too_long(origin, line_no, line.len() as u64)));
        } else {
            let mut lossy = None;
            let p = parse_line(line, line_no, origin, keys, &mut |w| lossy = Some(w));
            results.extend(lossy.map(Err));
            results.extend(p);
        }
        rest = &rest[end + 1..];
    }
    Parsed {
        results,
        lines: line_no,
    }
}

/// Cuts the input into [`Block`]s, reading straight into the block buffers.
struct Blocks<'a> {
    r: Box<dyn BufRead + Send + 'a>,
    /// Longest line kept.
    cap: usize,
    /// Bytes read per block (a block grows past it only to finish a line).
    block_size: usize,
    /// The start of a line read with the previous block.
    carry: Vec<u8>,
    eof: bool,
    /// A read error ends the input; it is reported after every line read
    /// before it has been delivered, as the sequential path does.
    error: Option<std::io::Error>,
    /// Buffers of parsed blocks, reused to spare the allocator and the page
    /// faults of fresh megabyte buffers.
    spare: Vec<Vec<u8>>,
}

impl Blocks<'_> {
    /// Keep the buffer of a block that has been parsed.
    fn recycle(&mut self, block: Block) {
        if let Block::Lines(mut data) = block
            && self.spare.len() < 8
            && data.capacity() <= 2 * self.block_size
        {
            data.clear();
            self.spare.push(data);
        }
    }

    /// Append up to `want` bytes to `buf`; `false` at the end of the input
    /// (or on a read error, which is kept for later).
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> bool {
        if self.eof {
            return false;
        }
        match (&mut self.r).take(want as u64).read_to_end(buf) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(_) => true,
            Err(e) => {
                self.error = Some(e);
                self.eof = true;
                false
            }
        }
    }

    fn block(&mut self) -> Option<Block> {
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.append(&mut self.carry);
        // The carry may hold whole lines (after an over-long line was
        // drained), so it is searched too.
        let mut searched = 0;
        loop {
            // A block's worth; past that only to finish a long line.
            let want = match self.block_size.checked_sub(data.len()) {
                Some(n) if n > 0 => n,
                _ => self.block_size,
            };
            let more = self.fill(&mut data, want);
            if let Some(i) = memchr::memrchr(b'\n', &data[searched..]) {
                let end = searched + i + 1;
                self.carry.extend_from_slice(&data[end..]);
                data.truncate(end);
                return Some(Block::Lines(data));
            }
            searched = data.len();
            // No line end: `data` is all one unfinished line.
            if data.len() > self.cap {
                return Some(self.drain_long_line(data));
            }
            if !more {
                if data.is_empty() {
                    self.spare.push(data);
                    return None;
                }
                // The last line of the input has no line end.
                data.push(b'\n');
                return Some(Block::Lines(data));
            }
        }
    }

    /// Skip the rest of a line that is already over the cap; `data` holds
    /// its start.
    fn drain_long_line(&mut self, mut data: Vec<u8>) -> Block {
        let mut n = data.len() as u64;
        loop {
            data.clear();
            if !self.fill(&mut data, self.block_size.max(64 * 1024)) {
                self.spare.push(data);
                return Block::TooLong(n);
            }
            if let Some(i) = memchr::memchr(b'\n', &data) {
                n += i as u64;
                self.carry.extend_from_slice(&data[i + 1..]);
                self.spare.push(data);
                return Block::TooLong(n);
            }
            n += data.len() as u64;
        }
    }
}

enum Line {
    Eof,
    /// The line has been appended (without its `\n`).
    Text,
    /// The line was longer than the cap and has been skipped.
    TooLong(u64),
}

/// Append one line to `buf`, never holding more than `cap` bytes of it;
/// a line over the cap is drained and leaves `buf` as it was.
fn append_line(r: &mut dyn BufRead, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<Line> {
    let base = buf.len();
    let mut seen = 0u64;
    let mut too_long = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(base);
                return Err(e);
            }
        };
        if avail.is_empty() {
            return Ok(match (seen, too_long) {
                (0, _) => Line::Eof,
                (n, true) => Line::TooLong(n),
                _ => Line::Text,
            });
        }
        let (chunk, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        seen += chunk.len() as u64;
        if !too_long {
            if buf.len() - base + chunk.len() > cap {
                too_long = true;
                buf.truncate(base);
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = done.unwrap_or(avail.len());
        r.consume(used);
        if done.is_some() {
            return Ok(if too_long {
                Line::TooLong(seen)
            } else {
                Line::Text
            });
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Everything a sink saw, in order, as comparable text.
    #[derive(Default)]
    struct Log {
        seen: Vec<String>,
        events: usize,
        stop_after: Option<usize>,
    }

    impl Sink for Log {
        fn event(&mut self, e: Event) -> bool {
            self.seen.push(serde_json::to_string(&e).unwrap());
            self.events += 1;
            self.stop_after.is_none_or(|n| self.events < n)
        }
        fn warning(&mut self, w: Warning) {
            self.seen.push(format!("warning: {w}"));
        }
    }

    fn origin() -> Origin {
        Origin {
            file: Arc::from("t.jsonl"),
            member: None,
            host_hint: None,
            modified: None,
        }
    }

    /// Lines of every kind the reader distinguishes, with the line cap of
    /// the test (64 bytes) in mind.
    fn sample() -> Vec<u8> {
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&match i % 9 {
                0 => format!("{{\"EventID\":{i},\"Hostname\":\"h\",\"Channel\":\"Security\"}}\n"),
                1 => format!("{{\"ts\":{i},\"msg\":\"café\"}}\r\n"),
                2 => "\n".to_string(),
                3 => format!("{{\"broken\": {i}\n"),
                4 => format!("{{\"long\":\"{}\"}}\n", "x".repeat(80 + i)),
                5 => "[1,2]\n".to_string(),
                6 => format!("\u{feff}  {{\"winlog\":{{\"event_id\":{i}}}}}  \n"),
                // A lone surrogate escape: valid UTF-8, invalid JSON.
                7 => "{\"bad\":\"\\ud800\"}\n".to_string(),
                _ => format!("{{\"Event\":{{\"System\":{{\"EventID\":{i}}}}}}}\n"),
            });
        }
        // Invalid UTF-8 and a last line without its newline.
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"{\"k\":\"\xff\"}\n{\"last\":1}");
        bytes
    }

    fn sequential(data: &[u8], cap: usize) -> Vec<String> {
        // The sequential path with the same cap, line by line.
        let mut log = Log::default();
        let mut r: Box<dyn BufRead + Send> = Box::new(Cursor::new(data));
        let mut keys = KeyCache::default();
        let mut buf = Vec::new();
        let mut line_no = 0;
        loop {
            line_no += 1;
            buf.clear();
            let out = match append_line(&mut r, &mut buf, cap).unwrap() {
                Line::Eof => break,
                Line::TooLong(n) => Some(Err(too_long(&origin(), line_no, n))),
                Line::Text => parse_line(&buf, line_no, &origin(), &mut keys, &mut |w| {
                    deliver(Some(Err(w)), &mut log);
                }),
            };
            deliver(out, &mut log);
        }
        log.seen
    }

    fn parallel(data: &[u8], cap: usize, block: usize, log: &mut Log) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            read_parallel_with(Box::new(Cursor::new(data)), &origin(), log, cap, block).unwrap()
        });
    }

    #[test]
    fn parallel_delivers_what_sequential_does_in_order() {
        let data = sample();
        let want = sequential(&data, 64);
        assert!(want.iter().any(|s| s.contains("bytes is over the")));
        assert!(want.iter().any(|s| s.contains("malformed JSON")));
        assert!(want.iter().any(|s| s.contains("not a JSON object")));
        assert!(
            want.last()
                .unwrap()
                .contains(r#""kind":"line","value":502"#)
        );
        for block in [1, 100, 1000, 1 << 20] {
            let mut log = Log::default();
            parallel(&data, 64, block, &mut log);
            assert_eq!(log.seen, want, "block size {block}");
        }
    }

    #[test]
    fn sequential_reader_matches_its_line_loop() {
        // `read_sequential` is what small files use; same output again.
        let data = sample();
        let mut log = Log::default();
        let r: Box<dyn BufRead + Send> = Box::new(Cursor::new(&data[..]));
        read_sequential(r, &origin(), &mut log, &mut KeyCache::default()).unwrap();
        assert_eq!(log.seen, sequential(&data, MAX_LINE));
    }

    #[test]
    fn parallel_stops_when_the_sink_says_so() {
        let data = sample();
        let mut log = Log {
            stop_after: Some(7),
            ..Log::default()
        };
        parallel(&data, 64, 100, &mut log);
        assert_eq!(log.events, 7);
        assert_eq!(log.seen[..], sequential(&data, 64)[..log.seen.len()]);
    }
}

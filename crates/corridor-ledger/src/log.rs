//! The entry log: `entries.log`, the append-only file that holds a ledger: every entry's
//! record bytes and every caller row change, in the order they were made.
//!
//! The writer puts each group of appends into one frame, writes it at the end of the file
//! and syncs the file's data once; the group is durable (and answered) then. The indices
//! (where each entry's record lies, the document and subject indices, where each caller
//! row's value lies) are kept in memory and rebuilt by reading the frames on open.
//!
//! ```text
//! frame = "clf1" || u32be(len body) || u32be(crc32(body)) || body
//! body  = u32be(n) || n x ( u32be(len record) || record || hash[32] || document id[32] )
//!      || u32be(m) || m x ( u32be(len key) || key || u8(0: remove, 1: set) [|| u32be(len value) || value] )
//! ```
//!
//! A frame that ends the file and is incomplete or fails its checksum, with no whole frame
//! after it, is a group whose sync never finished (never acknowledged): a writer's open keeps
//! its bytes in `entries.log.torn-<offset>` and cuts it off, unless the last signed
//! checkpoint covers more entries than the frames before it (then it is damage). Anything
//! else that does not parse is damage.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use corridor_core::Digest;

use crate::error::Error;

/// File name of the entry log, in the ledger directory.
pub const LOG_FILE: &str = "entries.log";

const MAGIC: &[u8; 4] = b"clf1";
const HEADER: u64 = 12;

/// One new entry of a frame.
pub(crate) struct FrameEntry {
    /// The entry's record bytes (what its hash covers).
    pub(crate) record: Vec<u8>,
    /// The entry's hash.
    pub(crate) hash: Digest,
    /// The document id the caller gave, for the document index.
    pub(crate) document: Digest,
}

/// A caller row change: set (`Some`) or remove (`None`).
pub(crate) type Row = (Vec<u8>, Option<Vec<u8>>);

/// A caller row change as the index keeps it: the key, and where the value lies in the log
/// (offset, length), or `None` for a removal.
pub(crate) type RowAt = (Vec<u8>, Option<(u64, u32)>);

/// An encoded frame: its bytes, each record's offset from the frame's start, and each row
/// change with its value's offset from the frame's start.
pub(crate) struct Encoded {
    pub(crate) bytes: Vec<u8>,
    pub(crate) records: Vec<u64>,
    pub(crate) rows: Vec<RowAt>,
}

/// Encodes a frame.
pub(crate) fn encode(entries: &[FrameEntry], rows: Vec<Row>) -> Encoded {
    let body_len: usize = 8
        + entries
            .iter()
            .map(|e| 4 + e.record.len() + 64)
            .sum::<usize>()
        + rows
            .iter()
            .map(|(k, v)| 5 + k.len() + v.as_ref().map_or(0, |v| 4 + v.len()))
            .sum::<usize>();
    let mut out = Vec::with_capacity(HEADER as usize + body_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(body_len as u32).to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    let mut offsets = Vec::with_capacity(entries.len());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for e in entries {
        out.extend_from_slice(&(e.record.len() as u32).to_be_bytes());
        offsets.push(out.len() as u64);
        out.extend_from_slice(&e.record);
        out.extend_from_slice(e.hash.as_bytes());
        out.extend_from_slice(e.document.as_bytes());
    }
    out.extend_from_slice(&(rows.len() as u32).to_be_bytes());
    let mut rows_at = Vec::with_capacity(rows.len());
    for (k, v) in rows {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(&k);
        match v {
            None => {
                out.push(0);
                rows_at.push((k, None));
            }
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                rows_at.push((k, Some((out.len() as u64, v.len() as u32))));
                out.extend_from_slice(&v);
            }
        }
    }
    let crc = crc32fast::hash(&out[HEADER as usize..]);
    out[8..12].copy_from_slice(&crc.to_be_bytes());
    Encoded {
        bytes: out,
        records: offsets,
        rows: rows_at,
    }
}

/// A frame read back: its entries (record offset in the file, record, hash, document id)
/// and row changes (values' offsets in the file).
pub(crate) struct Frame {
    pub(crate) entries: Vec<(u64, FrameEntry)>,
    pub(crate) rows: Vec<RowAt>,
}

fn decode_body(body: &[u8]) -> Option<Frame> {
    let mut r = Cursor { buf: body, at: 0 };
    let n = r.u32()?;
    let mut entries = Vec::new();
    for _ in 0..n {
        let len = r.u32()? as usize;
        let at = HEADER + r.at as u64;
        let record = r.take(len)?.to_vec();
        let hash = Digest::from_slice("hash", r.take(32)?).ok()?;
        let document = Digest::from_slice("document", r.take(32)?).ok()?;
        entries.push((
            at,
            FrameEntry {
                record,
                hash,
                document,
            },
        ));
    }
    let m = r.u32()?;
    let mut rows = Vec::new();
    for _ in 0..m {
        let klen = r.u32()? as usize;
        let key = r.take(klen)?.to_vec();
        let value = match r.take(1)?[0] {
            0 => None,
            1 => {
                let vlen = r.u32()?;
                let at = HEADER + r.at as u64;
                r.take(vlen as usize)?;
                Some((at, vlen))
            }
            _ => return None,
        };
        rows.push((key, value));
    }
    (r.at == body.len()).then_some(Frame { entries, rows })
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// What reading the frame at an offset found.
pub(crate) enum Read {
    /// A frame that parses, the offset just past it, and whether its checksum holds.
    Frame {
        frame: Frame,
        end: u64,
        checksum_ok: bool,
    },
    /// The end of the file.
    End,
    /// A last frame cut short or failing its checksum: a group whose sync never finished.
    Torn,
    /// Bytes that are not a frame, with more of the file after them.
    Damaged(String),
}

/// The open entry log, locked against every other opener (in this process or another).
pub(crate) struct Log {
    file: File,
    path: PathBuf,
}

/// How long opening waits for another opener to let go of the log.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Log {
    /// Opens and locks `dir/entries.log`, creating it when `create` is set.
    pub(crate) fn open(dir: &Path, create: bool) -> Result<Self, Error> {
        use fs2::FileExt;
        let path = dir.join(LOG_FILE);
        let existed = path.exists();
        if !existed && dir.join("db").join("conf").exists() {
            return Err(Error::Io {
                path: dir.join("db"),
                source: std::io::Error::other(
                    "a ledger in the earlier sled layout; this version keeps a ledger in entries.log (export it with the version that wrote it)",
                ),
            });
        }
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => {
                return Err(Error::NotFound(dir.to_owned()));
            }
            Err(source) => return Err(Error::Io { path, source }),
        };
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(1);
        while let Err(e) = file.try_lock_exclusive() {
            if e.kind() != fs2::lock_contended_error().kind() {
                return Err(Error::Io { path, source: e });
            }
            if started.elapsed() >= LOCK_WAIT {
                return Err(Error::Locked(dir.to_owned()));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(100));
        }
        if !existed {
            // The new file's name must be durable before anything in it is acknowledged.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| Error::Io {
                    path: dir.to_owned(),
                    source,
                })?;
        }
        Ok(Self { file, path })
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The file's length in bytes.
    pub(crate) fn len(&self) -> Result<u64, Error> {
        Ok(self.file.metadata().map_err(|e| self.io(e))?.len())
    }

    /// Writes `bytes` at `at` and syncs the file's data: durable on return.
    pub(crate) fn write_durable(&self, at: u64, bytes: &[u8]) -> Result<(), Error> {
        self.file.write_all_at(bytes, at).map_err(|e| self.io(e))?;
        self.file.sync_data().map_err(|e| self.io(e))
    }

    /// Keeps the bytes from `at` to the end in `entries.log.torn-<at>` beside the log (what a
    /// torn last frame held), then cuts the file at `at` and syncs it.
    pub(crate) fn cut_torn(&self, at: u64) -> Result<(), Error> {
        let len = self.len()?;
        if let Some(tail) = self.read(at, len.saturating_sub(at) as usize)? {
            let keep = self.path.with_file_name(format!("{LOG_FILE}.torn-{at}"));
            std::fs::write(&keep, tail).map_err(|source| Error::Io { path: keep, source })?;
        }
        self.truncate(at)
    }

    /// Cuts the file at `len` and syncs it.
    pub(crate) fn truncate(&self, len: u64) -> Result<(), Error> {
        self.file.set_len(len).map_err(|e| self.io(e))?;
        self.file.sync_all().map_err(|e| self.io(e))
    }

    /// `len` bytes at `at`; `None` when the file ends first.
    pub(crate) fn read(&self, at: u64, len: usize) -> Result<Option<Vec<u8>>, Error> {
        let mut buf = vec![0; len];
        match self.file.read_exact_at(&mut buf, at) {
            Ok(()) => Ok(Some(buf)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Where the first whole frame (magic, length within the file, checksum) at or after
    /// byte `from` begins, if any: read only when deciding whether a frame is torn.
    fn frame_after(&self, from: u64, file_len: u64) -> Result<Option<u64>, Error> {
        let Some(rest) = self.read(from, file_len.saturating_sub(from) as usize)? else {
            return Ok(None);
        };
        let mut i = 0;
        while let Some(p) = rest[i..].windows(4).position(|w| w == MAGIC) {
            let at = i + p;
            if let Some(h) = rest.get(at..at + HEADER as usize) {
                let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
                let crc = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
                let body = rest.get(at + HEADER as usize..at + HEADER as usize + len);
                if body.is_some_and(|b| crc32fast::hash(b) == crc) {
                    return Ok(Some(from + at as u64));
                }
            }
            i = at + 1;
        }
        Ok(None)
    }

    /// The frame starting at `at`, in a file `file_len` bytes long.
    pub(crate) fn read_frame(&self, at: u64, file_len: u64) -> Result<Read, Error> {
        if at >= file_len {
            return Ok(Read::End);
        }
        let Some(header) = self.read(at, HEADER as usize)? else {
            return Ok(Read::Torn);
        };
        if &header[..4] != MAGIC {
            return Ok(Read::Damaged(format!(
                "{} holds no frame at byte {at}",
                self.path.display()
            )));
        }
        let body_len = u64::from(u32::from_be_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let crc = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
        let end = at + HEADER + body_len;
        if end > file_len {
            // A length past the end is a cut-short last frame, unless a whole frame follows
            // (then the length itself was changed).
            return Ok(match self.frame_after(at + 4, file_len)? {
                None => Read::Torn,
                Some(next) => Read::Damaged(format!(
                    "{}: the frame at byte {at} claims {body_len} bytes, past the end of the file, but a whole frame follows at byte {next}",
                    self.path.display()
                )),
            });
        }
        let Some(body) = self.read(at + HEADER, body_len as usize)? else {
            return Ok(Read::Torn);
        };
        let checksum_ok = crc32fast::hash(&body) == crc;
        let last = end == file_len;
        match decode_body(&body) {
            Some(mut frame) => {
                if !checksum_ok && last {
                    return Ok(Read::Torn);
                }
                for (off, _) in &mut frame.entries {
                    *off += at;
                }
                for (off, _) in frame.rows.iter_mut().filter_map(|(_, v)| v.as_mut()) {
                    *off += at;
                }
                Ok(Read::Frame {
                    frame,
                    end,
                    checksum_ok,
                })
            }
            None if last && !checksum_ok => Ok(Read::Torn),
            None => Ok(Read::Damaged(format!(
                "{}: the frame at byte {at} is malformed",
                self.path.display()
            ))),
        }
    }
}

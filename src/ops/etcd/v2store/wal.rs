//! Decoding etcd 3.4's write-ahead log as `wal.OpenForRead` + `ReadAll` do: segments named
//! `<seq>-<index>.wal`, each a run of frames (a little-endian length whose top byte may carry
//! padding, then a `walpb.Record`), a CRC-32C chained across records and segments, zeroed
//! preallocated space ending a segment. Only reading: a torn last record ends the log, as it
//! does for a reader of a live member.

use super::proto::{Entry, HardState, WalMetadata, WalRecord, WalSnapshot};
use prost::Message;

const METADATA: i64 = 1;
const ENTRY: i64 = 2;
const STATE: i64 = 3;
const CRC: i64 = 4;
const SNAPSHOT: i64 = 5;

/// The largest record etcd writes (10 MiB) plus room: anything above is not a frame.
const MAX_RECORD: u64 = 10 * 1024 * 1024 + 4096;

/// Why a WAL could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    #[error("{file}: {reason}")]
    Corrupt { file: String, reason: String },
    #[error("the WAL segments are not consecutive: {0}")]
    Sequence(String),
    #[error("no WAL segment covers index {0}")]
    NoSegment(u64),
    #[error("the WAL names no snapshot at index {index} (term {term})")]
    SnapshotNotFound { index: u64, term: u64 },
    #[error("the WAL names snapshot {index} with term {found}, the snapshot file has term {term}")]
    SnapshotMismatch { index: u64, term: u64, found: u64 },
}

/// A segment file: its name and bytes.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// `<seq>-<index>.wal` -> (seq, index).
pub fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".wal")?;
    let (seq, index) = stem.split_once('-')?;
    if seq.len() != 16 || index.len() != 16 {
        return None;
    }
    Some((
        u64::from_str_radix(seq, 16).ok()?,
        u64::from_str_radix(index, 16).ok()?,
    ))
}

/// One decoded record.
struct Decoded {
    kind: i64,
    crc: u32,
    data: Vec<u8>,
}

/// Reads records across segments in order, checking the CRC chain.
struct Decoder<'a> {
    segments: &'a [Segment],
    file: usize,
    offset: usize,
    crc: u32,
}

enum Next {
    Record(Decoded),
    End,
}

impl<'a> Decoder<'a> {
    fn new(segments: &'a [Segment]) -> Decoder<'a> {
        Decoder {
            segments,
            file: 0,
            offset: 0,
            crc: 0,
        }
    }

    fn corrupt(&self, reason: impl Into<String>) -> WalError {
        WalError::Corrupt {
            file: self
                .segments
                .get(self.file)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            reason: format!("at byte {}: {}", self.offset, reason.into()),
        }
    }

    fn last_file(&self) -> bool {
        self.file + 1 == self.segments.len()
    }

    fn next(&mut self) -> Result<Next, WalError> {
        loop {
            let Some(segment) = self.segments.get(self.file) else {
                return Ok(Next::End);
            };
            let bytes = &segment.bytes;
            let rest = bytes.len().saturating_sub(self.offset);
            let length = if rest >= 8 {
                let mut field = [0u8; 8];
                field.copy_from_slice(&bytes[self.offset..self.offset + 8]);
                u64::from_le_bytes(field)
            } else {
                0
            };
            if rest < 8 || length == 0 {
                // End of the segment, or its preallocated (zeroed) space.
                self.file += 1;
                self.offset = 0;
                continue;
            }
            let record_bytes = length & !(0xffu64 << 56);
            let padding = if length >> 63 == 1 {
                (length >> 56) & 0x7
            } else {
                0
            };
            if record_bytes >= MAX_RECORD {
                return Err(self.corrupt(format!("a frame of {record_bytes} bytes")));
            }
            let start = self.offset + 8;
            let end = start + (record_bytes + padding) as usize;
            if end > bytes.len() {
                if self.last_file() {
                    // A record being written when the file was read: the log ends before it.
                    return Ok(Next::End);
                }
                return Err(self.corrupt("a record runs past the end of the segment"));
            }
            let frame = &bytes[start..end];
            let record = match WalRecord::decode(&frame[..record_bytes as usize]) {
                Ok(record) => record,
                Err(_) if self.last_file() && torn(frame) => return Ok(Next::End),
                Err(e) => return Err(self.corrupt(format!("undecodable record: {e}"))),
            };
            if record.r#type != CRC {
                let crc = crc32c::crc32c_append(self.crc, &record.data);
                if crc != record.crc {
                    if self.last_file() && torn(frame) {
                        return Ok(Next::End);
                    }
                    return Err(self.corrupt("CRC mismatch"));
                }
                self.crc = crc;
            }
            self.offset = end;
            return Ok(Next::Record(Decoded {
                kind: record.r#type,
                crc: record.crc,
                data: record.data,
            }));
        }
    }
}

/// A frame with a zeroed 512-byte sector in it: written only partly before a crash.
fn torn(frame: &[u8]) -> bool {
    frame.chunks(512).any(|chunk| chunk.iter().all(|b| *b == 0))
}

/// What `ReadAll` gives from the snapshot at `start` on.
#[derive(Debug, Clone, Default)]
pub struct WalContents {
    pub metadata: WalMetadata,
    pub state: HardState,
    /// Entries after the start index, later records replacing earlier ones from their index on.
    pub entries: Vec<Entry>,
}

/// The segments holding index `start` and everything after it, sorted by name (etcd's
/// `selectWALFiles`): from the last one whose first index is at most `start`.
pub fn select(mut segments: Vec<Segment>, start: u64) -> Result<Vec<Segment>, WalError> {
    segments.retain(|s| parse_name(&s.name).is_some());
    segments.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<(u64, u64)> = segments
        .iter()
        .filter_map(|s| parse_name(&s.name))
        .collect();
    let Some(first) = names.iter().rposition(|(_, index)| *index <= start) else {
        return Err(WalError::NoSegment(start));
    };
    for pair in names[first..].windows(2) {
        if pair[1].0 != pair[0].0 + 1 {
            return Err(WalError::Sequence(format!(
                "segment {:016x} follows {:016x}",
                pair[1].0, pair[0].0
            )));
        }
    }
    Ok(segments.split_off(first))
}

/// Every snapshot the WAL names whose index is committed (`wal.ValidSnapshotEntries`), read
/// from all segments.
pub fn valid_snapshots(segments: &[Segment]) -> Result<Vec<WalSnapshot>, WalError> {
    let mut sorted: Vec<Segment> = segments
        .iter()
        .filter(|s| parse_name(&s.name).is_some())
        .cloned()
        .collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut decoder = Decoder::new(&sorted);
    let mut snapshots = Vec::new();
    let mut state = HardState::default();
    while let Next::Record(record) = decoder.next()? {
        match record.kind {
            SNAPSHOT => snapshots.push(decode(&decoder, &record.data, "snapshot record")?),
            STATE => state = decode(&decoder, &record.data, "hard state")?,
            CRC => check_crc_record(&mut decoder, record.crc)?,
            _ => {}
        }
    }
    snapshots.retain(|s: &WalSnapshot| s.index <= state.commit);
    Ok(snapshots)
}

fn decode<M: Message + Default>(
    decoder: &Decoder<'_>,
    data: &[u8],
    what: &str,
) -> Result<M, WalError> {
    M::decode(data).map_err(|e| decoder.corrupt(format!("undecodable {what}: {e}")))
}

fn check_crc_record(decoder: &mut Decoder<'_>, crc: u32) -> Result<(), WalError> {
    if decoder.crc != 0 && decoder.crc != crc {
        return Err(decoder.corrupt("the CRC record does not match the chain"));
    }
    decoder.crc = crc;
    Ok(())
}

/// Reads the selected segments from the snapshot (`start_index`, `start_term`) on, as
/// `ReadAll` in read mode does; the WAL must name that snapshot unless it is index 0.
pub fn read_all(
    segments: &[Segment],
    start_index: u64,
    start_term: u64,
) -> Result<WalContents, WalError> {
    let mut decoder = Decoder::new(segments);
    let mut contents = WalContents::default();
    let mut matched = false;
    let mut metadata: Option<Vec<u8>> = None;
    while let Next::Record(record) = decoder.next()? {
        match record.kind {
            ENTRY => {
                let entry: Entry = decode(&decoder, &record.data, "entry")?;
                if entry.index > start_index {
                    let up = (entry.index - start_index - 1) as usize;
                    if up > contents.entries.len() {
                        return Err(decoder.corrupt(format!(
                            "entry {} leaves a gap after entry {}",
                            entry.index,
                            start_index + contents.entries.len() as u64
                        )));
                    }
                    contents.entries.truncate(up);
                    contents.entries.push(entry);
                }
            }
            STATE => contents.state = decode(&decoder, &record.data, "hard state")?,
            METADATA => {
                if let Some(seen) = &metadata {
                    if *seen != record.data {
                        return Err(decoder.corrupt("two different metadata records"));
                    }
                }
                contents.metadata = decode(&decoder, &record.data, "metadata")?;
                metadata = Some(record.data);
            }
            CRC => check_crc_record(&mut decoder, record.crc)?,
            SNAPSHOT => {
                let snapshot: WalSnapshot = decode(&decoder, &record.data, "snapshot record")?;
                if snapshot.index == start_index {
                    if snapshot.term != start_term {
                        return Err(WalError::SnapshotMismatch {
                            index: start_index,
                            term: start_term,
                            found: snapshot.term,
                        });
                    }
                    matched = true;
                }
            }
            other => return Err(decoder.corrupt(format!("unknown record type {other}"))),
        }
    }
    if !matched {
        return Err(WalError::SnapshotNotFound {
            index: start_index,
            term: start_term,
        });
    }
    Ok(contents)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A segment built the way etcd writes one, for tests.
    pub(crate) struct SegmentWriter {
        bytes: Vec<u8>,
        crc: u32,
    }

    impl SegmentWriter {
        pub(crate) fn new(previous_crc: u32) -> SegmentWriter {
            let mut writer = SegmentWriter {
                bytes: Vec::new(),
                crc: previous_crc,
            };
            writer.frame(CRC, Vec::new(), previous_crc);
            writer
        }

        fn frame(&mut self, kind: i64, data: Vec<u8>, crc: u32) {
            let record = WalRecord {
                r#type: kind,
                crc,
                data,
            }
            .encode_to_vec();
            let padding = (8 - record.len() % 8) % 8;
            let mut length = record.len() as u64;
            if padding != 0 {
                length |= (0x80 | padding as u64) << 56;
            }
            self.bytes.extend_from_slice(&length.to_le_bytes());
            self.bytes.extend_from_slice(&record);
            self.bytes.extend(std::iter::repeat_n(0u8, padding));
        }

        pub(crate) fn record(&mut self, kind: i64, data: Vec<u8>) {
            self.crc = crc32c::crc32c_append(self.crc, &data);
            let crc = self.crc;
            self.frame(kind, data, crc);
        }

        pub(crate) fn entry(&mut self, index: u64, term: u64, kind: i32, data: Vec<u8>) {
            let entry = Entry {
                r#type: kind,
                term,
                index,
                data,
            };
            self.record(ENTRY, entry.encode_to_vec());
        }

        pub(crate) fn snapshot(&mut self, index: u64, term: u64) {
            self.record(SNAPSHOT, WalSnapshot { index, term }.encode_to_vec());
        }

        pub(crate) fn state(&mut self, commit: u64) {
            let state = HardState {
                term: 1,
                vote: 1,
                commit,
            };
            self.record(STATE, state.encode_to_vec());
        }

        pub(crate) fn metadata(&mut self, node_id: u64) {
            let metadata = WalMetadata {
                node_id,
                cluster_id: 7,
            };
            self.record(METADATA, metadata.encode_to_vec());
        }

        pub(crate) fn finish(mut self, name: &str, preallocated: usize) -> (Segment, u32) {
            self.bytes.extend(std::iter::repeat_n(0u8, preallocated));
            (
                Segment {
                    name: name.to_string(),
                    bytes: self.bytes,
                },
                self.crc,
            )
        }
    }

    fn two_segments() -> Vec<Segment> {
        let mut first = SegmentWriter::new(0);
        first.metadata(9);
        first.snapshot(0, 0);
        first.entry(1, 1, 0, b"a".to_vec());
        first.entry(2, 1, 0, b"b".to_vec());
        first.entry(3, 1, 0, b"c".to_vec());
        first.state(3);
        let (first, crc) = first.finish("0000000000000000-0000000000000000.wal", 64);
        let mut second = SegmentWriter::new(crc);
        // The leader changed: entry 3 is replaced, then 4 follows.
        second.entry(3, 2, 0, b"c2".to_vec());
        second.entry(4, 2, 0, b"d".to_vec());
        second.snapshot(2, 1);
        second.state(4);
        let (second, _) = second.finish("0000000000000001-0000000000000004.wal", 4096);
        vec![first, second]
    }

    #[test]
    fn reads_entries_across_segments_with_replacement_and_the_crc_chain() {
        let segments = two_segments();
        let all = read_all(&segments, 0, 0).unwrap();
        let data: Vec<&[u8]> = all.entries.iter().map(|e| e.data.as_slice()).collect();
        assert_eq!(data, [b"a".as_slice(), b"b", b"c2", b"d"]);
        assert_eq!(all.state.commit, 4);
        assert_eq!(all.metadata.node_id, 9);
        let from_two = read_all(&segments, 2, 1).unwrap();
        assert_eq!(from_two.entries.len(), 2);
        assert_eq!(from_two.entries[0].index, 3);
        assert_eq!(
            valid_snapshots(&segments)
                .unwrap()
                .iter()
                .map(|s| s.index)
                .collect::<Vec<_>>(),
            [0, 2]
        );
    }

    #[test]
    fn a_flipped_byte_is_a_crc_error_and_a_torn_tail_ends_the_log() {
        let mut segments = two_segments();
        let flipped = {
            let mut s = segments.clone();
            // The data of entry 2 ("b", after its field tag 0x22 and length 1).
            let at = s[0]
                .bytes
                .windows(3)
                .position(|w| w == [0x22, 0x01, b'b'])
                .unwrap();
            s[0].bytes[at + 2] = b'B';
            s
        };
        let result = read_all(&flipped, 0, 0);
        assert!(
            matches!(result, Err(WalError::Corrupt { .. })),
            "{result:?}"
        );
        // The last segment cut inside its last record: the log ends before it.
        let last = segments.last_mut().unwrap();
        let keep = last.bytes.len() - 4096 - 10;
        last.bytes.truncate(keep);
        let read = read_all(&segments, 0, 0).unwrap();
        assert_eq!(read.entries.last().unwrap().index, 4);
        assert_eq!(read.state.commit, 3, "the torn hard state is not read");
    }

    #[test]
    fn a_missing_snapshot_record_and_a_gap_are_refused() {
        let segments = two_segments();
        assert_eq!(
            read_all(&segments, 3, 2).unwrap_err(),
            WalError::SnapshotNotFound { index: 3, term: 2 }
        );
        assert!(matches!(
            read_all(&segments, 2, 7),
            Err(WalError::SnapshotMismatch { .. })
        ));
        assert!(matches!(
            select(vec![segments[1].clone()], 0),
            Err(WalError::NoSegment(0))
        ));
        let mut gap = segments.clone();
        gap[1].name = "0000000000000002-0000000000000004.wal".into();
        assert!(matches!(select(gap, 0), Err(WalError::Sequence(_))));
    }
}

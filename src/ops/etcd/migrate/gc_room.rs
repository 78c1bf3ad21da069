//! How often `etcdctl migrate` collects its garbage. It holds the whole v2 store in memory
//! while it writes the v3 backend, and Go's default (GOGC=100, a collection each time the
//! heap doubles) spent about a fifth of its time collecting at 450,000 keys: 51.7 s at
//! GOGC=100 against 42.5 s at GOGC=400, for a peak RSS of 2.5 and 4.0 GB from a 687 MiB
//! snapshot. etcd is stopped on the host meanwhile, so its memory is free: a host with
//! room for [`ROOM_PER_BYTE`] times the v2 data gets GOGC=[`ROOMY_GOGC`], any other
//! etcdctl's default.

use crate::transport::{shell_quote, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// The GOGC of a host with room.
pub const ROOMY_GOGC: u32 = 400;

/// Bytes of available memory per byte of v2 data (the newest snapshot and the WAL) that
/// count as room: the measured peak was 5.9 times the snapshot at GOGC=400.
pub const ROOM_PER_BYTE: u64 = 8;

/// GOGC for a host with `available` bytes of memory (MemAvailable) and `data` bytes of v2
/// data; `None` leaves etcdctl's default.
pub fn gogc_for(available: Option<u64>, data: Option<u64>) -> Option<u32> {
    let (available, data) = (available?, data?);
    (data > 0 && available / ROOM_PER_BYTE >= data).then_some(ROOMY_GOGC)
}

/// `sh` that prints MemAvailable in KiB (as /proc/meminfo has it: mawk prints big products
/// in exponent form), then the bytes of the newest snapshot and the WAL
/// under `data_dir`'s `member` directory.
fn probe_script(data_dir: &str) -> String {
    format!(
        r#"m={member}
awk '/^MemAvailable:/ {{ print $2 }}' /proc/meminfo 2>/dev/null || echo
s=$(ls -1 -- "$m/snap" 2>/dev/null | grep '\.snap$' | sort | tail -n 1)
{{ [ -n "$s" ] && stat -c %s -- "$m/snap/$s"; stat -c %s -- "$m"/wal/*.wal 2>/dev/null; }} | awk '{{ t += $1 }} END {{ print t + 0 }}'"#,
        member = shell_quote(&format!("{}/member", data_dir.trim_end_matches('/')))
    )
}

/// The GOGC for `etcdctl migrate` on the host of `transport`; `None` (etcdctl's default)
/// when the host cannot say how much memory it has.
pub async fn gogc_on_host(
    transport: &Transport,
    data_dir: &str,
    cancel: &CancellationToken,
) -> Option<u32> {
    let output = transport
        .run(&probe_script(data_dir), &RunOptions::default(), cancel)
        .await
        .ok()?;
    let text = output.stdout_text();
    let mut lines = text.lines().map(|l| l.trim().parse::<u64>().ok());
    let available = lines.next().flatten().map(|kib| kib.saturating_mul(1024));
    let data = lines.next().flatten();
    let gogc = gogc_for(available, data);
    tracing::info!(host = %transport.host_name(), ?available, ?data, ?gogc, "garbage collection of etcdctl migrate");
    gogc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_host_with_room_collects_less_often() {
        const GIB: u64 = 1 << 30;
        let data = 1_040 * (1 << 20);
        assert_eq!(gogc_for(Some(20 * GIB), Some(data)), Some(ROOMY_GOGC));
        assert_eq!(gogc_for(Some(8 * GIB), Some(data)), None);
        assert_eq!(gogc_for(None, Some(data)), None);
        assert_eq!(gogc_for(Some(20 * GIB), None), None);
        assert_eq!(gogc_for(Some(20 * GIB), Some(0)), None);
    }

    #[test]
    fn the_probe_reads_memory_and_the_v2_data_of_a_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("member");
        std::fs::create_dir_all(member.join("snap")).unwrap();
        std::fs::create_dir_all(member.join("wal")).unwrap();
        std::fs::write(
            member.join("snap/0000000000000002-0000000000000010.snap"),
            [0; 7],
        )
        .unwrap();
        std::fs::write(
            member.join("snap/0000000000000002-0000000000000020.snap"),
            [0; 5],
        )
        .unwrap();
        std::fs::write(member.join("snap/db"), [0; 100]).unwrap();
        std::fs::write(
            member.join("wal/0000000000000000-0000000000000000.wal"),
            [0; 11],
        )
        .unwrap();
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(probe_script(&dir.path().display().to_string()))
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let available_kib: u64 = lines[0].parse().unwrap();
        assert!(available_kib > 0, "{text}");
        // The newest snapshot (5 bytes) and the WAL (11); not db, not the older snapshot.
        assert_eq!(lines[1], "16");
    }
}

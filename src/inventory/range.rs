//! Host ranges as Ansible writes them: `etcd[1:3]`, `node[01:10]`, `[a:c]`, `[1:10:2]`.

/// At most this many hosts from one pattern: a typo like `[1:1000000000]` must not eat memory.
const MAX_HOSTS: usize = 100_000;

/// Ansible's letter order for alphabetic ranges (`string.ascii_letters`).
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Why a host pattern could not be expanded; `offset..offset+len` is the bad part, in bytes
/// from the start of the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    pub offset: usize,
    pub len: usize,
    pub reason: String,
    pub help: String,
}

impl RangeError {
    fn new(offset: usize, len: usize, reason: impl Into<String>, help: &str) -> RangeError {
        RangeError {
            offset,
            len,
            reason: reason.into(),
            help: help.to_string(),
        }
    }
}

const SYNTAX_HELP: &str =
    "write a range as [begin:end] or [begin:end:step], e.g. etcd[1:3], node[01:10], host-[a:c]";

/// Whether `pattern` holds a range (and so must go through [`expand`]).
pub fn has_range(pattern: &str) -> bool {
    pattern.contains('[') || pattern.contains(']')
}

/// Expands every range in `pattern`, leftmost range outermost:
/// `n[1:2]-[a:b]` gives `n1-a, n1-b, n2-a, n2-b`. A pattern without ranges is returned as is.
pub fn expand(pattern: &str) -> Result<Vec<String>, RangeError> {
    expand_at(pattern, 0)
}

fn expand_at(pattern: &str, base: usize) -> Result<Vec<String>, RangeError> {
    let Some(open) = pattern.find(['[', ']']) else {
        return Ok(vec![pattern.to_string()]);
    };
    if pattern.as_bytes()[open] == b']' {
        return Err(RangeError::new(
            base + open,
            1,
            "`]` without a `[` before it",
            SYNTAX_HELP,
        ));
    }
    let Some(close_rel) = pattern[open + 1..].find([']', '[']) else {
        return Err(RangeError::new(
            base + open,
            pattern.len() - open,
            "`[` is never closed",
            "close the range with `]`, e.g. etcd[1:3]",
        ));
    };
    let close = open + 1 + close_rel;
    if pattern.as_bytes()[close] == b'[' {
        return Err(RangeError::new(
            base + open,
            close + 1 - open,
            "ranges cannot be nested",
            SYNTAX_HELP,
        ));
    }
    let head = &pattern[..open];
    let inner = &pattern[open + 1..close];
    let tail = &pattern[close + 1..];
    let at = base + open;
    let whole = close + 1 - open;

    let values = range_values(inner, at, whole)?;
    let tails = expand_at(tail, base + close + 1)?;
    if values.len().saturating_mul(tails.len()) > MAX_HOSTS {
        return Err(RangeError::new(
            at,
            whole,
            format!("expands to more than {MAX_HOSTS} hosts"),
            "split the range into smaller ones, or check it for a typo",
        ));
    }
    let mut out = Vec::with_capacity(values.len() * tails.len());
    for v in &values {
        for t in &tails {
            out.push(format!("{head}{v}{t}"));
        }
    }
    Ok(out)
}

/// The values of one `begin:end[:step]` range; `at`/`whole` locate `[...]` for errors.
fn range_values(inner: &str, at: usize, whole: usize) -> Result<Vec<String>, RangeError> {
    let parts: Vec<&str> = inner.split(':').collect();
    if parts.len() != 2 && parts.len() != 3 {
        return Err(RangeError::new(
            at,
            whole,
            "a range is begin:end or begin:end:step",
            SYNTAX_HELP,
        ));
    }
    let (begin, end) = (parts[0].trim(), parts[1].trim());
    // Ansible reads a missing begin as 0.
    let begin = if begin.is_empty() { "0" } else { begin };
    if end.is_empty() {
        return Err(RangeError::new(
            at,
            whole,
            "the range has no end",
            "give the range an end, e.g. etcd[1:3]",
        ));
    }
    let step = match parts.get(2).map(|s| s.trim()) {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(RangeError::new(
                    at,
                    whole,
                    format!("step `{s}` is not a whole number above 0"),
                    "the step is a positive whole number, e.g. node[1:10:2]",
                ))
            }
        },
    };

    let is_num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let letter = |s: &str| {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => LETTERS.find(c),
            _ => None,
        }
    };

    if is_num(begin) && is_num(end) {
        let width = if begin.len() > 1 && begin.starts_with('0') {
            if begin.len() != end.len() {
                return Err(RangeError::new(
                    at,
                    whole,
                    format!("zero-padded `{begin}` and `{end}` have different widths"),
                    "give both ends the same number of digits, e.g. node[01:10]",
                ));
            }
            begin.len()
        } else {
            0
        };
        let too_big = || {
            RangeError::new(
                at,
                whole,
                "the range's numbers are too large",
                "use smaller numbers",
            )
        };
        let b: u64 = begin.parse().map_err(|_| too_big())?;
        let e: u64 = end.parse().map_err(|_| too_big())?;
        if b > e {
            return Err(begin_after_end(at, whole, begin, end));
        }
        if (e - b) / step as u64 >= MAX_HOSTS as u64 {
            return Err(RangeError::new(
                at,
                whole,
                format!("expands to more than {MAX_HOSTS} hosts"),
                "split the range into smaller ones, or check it for a typo",
            ));
        }
        return Ok((b..=e)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect());
    }
    if let (Some(b), Some(e)) = (letter(begin), letter(end)) {
        if b > e {
            return Err(begin_after_end(at, whole, begin, end));
        }
        return Ok(LETTERS[b..=e]
            .chars()
            .step_by(step)
            .map(String::from)
            .collect());
    }
    Err(RangeError::new(
        at,
        whole,
        format!("`{begin}` to `{end}` is neither a number range nor a letter range"),
        "both ends are numbers (etcd[1:3], node[01:10]) or both single letters (host-[a:c])",
    ))
}

fn begin_after_end(at: usize, whole: usize, begin: &str, end: &str) -> RangeError {
    RangeError::new(
        at,
        whole,
        format!("begin `{begin}` comes after end `{end}`"),
        "write the smaller end first, e.g. etcd[1:3]",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_name_is_itself() {
        assert_eq!(
            expand("etcd-1.example.com").unwrap(),
            vec!["etcd-1.example.com"]
        );
    }

    #[test]
    fn numeric_range() {
        assert_eq!(
            expand("etcd[1:3].example.com").unwrap(),
            vec![
                "etcd1.example.com",
                "etcd2.example.com",
                "etcd3.example.com"
            ]
        );
    }

    #[test]
    fn zero_padded_range() {
        let hosts = expand("node[01:10]").unwrap();
        assert_eq!(hosts.len(), 10);
        assert_eq!(hosts[0], "node01");
        assert_eq!(hosts[8], "node09");
        assert_eq!(hosts[9], "node10");
    }

    #[test]
    fn letters_and_stride() {
        assert_eq!(expand("h-[a:c]").unwrap(), vec!["h-a", "h-b", "h-c"]);
        assert_eq!(expand("n[1:10:3]").unwrap(), vec!["n1", "n4", "n7", "n10"]);
        assert_eq!(expand("x[a:e:2]").unwrap(), vec!["xa", "xc", "xe"]);
        assert_eq!(expand("n[:2]").unwrap(), vec!["n0", "n1", "n2"]);
    }

    #[test]
    fn several_ranges_leftmost_outermost() {
        assert_eq!(
            expand("r[1:2]-[a:b].lab").unwrap(),
            vec!["r1-a.lab", "r1-b.lab", "r2-a.lab", "r2-b.lab"]
        );
    }

    #[test]
    fn bad_ranges_point_at_the_brackets() {
        let e = expand("etcd[3:1]").unwrap_err();
        assert_eq!((e.offset, e.len), (4, 5));
        assert!(e.reason.contains("comes after"), "{}", e.reason);

        let e = expand("etcd[a:3]").unwrap_err();
        assert_eq!((e.offset, e.len), (4, 5));
        assert!(e.reason.contains("neither"), "{}", e.reason);

        let e = expand("etcd[1:]").unwrap_err();
        assert!(e.reason.contains("no end"), "{}", e.reason);

        let e = expand("n[1:2]x[5:1]").unwrap_err();
        assert_eq!((e.offset, e.len), (7, 5));

        let e = expand("n[1:3").unwrap_err();
        assert_eq!((e.offset, e.len), (1, 4));

        assert!(expand("n[01:100]").is_err());
        assert!(expand("n[1:5:0]").is_err());
        assert!(expand("n[1:2:3:4]").is_err());
        assert!(expand("n1]").is_err());
        assert!(expand("n[0:9999999]").is_err());
    }
}

//! The start of a command run through sudo: the password goes to sudo's stdin only when
//! sudo prints its prompt, and the command's own stdin only after the become shell said it
//! runs, so sudo never reads the command's input and the command gets it byte for byte.

use super::escalation::{marker, prompt, Escalation};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// More than sudo ever says before the command starts: give up on finding the marker.
const MOST_BEFORE_MARKER: usize = 64 * 1024;

/// How the start went.
#[derive(Debug, PartialEq, Eq)]
pub enum Handshake {
    /// The command runs; `stderr_head` is what it wrote on stderr after the marker so far.
    Started { stderr_head: Vec<u8> },
    /// sudo did not run it: what sudo said (its prompts left out), and whether it asked
    /// for the password again after it was given one.
    Refused { said: String, asked_again: bool },
}

/// Reads `stderr` until the become shell's marker (the command started) or its end (sudo
/// refused), writing the password to `stdin` the first time sudo asks for it.
pub async fn handshake<W, R>(
    escalation: &Escalation,
    mut stdin: Option<&mut W>,
    stderr: &mut R,
) -> Handshake
where
    W: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let marker_line = format!("{}\n", marker());
    let prompt = prompt().as_bytes();
    let mut seen = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let mut prompts_answered = 0;
    loop {
        let read = match stderr.read(&mut chunk).await {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) => {
                return Handshake::Refused {
                    said: format!("{}reading sudo's output failed: {err}", said(&seen, prompt)),
                    asked_again: false,
                }
            }
        };
        seen.extend_from_slice(&chunk[..read]);
        if let Some(at) = find(&seen, marker_line.as_bytes()) {
            return Handshake::Started {
                stderr_head: seen.split_off(at + marker_line.len()),
            };
        }
        let prompts = count(&seen, prompt);
        if prompts > prompts_answered {
            let (Some(stdin), Some(password), 0) = (
                stdin.as_deref_mut(),
                escalation.password(),
                prompts_answered,
            ) else {
                return Handshake::Refused {
                    said: said(&seen, prompt),
                    asked_again: prompts_answered > 0,
                };
            };
            let mut line = password.expose().as_bytes().to_vec();
            line.push(b'\n');
            if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                break;
            }
            prompts_answered = prompts;
        }
        if seen.len() > MOST_BEFORE_MARKER {
            break;
        }
    }
    Handshake::Refused {
        said: said(&seen, prompt),
        asked_again: false,
    }
}

/// What sudo said, without the prompts it printed.
fn said(seen: &[u8], prompt: &[u8]) -> String {
    let mut text = Vec::with_capacity(seen.len());
    let mut rest = seen;
    while let Some(at) = find(rest, prompt) {
        text.extend_from_slice(&rest[..at]);
        rest = &rest[at + prompt.len()..];
    }
    text.extend_from_slice(rest);
    String::from_utf8_lossy(&text).trim().to_string()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_left_out_of_what_sudo_said() {
        let prompt = b"[p] password: ";
        let seen = b"[p] password: Sorry, try again.\n[p] password: ";
        assert_eq!(said(seen, prompt), "Sorry, try again.");
        assert_eq!(count(seen, prompt), 2);
        assert_eq!(find(b"abcabc", b"ca"), Some(2));
    }
}

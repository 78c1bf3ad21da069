//! Processes and ports a test owns: a child killed (by its PID) and reaped when the test
//! ends however it ends, and a loopback port that was free a moment ago.

use std::net::TcpListener;
use std::process::Child;

/// A child process killed and reaped on drop.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port no socket was bound to when asked (the caller retries if it is taken).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

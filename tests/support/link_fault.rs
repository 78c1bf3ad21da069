//! A slow, lossy link on one host of the netns lab, made of the kernel's own packet
//! handling (this kernel has no netem): inside the host's network namespace, iptables drops
//! each packet leaving through `eth0` with a given probability and hands the rest to an
//! NFQUEUE queue, which `delay-packets.py` (bound to it in the same namespace) releases a
//! fixed delay after each packet arrived, in arrival order. Like netem on the host's `eth0`,
//! this acts on what the host sends: every peer and client connection of the host sees the
//! added round-trip time and loss; traffic between the other hosts is untouched. The fault
//! is removed on drop, the rules first, then the delayer stopped by its PID, even when the
//! test fails; the lab's `down` removes the namespace, and its rules, in any case.

use super::command::repo_root;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The NFQUEUE queue the delayer binds (queues are per network namespace).
const QUEUE: u16 = 1;

/// The delayer's counts at its end (`delay-packets.py`'s last line).
#[derive(Debug, serde::Deserialize)]
pub struct DelayerCounts {
    pub delayed: u64,
    pub held_max: u64,
    pub lost_messages: u64,
    pub queue_dropped: Option<u64>,
    pub user_dropped: Option<u64>,
}

/// The fault on one network namespace's `eth0`, removed on drop.
pub struct LinkFault {
    netns: String,
    delayer: Child,
    delayer_out: BufReader<ChildStdout>,
    /// The iptables rules in place (the arguments after `-A OUTPUT`), in the order added.
    rules: Vec<Vec<String>>,
}

/// Runs `iptables ARGS` in `netns`, returning its stdout; panics with its stderr.
fn iptables(netns: &str, args: &[&str]) -> String {
    let output = Command::new("ip")
        .args(["netns", "exec", netns, "iptables"])
        .args(args)
        .output()
        .expect("run iptables");
    assert!(
        output.status.success(),
        "iptables {} in {netns}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl LinkFault {
    /// Delays every packet leaving `netns` through `eth0` by `delay` and drops each with
    /// probability `loss` first (so the delayed ones are those that survive, as with netem's
    /// `delay` and `loss` on that interface). Returns once both are in effect.
    pub fn apply(netns: &str, delay: Duration, loss: f64) -> LinkFault {
        let script = repo_root().join("tests/support/delay-packets.py");
        // `ip netns exec` runs the delayer itself (exec, same PID) inside the namespace.
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", netns, "/usr/bin/python3"])
            .arg(&script)
            .args([
                "--queue",
                &QUEUE.to_string(),
                "--delay-ms",
                &delay.as_millis().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: prctl(2) in the child before exec. Should the test process die without
        // its drop running (SIGKILL), the kernel kills the delayer too.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut delayer = command.spawn().expect("start delay-packets.py");
        let delayer_out = BufReader::new(delayer.stdout.take().expect("piped stdout"));
        let mut fault = LinkFault {
            netns: netns.to_string(),
            delayer,
            delayer_out,
            rules: Vec::new(),
        };
        // A queue with no program bound drops what it is given: add the rule only once the
        // kernel has acknowledged the bind.
        let mut line = String::new();
        fault
            .delayer_out
            .read_line(&mut line)
            .expect("read the delayer");
        assert_eq!(
            line.trim(),
            format!("bound queue {QUEUE}"),
            "delay-packets.py did not bind its queue in {netns}"
        );
        let probability = format!("{loss}");
        fault.add(&[
            "-o",
            "eth0",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &probability,
            "-j",
            "DROP",
        ]);
        fault.add(&[
            "-o",
            "eth0",
            "-j",
            "NFQUEUE",
            "--queue-num",
            &QUEUE.to_string(),
        ]);
        fault
    }

    fn add(&mut self, rule: &[&str]) {
        let mut args = vec!["-A", "OUTPUT"];
        args.extend_from_slice(rule);
        iptables(&self.netns, &args);
        self.rules
            .push(rule.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }

    /// The packets the kernel dropped so far (the DROP rule's counter) and the packets it
    /// handed to the queue (the NFQUEUE rule's).
    pub fn kernel_counts(&self) -> (u64, u64) {
        let table = iptables(&self.netns, &["-L", "OUTPUT", "-v", "-x", "-n"]);
        let count = |target: &str| -> u64 {
            table
                .lines()
                .find(|line| line.split_whitespace().nth(2) == Some(target))
                .and_then(|line| line.split_whitespace().next())
                .and_then(|packets| packets.parse().ok())
                .unwrap_or_else(|| panic!("no {target} rule in:\n{table}"))
        };
        (count("DROP"), count("NFQUEUE"))
    }

    /// Removes the rules, stops the delayer (SIGTERM by its PID: it releases what it holds
    /// and prints its counts) and returns its counts. Panics if the delayer had died
    /// before: then the link was not slowed the whole time.
    pub fn remove(mut self) -> DelayerCounts {
        if let Some(status) = self.delayer.try_wait().expect("wait for the delayer") {
            panic!("delay-packets.py ended before the fault was removed: {status}");
        }
        self.delete_rules();
        // SAFETY: kill(2) has no memory effects; the PID is our child's, not yet reaped.
        unsafe {
            libc::kill(self.delayer.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.delayer.try_wait().expect("wait").is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut rest = String::new();
        if self.delayer.try_wait().expect("wait").is_some() {
            self.delayer_out
                .read_to_string(&mut rest)
                .expect("read the delayer's counts");
        }
        let last = rest.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("delay-packets.py's counts ({e}): {rest:?}"))
    }

    fn delete_rules(&mut self) {
        // The NFQUEUE rule first: no packet is queued once the delayer is gone.
        while let Some(rule) = self.rules.pop() {
            let mut args = vec!["-D", "OUTPUT"];
            args.extend(rule.iter().map(String::as_str));
            let _ = Command::new("ip")
                .args(["netns", "exec", &self.netns, "iptables"])
                .args(&args)
                .status();
        }
    }
}

impl Drop for LinkFault {
    fn drop(&mut self) {
        self.delete_rules();
        let _ = self.delayer.kill();
        let _ = self.delayer.wait();
    }
}

/// What `probe-link.py` measured: ICMP echo from the namespace it ran in.
#[derive(Debug, serde::Deserialize)]
pub struct Probe {
    pub sent: u64,
    pub received: u64,
    pub loss: f64,
    pub rtt_ms: RttMs,
}

#[derive(Debug, serde::Deserialize)]
pub struct RttMs {
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.rtt_ms;
        write!(
            f,
            "{} echo requests, {} replies ({:.2}% lost), RTT min/median/p90/max {:.2}/{:.2}/{:.2}/{:.2} ms",
            self.sent,
            self.received,
            self.loss * 100.0,
            r.min,
            r.median,
            r.p90,
            r.max
        )
    }
}

impl std::fmt::Display for DelayerCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} packets delayed (at most {} held at once), {} messages lost, kernel queue drops {:?}, undelivered {:?}",
            self.delayed, self.held_max, self.lost_messages, self.queue_dropped, self.user_dropped
        )
    }
}

impl Probe {
    pub fn parse(stdout: &str) -> Probe {
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("probe ({e}): {stdout}"))
    }
}

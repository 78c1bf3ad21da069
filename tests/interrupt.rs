//! Ctrl-C (SIGINT) during a remote or local command stops the run with exit
//! 130 within 2 s, and the command's process is gone.

use crate::support::command::{write_file, Runbook};
use std::path::Path;
use std::time::{Duration, Instant};

fn wait_for_pid(file: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the command never started: {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn process_exists(pid: i32) -> bool {
    // A zombie still has a /proc entry; it counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Runs `host.run` of a long sleep on `inventory`, interrupts it, and checks the outcome.
pub fn interrupt_a_sleeping_command(dir: &Path, inventory: &str) {
    let pid_file = dir.join("sleep.pid");
    write_file(dir, "inventory.ini", inventory);
    write_file(
        dir,
        "sleepy.rhai",
        &format!("inventory.host(\"box\").run(\"echo $$ > '{}'; exec sleep 30\");\nprint(\"not reached\");\n", pid_file.display()),
    );
    let mut child = Runbook::new()
        .current_dir(dir)
        .args(["run", "sleepy.rhai", "-i", "inventory.ini"])
        .spawn();
    let sleep_pid = wait_for_pid(&pid_file);
    assert!(process_exists(sleep_pid));

    let interrupted_at = Instant::now();
    // SAFETY: signalling the child this test spawned, by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if interrupted_at.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("runbook did not stop after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = interrupted_at.elapsed();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        status.code(),
        Some(130),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?} to stop");
    assert!(!stdout.contains("not reached"));
    assert!(stderr.contains("interrupted"), "stderr:\n{stderr}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while process_exists(sleep_pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !process_exists(sleep_pid),
        "the sleep (pid {sleep_pid}) is still running"
    );
}

#[test]
fn sigint_stops_a_local_command() {
    let dir = tempfile::tempdir().unwrap();
    interrupt_a_sleeping_command(dir.path(), "[boxes]\nbox ansible_connection=local\n");
}

#[test]
fn sigint_stops_a_command_on_an_ssh_host() {
    let sshd = crate::support::sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    interrupt_a_sleeping_command(
        dir.path(),
        &format!("[boxes]\nbox {}\n", sshd.inventory_vars()),
    );
}

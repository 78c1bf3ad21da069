//! A real sshd on loopback for tests (in progress).

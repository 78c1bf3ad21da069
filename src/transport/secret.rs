//! A password held in memory only: it prints as `(hidden)` in any `Debug` or log output, so
//! no error, report or trace line can carry it by accident; and the inventory variables that
//! hold one, which scripts see as `(hidden)` too.

/// The inventory variables that hold a password: sudo's (ansible/plugins/become/sudo.py) and
/// ssh's (ansible/plugins/connection/ssh.py, refused, but still never shown).
pub const SECRET_VARIABLES: [&str; 6] = [
    "ansible_become_pass",
    "ansible_become_password",
    "ansible_sudo_pass",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
];

/// What a script, a report or the REPL sees instead of a secret variable's value.
pub const HIDDEN: &str = "(hidden)";

/// Whether the inventory variable `name` holds a password.
pub fn is_secret_variable(name: &str) -> bool {
    SECRET_VARIABLES.contains(&name)
}

/// Text that must reach a program's stdin and nothing else.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: String) -> Secret {
        Secret(text)
    }

    /// The text itself, for writing to the one pipe that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(HIDDEN)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_output_hides_the_text() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret:?}"), "(hidden)");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some((hidden))");
        assert_eq!(secret.expose(), "hunter2");
    }
}

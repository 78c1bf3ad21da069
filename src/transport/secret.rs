//! A password held in memory only: it prints as `(hidden)` in any `Debug` or log output, so
//! no error, report or trace line can carry it by accident.

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
        f.write_str("(hidden)")
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

//! Several hosts that could not be used, reported together: each host's error once, each
//! with its own fix, so an operator fixes them all before the next run, not one per run.

use super::TransportError;
use miette::Diagnostic;
use std::fmt;

/// Connecting to some of a group of hosts failed (never empty).
#[derive(Debug)]
pub struct HostsFailed {
    failures: Vec<TransportError>,
}

/// The code when the hosts failed in different ways.
const MIXED_CODE: &str = "runbook::transport::hosts";

impl HostsFailed {
    /// `Err` with every failure when there is one; one failure reads as that error alone.
    pub fn check(failures: Vec<TransportError>) -> Result<(), HostsFailed> {
        if failures.is_empty() {
            Ok(())
        } else {
            Err(HostsFailed { failures })
        }
    }
}

impl fmt::Display for HostsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failures.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "cannot use {} hosts:", all.len())?;
                for failure in all {
                    write!(f, "\n  {failure}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for HostsFailed {}

impl Diagnostic for HostsFailed {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let codes: Vec<String> = self
            .failures
            .iter()
            .map(|failure| {
                failure
                    .code()
                    .map(|code| code.to_string())
                    .unwrap_or_default()
            })
            .collect();
        let code = if codes.iter().all(|code| *code == codes[0]) {
            codes[0].clone()
        } else {
            MIXED_CODE.to_string()
        };
        Some(Box::new(code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let mut helps: Vec<String> = Vec::new();
        for help in self.failures.iter().filter_map(|failure| failure.help()) {
            let help = help.to_string();
            if !helps.contains(&help) {
                helps.push(help);
            }
        }
        (!helps.is_empty()).then(|| Box::new(helps.join("\n")) as Box<dyn fmt::Display>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(host: &str) -> TransportError {
        TransportError::SshPassword {
            host: host.into(),
            variable: "ansible_ssh_pass".into(),
        }
    }

    #[test]
    fn one_failure_reads_as_itself_and_several_name_each_host_once() {
        assert!(HostsFailed::check(Vec::new()).is_ok());
        let one = HostsFailed::check(vec![refused("a")]).unwrap_err();
        assert_eq!(one.to_string(), refused("a").to_string());
        assert_eq!(
            one.code().unwrap().to_string(),
            "runbook::transport::ssh_password"
        );

        let several = HostsFailed::check(vec![refused("a"), refused("b")]).unwrap_err();
        let text = several.to_string();
        assert!(text.starts_with("cannot use 2 hosts:"), "{text}");
        assert_eq!(text.matches("a: ansible_ssh_pass").count(), 1, "{text}");
        assert_eq!(text.matches("b: ansible_ssh_pass").count(), 1, "{text}");
        let help = several.help().unwrap().to_string();
        assert!(help.contains("for a") && help.contains("for b"), "{help}");

        let mixed = HostsFailed::check(vec![
            refused("a"),
            TransportError::BecomeMethod {
                host: "b".into(),
                method: "su".into(),
            },
        ])
        .unwrap_err();
        assert_eq!(mixed.code().unwrap().to_string(), MIXED_CODE);
    }
}

//! Privilege escalation (Ansible's `become`): a host's commands run through `sudo` as
//! `ansible_become_user`, with the variables read as ansible-core's sudo plugin reads them
//! (ansible/plugins/become/sudo.py), and sudo's refusals turned into diagnostics.

use super::error::BecomeRefusal;
use super::host_vars::HostVars;
use super::secret::Secret;
use super::{shell_quote, TransportError};
use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, OnceLock};

/// `ansible_become_user` and its older name; the later name wins, as in Ansible.
const USER_VARIABLES: [&str; 2] = ["ansible_become_user", "ansible_sudo_user"];
/// `ansible_become_pass` and its other names; the later name wins, as in Ansible.
const PASSWORD_VARIABLES: [&str; 3] = [
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
];

/// How one host's commands become another user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Who the commands run as: `ansible_become_user` (default root).
    pub user: String,
    /// Who logs in and asks sudo, for messages: `ansible_user`, or how ssh picks it.
    pub login: String,
    /// `ansible_become_pass`: fed to sudo on its stdin when it asks, never in argv.
    password: Option<Secret>,
}

impl Escalation {
    /// The host's escalation, or `None` when `ansible_become` is off, or when the login user
    /// already is the become user (Ansible skips become then: `become_allow_same_user` is
    /// off by default). `login` is the user known to log in, if any.
    pub(super) fn from_vars(
        vars: &HostVars,
        login: Option<&str>,
        login_for_messages: &str,
    ) -> Result<Option<Escalation>, TransportError> {
        let enabled = match vars.get("ansible_become") {
            Some(_) => vars.boolean("ansible_become")?,
            None => false,
        };
        if !enabled {
            warn_about_ansible_sudo(vars);
            return Ok(None);
        }
        let method = vars
            .text("ansible_become_method")
            .filter(|method| !method.trim().is_empty())
            .unwrap_or_else(|| "sudo".to_string());
        if method.trim() != "sudo" {
            return Err(TransportError::BecomeMethod {
                host: vars.host_name().to_string(),
                method,
            });
        }
        let user = vars
            .last_set(&USER_VARIABLES)
            .map(|(_, user)| user)
            .filter(|user| !user.is_empty())
            .unwrap_or_else(|| "root".to_string());
        if login == Some(user.as_str()) {
            return Ok(None);
        }
        let password = match vars.last_set(&PASSWORD_VARIABLES) {
            None => None,
            Some((_, text)) if text.is_empty() => None,
            Some((name, text)) if text.contains(['\n', '\r']) => {
                return Err(vars.invalid_shown(
                    name,
                    "a password on one line (sudo reads it up to the first line break)",
                    |_| "(hidden)".to_string(),
                ))
            }
            Some((_, text)) => Some(Secret::new(text)),
        };
        Ok(Some(Escalation {
            user,
            login: login_for_messages.to_string(),
            password,
        }))
    }

    /// The password sudo is given when it asks, if there is one.
    pub(super) fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The shell line that runs `line` (itself a shell line) as the become user: sudo, then a
    /// shell that says [`marker`] on stderr before it runs `line`, so the caller knows sudo
    /// let it through. Without a password sudo must not ask (`-n`); with one it reads it
    /// from stdin (`-S`) after printing [`prompt`].
    pub(super) fn command_line(&self, line: &str) -> String {
        let asking = match self.password {
            Some(_) => format!("-S -p {}", shell_quote(prompt())),
            None => "-n".to_string(),
        };
        let announce = format!("echo {} >&2; exec sh -c \"$1\"", marker());
        format!(
            "exec sudo -H {asking} -u {} -- sh -c {} runbook {}",
            shell_quote(&self.user),
            shell_quote(&announce),
            shell_quote(line)
        )
    }

    /// The error for a sudo that did not run the command: what it `said` (its prompts left
    /// out), and whether it asked again after the password was given.
    pub(super) fn refusal(&self, host: &str, said: &str, asked_again: bool) -> TransportError {
        let said = said.trim().to_string();
        let has = |needle: &str| said.contains(needle);
        if asked_again || has("incorrect password") || has("Sorry, try again") {
            return TransportError::BecomeWrongPassword {
                host: host.to_string(),
                login: self.login.clone(),
                user: self.user.clone(),
                said: if said.is_empty() {
                    "it asked for the password again".to_string()
                } else {
                    said
                },
            };
        }
        if has("password is required") || has("terminal is required to read the password") {
            return TransportError::BecomePassword {
                host: host.to_string(),
                login: self.login.clone(),
                user: self.user.clone(),
            };
        }
        let help = if has("not in the sudoers file")
            || has("is not allowed to")
            || has("may not run sudo")
        {
            format!(
                "give {} a sudoers rule on {host} that lets it run commands as {} (e.g. `{} ALL=(ALL) NOPASSWD: ALL` in /etc/sudoers.d/), or set ansible_become_user for {host} to a user it may become",
                self.login, self.user, self.login
            )
        } else if has("must have a tty") {
            format!(
                "sudo on {host} requires a terminal (`Defaults requiretty` in sudoers): add `Defaults:{} !requiretty` to sudoers there, as Ansible also needs",
                self.login
            )
        } else if has("not found") {
            format!("install sudo on {host}, or log in as {} directly (ansible_user) and turn ansible_become off", self.user)
        } else {
            format!(
                "check what sudo says on {host} (`sudo -n -u {} true` as {}); fix the sudoers rule, or set ansible_become=false if {} may run the commands itself",
                self.user, self.login, self.login
            )
        };
        TransportError::BecomeRefused {
            host: host.to_string(),
            help,
            detail: Box::new(BecomeRefusal {
                login: self.login.clone(),
                user: self.user.clone(),
                said: if said.is_empty() {
                    "it exited without saying why".to_string()
                } else {
                    said
                },
            }),
        }
    }
}

/// The line the become shell writes on stderr before it runs the command; sudo never
/// prints it, so seeing it means sudo let the command through.
pub(super) fn marker() -> &'static str {
    &tokens().0
}

/// The prompt sudo prints when it reads the password (`-p`): unlike sudo's own prompt it
/// is known exactly, whatever the host's language.
pub(super) fn prompt() -> &'static str {
    &tokens().1
}

/// One random id per run, so a command's own output cannot be mistaken for the marker.
fn tokens() -> &'static (String, String) {
    static TOKENS: OnceLock<(String, String)> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let id = format!("{:016x}", hasher.finish());
        (
            format!("runbook-become-ok-{id}"),
            format!("[runbook-become-{id}] password: "),
        )
    })
}

/// `ansible_sudo` is the pre-2.9 name of `ansible_become`, which ansible-core no longer reads
/// either; say so (once per host and run) when it asks for escalation that will not happen
/// (`ansible_become` is off: it defaults to false).
fn warn_about_ansible_sudo(vars: &HostVars) {
    static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if vars.get("ansible_sudo").is_some()
        && vars.boolean("ansible_sudo").unwrap_or(false)
        && WARNED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(vars.host_name().to_string())
    {
        tracing::warn!(
            host = vars.host_name(),
            "ansible_sudo is set for {}, but neither runbook nor current Ansible reads it: set ansible_become=true to run its commands through sudo",
            vars.host_name()
        );
    }
}

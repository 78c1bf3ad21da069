//! `runbook repl`: evaluate runbook code line by line against the inventory, with
//! history, completion, multi-line input and the reference at hand.

mod completion;
mod editor;
mod history;
mod input;
mod session;

pub use input::is_complete;
pub use session::Session;

use crate::inventory::Inventory;
use crate::script::reference::Reference;
use completion::Vocabulary;
use editor::LineHelper;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::Editor;
use std::path::Path;

const HELP: &str = "\
Type runbook code (Rhai); a line with an open { ( [ continues on the next.
The globals inventory, etcd, lease and master are here; the stdlib modules are
reachable as openshift::, layouts::, report:: without an import.
  :help [NAME]   the reference, or one primitive or stdlib function (etcd.health, openshift::masters)
  :load FILE     evaluate a runbook or module into this session
  :vars          the session's variables
  :hosts         the inventory's hosts and their groups
  :quit          leave (or Ctrl-D)
Ctrl-C stops the running command (and its remote process) and returns here.";

/// Reads, evaluates and prints until `:quit` or end of input.
pub fn run(mut session: Session, reference: Reference) -> std::io::Result<()> {
    let inventory = session.ctx.inventory.clone();
    let vocabulary = Vocabulary {
        hosts: inventory.hosts().iter().map(|h| h.name.clone()).collect(),
        groups: inventory
            .group_names()
            .iter()
            .map(|g| g.to_string())
            .collect(),
        help_names: reference.names(),
    };
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .history_ignore_dups(true)
        .map_err(std::io::Error::other)?
        .max_history_size(10_000)
        .map_err(std::io::Error::other)?
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: Editor<LineHelper, FileHistory> =
        Editor::with_config(config).map_err(std::io::Error::other)?;
    let mut helper = LineHelper::new(vocabulary);
    helper.names = session.names();
    editor.set_helper(Some(helper));
    let history = history::history_file();
    if let Some(file) = &history {
        // A missing or unreadable history is not worth refusing to start.
        let _ = editor.load_history(file);
    }
    println!(
        "runbook repl: {} hosts; :help for help, :quit or Ctrl-D to leave",
        inventory.hosts().len()
    );
    loop {
        let line = match editor.readline("runbook> ") {
            Ok(line) => line,
            // Ctrl-C at the prompt drops the line, as a shell does.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(std::io::Error::other(error)),
        };
        if let Some(file) = &history {
            // Appended at once, so a session that is killed keeps what it was given.
            let _ = editor.append_history(file);
        }
        let input = line.trim();
        if input.is_empty() {
            continue;
        }
        if input.starts_with(':') {
            match meta_command(input, &mut session, &reference, &inventory) {
                Flow::Quit => break,
                Flow::Go => {}
            }
        } else {
            print_outcome(session.eval(&line));
        }
        if let Some(helper) = editor.helper_mut() {
            helper.names = session.names();
        }
    }
    Ok(())
}

enum Flow {
    Go,
    Quit,
}

fn meta_command(
    input: &str,
    session: &mut Session,
    reference: &Reference,
    inventory: &Inventory,
) -> Flow {
    let (command, argument) = match input.split_once(char::is_whitespace) {
        Some((command, argument)) => (command, argument.trim()),
        None => (input, ""),
    };
    match command {
        ":quit" | ":q" | ":exit" => return Flow::Quit,
        ":help" | ":h" if argument.is_empty() => {
            println!("{HELP}\n\nPrimitives and stdlib functions (`:help NAME` for one):");
            println!("{}", columns(&reference.names()));
        }
        ":help" | ":h" => {
            let entries = reference.lookup(argument);
            if entries.is_empty() {
                eprintln!("no primitive or stdlib function named `{argument}`; `:help` lists them");
            } else {
                println!("{}", entries.join("\n"));
            }
        }
        ":load" | ":l" if argument.is_empty() => eprintln!("usage: :load FILE"),
        ":load" | ":l" => {
            let path = Path::new(argument);
            match session.load(path) {
                Ok(value) => {
                    println!("loaded {}", path.display());
                    if let Some(value) = value {
                        println!("=> {value}");
                    }
                }
                Err(diagnostic) => print_outcome(Err(diagnostic)),
            }
        }
        ":vars" | ":v" => {
            let variables = session.variables();
            if variables.is_empty() {
                println!("no variables yet");
            }
            for (name, kind, value) in variables {
                println!("{name}: {kind} = {value}");
            }
        }
        ":hosts" => {
            for host in inventory.hosts() {
                println!(
                    "{:<20} {}",
                    host.name,
                    inventory.groups_of(&host.name).join(", ")
                );
            }
        }
        _ => eprintln!(
            "unknown command `{command}`; the commands are :help, :load, :vars, :hosts, :quit"
        ),
    }
    Flow::Go
}

fn print_outcome(
    outcome: Result<Option<String>, Box<crate::script::diagnostics::ScriptDiagnostic>>,
) {
    match outcome {
        // Tables and pretty-printed data start on a line of their own.
        Ok(Some(value)) if value.contains('\n') => println!("{value}"),
        Ok(Some(value)) => println!("=> {value}"),
        Ok(None) => {}
        Err(diagnostic) => eprintln!("{:?}", miette::Report::new(*diagnostic)),
    }
}

/// Names in columns of equal width, 100 characters wide.
fn columns(names: &[String]) -> String {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0) + 2;
    let per_line = (100 / width).max(1);
    names
        .chunks(per_line)
        .map(|row| {
            row.iter()
                .map(|n| format!("{n:<width$}"))
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

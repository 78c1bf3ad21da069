//! What happens when the debugger stops: show where, then read commands until one
//! resumes the run.

use super::breakpoints::{BreakAt, Breakpoint, Resolved, Resolver};
use super::statements::Statements;
use super::stepping::{stop_at, stop_at_return, Here, Motion, Stop};
use crate::script::api::row::{self, Row};
use crate::script::sources::SourceMap;
use rhai::debugger::{DebuggerCommand, DebuggerEvent};
use rhai::{ASTNode, Dynamic, EvalAltResult, EvalContext, Position};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const HELP: &str = "\
  step, s          run to the next statement, into called functions
  next, n          run to the next statement here, over calls and step closures (Enter repeats)
  finish, f        run until the current function returns
  continue, c      run to the next breakpoint
  backtrace, bt    the calls that led here
  print, p EXPR    evaluate EXPR here (a variable, or any expression)
  EXPR             the same as print EXPR
  break, b AT      add a breakpoint: LINE, FILE:LINE or FUNCTION
  breakpoints      list the breakpoints
  delete N         remove breakpoint N
  list, l          the source around this line
  quit, q          stop the run here (it fails; nothing after this point runs)";

/// A command that resumes the run (Enter repeats the last one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    Step,
    Next,
    Finish,
    Continue,
}

/// The debugger's own state, shared by every stop.
pub struct Debugger {
    resolver: Resolver,
    sources: SourceMap,
    stop_at_start: bool,
    /// Set while an expression typed at the prompt runs: its events are not the run's.
    evaluating: AtomicBool,
    last: Mutex<Resume>,
    motion: Mutex<Motion>,
    breakpoints: Mutex<Vec<Breakpoint>>,
    /// Each source's statements, parsed when the run first reaches it.
    statements: Mutex<HashMap<String, Option<Arc<Statements>>>>,
    started: AtomicBool,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Debugger {
    pub fn new(resolver: Resolver, sources: SourceMap, breakpoints: Vec<Breakpoint>) -> Debugger {
        Debugger {
            resolver,
            sources,
            stop_at_start: breakpoints.is_empty(),
            evaluating: AtomicBool::new(false),
            last: Mutex::new(Resume::Next),
            motion: Mutex::new(Motion::Continue),
            breakpoints: Mutex::new(breakpoints),
            statements: Mutex::new(HashMap::new()),
            started: AtomicBool::new(false),
        }
    }

    fn statements_of(&self, source: &str) -> Option<Arc<Statements>> {
        locked(&self.statements)
            .entry(source.to_string())
            .or_insert_with(|| {
                let text = self.sources.get(source)?;
                Statements::parse(&text).map(Arc::new)
            })
            .clone()
    }

    pub fn on_event(
        &self,
        mut context: EvalContext,
        event: DebuggerEvent,
        node: ASTNode,
        source: Option<&str>,
        position: Position,
    ) -> Result<DebuggerCommand, Box<EvalAltResult>> {
        if self.evaluating.load(Ordering::SeqCst) {
            return Ok(DebuggerCommand::Continue);
        }
        let source = source.unwrap_or(&self.resolver.script).to_string();
        let depth = context.global_runtime_state().debugger().call_stack().len();
        match event {
            DebuggerEvent::Start => {
                // Modules imported by the run start their own evaluations: only the first start counts.
                if self.started.swap(true, Ordering::SeqCst) {
                    return Ok(DebuggerCommand::Continue);
                }
                if !self.stop_at_start {
                    // Report every node from here on; stop_at decides where to stop.
                    return Ok(DebuggerCommand::StepInto);
                }
                println!(
                    "debugging {}: stopped before the first statement",
                    self.resolver.script
                );
            }
            DebuggerEvent::End => return Ok(DebuggerCommand::Continue),
            DebuggerEvent::Step | DebuggerEvent::BreakPoint(_) => {
                let statements = self.statements_of(&source);
                let here = Here {
                    node: &node,
                    source: &source,
                    depth,
                    statements: statements.as_deref(),
                };
                let motion = *locked(&self.motion);
                let stop = stop_at(&here, motion, &locked(&self.breakpoints));
                match stop {
                    None => return Ok(DebuggerCommand::StepInto),
                    Some(Stop::Breakpoint(index)) => {
                        let described = locked(&self.breakpoints)[index].to_string();
                        println!("breakpoint {}: {described}", index + 1);
                    }
                    Some(Stop::Arrived) => {}
                }
                let start = statements.map_or(position, |s| s.start_of(&node));
                self.show_line(&source, start, 0);
                return self.read_commands(&mut context, &source, start, depth);
            }
            // Rhai reports every call's return (native ones too); only a `finish` stops at one.
            DebuggerEvent::FunctionExitWithValue(_) | DebuggerEvent::FunctionExitWithError(_)
                if !stop_at_return(*locked(&self.motion), depth) =>
            {
                return Ok(DebuggerCommand::StepInto)
            }
            DebuggerEvent::FunctionExitWithValue(value) => {
                let (name, call) = current_call(&context);
                println!("{name} returned {}", short(value));
                // Show where it was called from: that is where the run goes on, a call shallower.
                let call = call.unwrap_or(position);
                self.show_line(&source, call, 0);
                return self.read_commands(&mut context, &source, call, depth - 1);
            }
            DebuggerEvent::FunctionExitWithError(error) => {
                let (name, call) = current_call(&context);
                println!("{name} failed: {error}");
                let call = call.unwrap_or(position);
                self.show_line(&source, call, 0);
                return self.read_commands(&mut context, &source, call, depth - 1);
            }
            _ => return Ok(DebuggerCommand::StepInto),
        }
        self.show_line(&source, position, 0);
        self.read_commands(&mut context, &source, position, depth)
    }

    /// Reads commands at a stop `depth` calls deep until one resumes the run.
    fn read_commands(
        &self,
        context: &mut EvalContext,
        source: &str,
        position: Position,
        depth: usize,
    ) -> Result<DebuggerCommand, Box<EvalAltResult>> {
        let stdin = std::io::stdin();
        loop {
            print!("debug> ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            let resume = match stdin.lock().read_line(&mut line) {
                // End of input: let the run go on to its end.
                Ok(0) | Err(_) => Some(Resume::Continue),
                Ok(_) => self.command(context, source, position, line.trim())?,
            };
            if let Some(resume) = resume {
                *locked(&self.last) = resume;
                self.resume(resume, depth);
                // Rhai reports every node; stop_at decides where the run stops.
                return Ok(DebuggerCommand::StepInto);
            }
        }
    }

    /// Sets the motion for `resume`, given at a stop `depth` calls deep.
    fn resume(&self, resume: Resume, depth: usize) {
        let motion = match resume {
            Resume::Step => Motion::Step,
            Resume::Next => Motion::Next { depth },
            Resume::Continue => Motion::Continue,
            Resume::Finish if depth > 0 => Motion::Finish { depth },
            Resume::Finish => {
                println!("not in a function: going on to the next breakpoint");
                Motion::Continue
            }
        };
        *locked(&self.motion) = motion;
    }

    /// One command typed at the prompt; Some when it resumes the run.
    fn command(
        &self,
        context: &mut EvalContext,
        source: &str,
        position: Position,
        line: &str,
    ) -> Result<Option<Resume>, Box<EvalAltResult>> {
        let (word, rest) = match line.split_once(char::is_whitespace) {
            Some((word, rest)) => (word, rest.trim()),
            None => (line, ""),
        };
        Ok(match word {
            "" => Some(*locked(&self.last)),
            "step" | "s" => Some(Resume::Step),
            "next" | "n" => Some(Resume::Next),
            "finish" | "f" => Some(Resume::Finish),
            "continue" | "c" => Some(Resume::Continue),
            "quit" | "q" => {
                return Err(Box::new(EvalAltResult::ErrorTerminated(
                    Dynamic::from("stopped in the debugger"),
                    position,
                )))
            }
            "help" | "h" | "?" => {
                println!("{HELP}");
                None
            }
            "backtrace" | "bt" => {
                self.backtrace(context, source, position);
                None
            }
            "list" | "l" => {
                self.show_line(source, position, 3);
                None
            }
            "break" | "b" => {
                self.add_breakpoint(rest);
                None
            }
            "breakpoints" | "info" => {
                let points = locked(&self.breakpoints);
                if points.is_empty() {
                    println!("no breakpoints");
                }
                for (index, point) in points.iter().enumerate() {
                    println!("{}: {point}", index + 1);
                }
                None
            }
            "delete" | "d" => {
                let mut points = locked(&self.breakpoints);
                match rest.parse::<usize>() {
                    Ok(n) if n >= 1 && n <= points.len() => {
                        let removed = points.remove(n - 1);
                        println!("deleted {removed}");
                    }
                    _ => println!("delete N: N is a number from `breakpoints`"),
                }
                None
            }
            "print" | "p" if rest.is_empty() => {
                println!("print EXPR: a variable or an expression");
                None
            }
            "print" | "p" => {
                self.evaluate(context, rest);
                None
            }
            _ => {
                self.evaluate(context, line);
                None
            }
        })
    }

    /// Evaluates an expression in the scope where the run stopped.
    fn evaluate(&self, context: &mut EvalContext, expression: &str) {
        let engine = context.engine();
        self.evaluating.store(true, Ordering::SeqCst);
        let outcome = engine.eval_with_scope::<Dynamic>(context.scope_mut(), expression);
        self.evaluating.store(false, Ordering::SeqCst);
        match outcome {
            Ok(value) => println!("{}", short(&value)),
            Err(error) => println!("error: {error}"),
        }
    }

    fn add_breakpoint(&self, text: &str) {
        let resolved = text
            .parse::<BreakAt>()
            .and_then(|at| self.resolver.resolve(&at));
        match resolved {
            Ok(Resolved { breakpoint, note }) => {
                let mut points = locked(&self.breakpoints);
                points.push(breakpoint);
                println!(
                    "{}",
                    announce(points.len(), &points[points.len() - 1], note)
                );
            }
            Err(problem) => println!("{problem}"),
        }
    }

    fn backtrace(&self, context: &EvalContext, source: &str, position: Position) {
        let frames = context.global_runtime_state().debugger().call_stack();
        let here = frames
            .last()
            .map_or("(top level)".to_string(), |f| called(&f.fn_name));
        println!("#0 {here} at {}", place(source, position));
        for (depth, frame) in frames.iter().rev().enumerate() {
            let caller = frames
                .len()
                .checked_sub(depth + 2)
                .map_or("(top level)".to_string(), |i| called(&frames[i].fn_name));
            let source = frame.source.as_deref().unwrap_or(&self.resolver.script);
            println!(
                "#{} {caller} at {} (calls {})",
                depth + 1,
                place(source, frame.pos),
                called(&frame.fn_name).trim_end_matches("()")
            );
        }
    }

    /// The line where the run stopped, with `around` lines either side.
    fn show_line(&self, source: &str, position: Position, around: usize) {
        let Some(line) = position.line() else {
            println!("at {source}");
            return;
        };
        println!("at {}", place(source, position));
        let Some(text) = self.sources.get(source) else {
            return;
        };
        let lines: Vec<&str> = text.lines().collect();
        let first = line.saturating_sub(around + 1);
        let last = (line + around).min(lines.len());
        for (index, text) in lines.iter().enumerate().take(last).skip(first) {
            let marker = if index + 1 == line { "=>" } else { "  " };
            println!("{marker} {:>4} | {text}", index + 1);
        }
    }
}

fn place(source: &str, position: Position) -> String {
    match position.line() {
        Some(line) => format!("{source}:{line}"),
        None => source.to_string(),
    }
}

/// The function being left, and where it was called.
fn current_call(context: &EvalContext) -> (String, Option<Position>) {
    match context
        .global_runtime_state()
        .debugger()
        .call_stack()
        .last()
    {
        Some(frame) => (called(&frame.fn_name), Some(frame.pos)),
        None => ("the function".to_string(), None),
    }
}

/// A call as the operator wrote it: `name()`, or `the closure` for one Rhai named `anon$…`.
fn called(fn_name: &str) -> String {
    if fn_name.starts_with("anon$") {
        "the closure".to_string()
    } else {
        format!("{fn_name}()")
    }
}

/// How a new breakpoint is announced: its number, where it stops, and why there.
pub fn announce(number: usize, breakpoint: &Breakpoint, note: Option<String>) -> String {
    match note {
        Some(note) => format!("breakpoint {number}: {breakpoint} ({note})"),
        None => format!("breakpoint {number}: {breakpoint}"),
    }
}

/// A value on one line, as the REPL would show it.
fn short(value: &Dynamic) -> String {
    if value.is_unit() {
        return "()".to_string();
    }
    if value.is_string() {
        return format!("{:?}", value.to_string());
    }
    match row::to_json(value) {
        Ok(json) if value.is_map() || value.is_array() || value.is::<Row>() => json.to_string(),
        _ => value.to_string(),
    }
}

//! What happens when the debugger stops: show where, then read commands until one
//! resumes the run.

use super::breakpoints::{BreakAt, Resolver};
use crate::script::sources::SourceMap;
use rhai::debugger::{BreakPoint, DebuggerCommand, DebuggerEvent};
use rhai::{ASTNode, Dynamic, EvalAltResult, EvalContext, Position};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

const HELP: &str = "\
  step, s          run to the next statement, into called functions
  next, n          run to the next statement here, over calls (Enter repeats the last command)
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

/// The debugger's own state, shared by every stop.
pub struct Debugger {
    resolver: Resolver,
    sources: SourceMap,
    stop_at_start: bool,
    /// Set while an expression typed at the prompt runs: its events are not the run's.
    evaluating: AtomicBool,
    /// What the operator asked for last: repeated on Enter, and kept while the
    /// debugger passes over expression nodes it does not stop at.
    last: Mutex<DebuggerCommand>,
    started: AtomicBool,
}

impl Debugger {
    pub fn new(resolver: Resolver, sources: SourceMap, stop_at_start: bool) -> Debugger {
        Debugger {
            resolver,
            sources,
            stop_at_start,
            evaluating: AtomicBool::new(false),
            last: Mutex::new(DebuggerCommand::Next),
            started: AtomicBool::new(false),
        }
    }

    fn last(&self) -> DebuggerCommand {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
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
        match event {
            DebuggerEvent::Start => {
                // Modules imported by the run start their own evaluations: only the first start counts.
                if self.started.swap(true, Ordering::SeqCst) || !self.stop_at_start {
                    return Ok(DebuggerCommand::Continue);
                }
                println!(
                    "debugging {}: stopped before the first statement",
                    self.resolver.script
                );
            }
            DebuggerEvent::End => return Ok(DebuggerCommand::Continue),
            // Stop at statements; pass over the expressions (and blocks) inside them the same way.
            DebuggerEvent::Step if !stops_here(&node) => return Ok(self.last()),
            DebuggerEvent::Step => {}
            DebuggerEvent::BreakPoint(index) => {
                let debugger = context.global_runtime_state().debugger();
                let point = debugger.break_points().get(index).cloned();
                match point {
                    Some(BreakPoint::AtPosition { .. }) if !stops_here(&node) => {
                        return Ok(self.last())
                    }
                    Some(point) => println!("breakpoint {}: {}", index + 1, describe(&point)),
                    None => {}
                }
            }
            DebuggerEvent::FunctionExitWithValue(value) => {
                let (name, call) = current_call(&context);
                println!("{name} returned {}", short(value));
                // Show where it was called from: that is where the run goes on.
                self.show_line(&source, call.unwrap_or(position), 0);
                return self.read_commands(&mut context, &source, call.unwrap_or(position));
            }
            DebuggerEvent::FunctionExitWithError(error) => {
                let (name, _) = current_call(&context);
                println!("{name} failed: {error}");
            }
            _ => return Ok(self.last()),
        }
        self.show_line(&source, position, 0);
        self.read_commands(&mut context, &source, position)
    }

    fn read_commands(
        &self,
        context: &mut EvalContext,
        source: &str,
        position: Position,
    ) -> Result<DebuggerCommand, Box<EvalAltResult>> {
        let stdin = std::io::stdin();
        loop {
            print!("debug> ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                // End of input: let the run go on to its end.
                Ok(0) | Err(_) => return Ok(DebuggerCommand::Continue),
                Ok(_) => {}
            }
            let line = line.trim();
            let (word, rest) = match line.split_once(char::is_whitespace) {
                Some((word, rest)) => (word, rest.trim()),
                None => (line, ""),
            };
            let resume = match word {
                "" => Some(self.last()),
                "step" | "s" => Some(DebuggerCommand::StepInto),
                "next" | "n" => Some(DebuggerCommand::Next),
                "finish" | "f" => Some(DebuggerCommand::FunctionExit),
                "continue" | "c" => Some(DebuggerCommand::Continue),
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
                    self.add_breakpoint(context, rest);
                    None
                }
                "breakpoints" | "info" => {
                    let points = context.global_runtime_state().debugger().break_points();
                    if points.is_empty() {
                        println!("no breakpoints");
                    }
                    for (index, point) in points.iter().enumerate() {
                        println!("{}: {}", index + 1, describe(point));
                    }
                    None
                }
                "delete" | "d" => {
                    let points = context
                        .global_runtime_state_mut()
                        .debugger_mut()
                        .break_points_mut();
                    match rest.parse::<usize>() {
                        Ok(n) if n >= 1 && n <= points.len() => {
                            let removed = points.remove(n - 1);
                            println!("deleted {}", describe(&removed));
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
            };
            if let Some(command) = resume {
                *self.last.lock().unwrap_or_else(|e| e.into_inner()) = command;
                return Ok(command);
            }
        }
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

    fn add_breakpoint(&self, context: &mut EvalContext, text: &str) {
        let point = text
            .parse::<BreakAt>()
            .and_then(|at| self.resolver.resolve(&at));
        match point {
            Ok(point) => {
                let points = context
                    .global_runtime_state_mut()
                    .debugger_mut()
                    .break_points_mut();
                points.push(point);
                println!(
                    "breakpoint {}: {}",
                    points.len(),
                    describe(&points[points.len() - 1])
                );
            }
            Err(problem) => println!("{problem}"),
        }
    }

    fn backtrace(&self, context: &EvalContext, source: &str, position: Position) {
        let frames = context.global_runtime_state().debugger().call_stack();
        let here = frames
            .last()
            .map_or("(top level)".to_string(), |f| format!("{}()", f.fn_name));
        println!("#0 {here} at {}", place(source, position));
        for (depth, frame) in frames.iter().rev().enumerate() {
            let caller = frames
                .len()
                .checked_sub(depth + 2)
                .map_or("(top level)".to_string(), |i| {
                    format!("{}()", frames[i].fn_name)
                });
            let source = frame.source.as_deref().unwrap_or(&self.resolver.script);
            println!(
                "#{} {caller} at {} (calls {})",
                depth + 1,
                place(source, frame.pos),
                frame.fn_name
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
        Some(frame) => (format!("{}()", frame.fn_name), Some(frame.pos)),
        None => ("the function".to_string(), None),
    }
}

/// Statements other than bare blocks: where a person expects to stop.
fn stops_here(node: &ASTNode) -> bool {
    matches!(node, ASTNode::Stmt(statement)
        if !matches!(statement, rhai::Stmt::Block(..) | rhai::Stmt::Noop(..)))
}

fn describe(point: &BreakPoint) -> String {
    match point {
        BreakPoint::AtPosition { source, pos, .. } => place(source.as_deref().unwrap_or("?"), *pos),
        BreakPoint::AtFunctionName { name, .. } | BreakPoint::AtFunctionCall { name, .. } => {
            format!("fn {name}")
        }
        other => other.to_string(),
    }
}

/// A value on one line, as the REPL would show it.
fn short(value: &Dynamic) -> String {
    if value.is_string() {
        return format!("{:?}", value.to_string());
    }
    match rhai::serde::from_dynamic::<serde_json::Value>(value) {
        Ok(json) if value.is_map() || value.is_array() => json.to_string(),
        _ => value.to_string(),
    }
}

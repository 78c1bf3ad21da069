//! Whether the run stops at a node: the operator's last command and the breakpoints
//! decide, statement by statement. Rhai is told to report every node, and this
//! decides, so a breakpoint never fires at an expression inside a statement.

use super::breakpoints::Breakpoint;
use super::statements::Statements;
use rhai::{ASTNode, Expr, Stmt};

/// How the operator asked the run to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// Stop at the next statement, in a called function too.
    Step,
    /// Stop at the next statement at `depth` calls deep or shallower.
    Next { depth: usize },
    /// Stop when the function `depth` calls deep returns, or at a breakpoint.
    Finish { depth: usize },
    /// Stop at a breakpoint only.
    Continue,
}

/// Whether a function returning at `depth` calls deep ends the motion.
pub fn stop_at_return(motion: Motion, depth: usize) -> bool {
    motion == Motion::Finish { depth }
}

/// What the debugger sees at one node.
pub struct Here<'a> {
    pub node: &'a ASTNode<'a>,
    pub source: &'a str,
    /// How many script function calls deep the run is.
    pub depth: usize,
    /// The statements of `source`, when it parsed.
    pub statements: Option<&'a Statements>,
}

/// Why the run stops here.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// Breakpoint number `index` (from 0) is here.
    Breakpoint(usize),
    /// The motion asked for ends here.
    Arrived,
}

impl Here<'_> {
    fn is_statement(&self) -> bool {
        match self.statements {
            Some(statements) => statements.is_statement(self.node),
            None => matches!(self.node, ASTNode::Stmt(s)
                if !matches!(s, Stmt::Block(..) | Stmt::Noop(..) | Stmt::Expr(..))),
        }
    }

    fn hits(&self, breakpoint: &Breakpoint) -> bool {
        match breakpoint {
            Breakpoint::Statement {
                source,
                reported_at,
                ..
            } => {
                source == self.source && self.node.position() == *reported_at && self.is_statement()
            }
            Breakpoint::Function(name) => called_function(self.node) == Some(name.as_str()),
        }
    }
}

/// Whether to stop at `here`, going on by `motion` with `breakpoints` set.
pub fn stop_at(here: &Here, motion: Motion, breakpoints: &[Breakpoint]) -> Option<Stop> {
    if let Some(index) = breakpoints.iter().position(|b| here.hits(b)) {
        return Some(Stop::Breakpoint(index));
    }
    let arrived = match motion {
        Motion::Step => here.is_statement(),
        Motion::Next { depth } => here.depth <= depth && here.is_statement(),
        Motion::Finish { .. } | Motion::Continue => false,
    };
    arrived.then_some(Stop::Arrived)
}

/// The function a call node calls (`name(...)` or `value.name(...)`).
fn called_function<'a>(node: &'a ASTNode) -> Option<&'a str> {
    match node {
        ASTNode::Stmt(Stmt::FnCall(call, ..))
        | ASTNode::Expr(Expr::FnCall(call, ..))
        | ASTNode::Expr(Expr::MethodCall(call, ..)) => Some(call.name.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::{Engine, Position};

    const TEXT: &str = "\
let list = [1, 2, 3];
let big = list.filter(|m| m > 1);
fn double(x) {
    x * 2
}
let total = double(2);
";

    /// Every node of TEXT that Rhai's debugger reports, as (node kind, line, depth).
    fn stops(motion: Motion, breakpoints: &[Breakpoint]) -> Vec<(usize, usize)> {
        let statements = Statements::parse(TEXT).unwrap();
        let ast = Engine::new().compile(TEXT).unwrap();
        let mut found = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            let node = path.last().unwrap();
            // Functions' bodies sit one call deeper.
            let depth = usize::from(node.position().line().unwrap_or(0) == 4);
            let here = Here {
                node,
                source: "t.rhai",
                depth,
                statements: Some(&statements),
            };
            if stop_at(&here, motion, breakpoints).is_some() {
                found.push((
                    node.position().line().unwrap(),
                    node.position().position().unwrap(),
                ));
            }
            true
        });
        found
    }

    #[test]
    fn a_line_breakpoint_stops_at_its_statement_only() {
        let line_2 = Breakpoint::Statement {
            source: "t.rhai".into(),
            line: 2,
            reported_at: Position::new(2, 1),
        };
        // Not at the filter closure's body, which starts on the same line.
        assert_eq!(stops(Motion::Continue, &[line_2]), vec![(2, 1)]);
    }

    #[test]
    fn step_stops_at_every_statement_and_next_stays_at_its_depth() {
        let step: Vec<usize> = stops(Motion::Step, &[]).iter().map(|s| s.0).collect();
        assert!(step.contains(&4), "{step:?}");
        let next: Vec<usize> = stops(Motion::Next { depth: 0 }, &[])
            .iter()
            .map(|s| s.0)
            .collect();
        assert!(!next.contains(&4), "{next:?}");
        assert!(next.contains(&1) && next.contains(&6), "{next:?}");
    }

    #[test]
    fn a_function_breakpoint_stops_at_each_call() {
        let at = stops(Motion::Continue, &[Breakpoint::Function("double".into())]);
        assert_eq!(at.len(), 1, "{at:?}");
        assert_eq!(at[0].0, 6);
    }
}

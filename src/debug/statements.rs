//! Where each statement of a source starts, so the debugger stops at statements
//! and never at the expressions inside one (closure captures, arguments, the
//! bodies of `filter` closures written on the same line).

use crate::script::engine::set_limits;
use rhai::{ASTNode, Engine, Expr, Position, Stmt};
use std::collections::{BTreeMap, HashSet};
use std::mem::Discriminant;

/// One statement: the line and column a reader sees it start at, and the position
/// Rhai's debugger reports for it (an expression statement is reported by its
/// expression, at its operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    pub start: Position,
    pub reported_at: Position,
}

/// A node's kind, so a statement and an expression inside it at the same position differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Statement(Discriminant<Stmt>),
    Expression(Discriminant<Expr>),
}

/// The statements of one source, parsed as the run's engine parses it.
#[derive(Debug, Default)]
pub struct Statements {
    /// By (line, column) of their start.
    by_start: BTreeMap<(usize, usize), Statement>,
    /// The nodes the debugger reports for statements, by position and kind. An
    /// expression statement is reported by its expression.
    reported: HashSet<(Position, Kind)>,
}

impl Statements {
    /// The statements of `text`, or None when it does not parse (the run reports that).
    pub fn parse(text: &str) -> Option<Statements> {
        let mut engine = Engine::new();
        set_limits(&mut engine);
        let ast = engine.compile(text).ok()?;
        let mut statements = Statements::default();
        ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Stmt(statement)) = path.last() {
                if !path.iter().any(creates_a_closure) {
                    statements.record(statement);
                }
            }
            true
        });
        Some(statements)
    }

    fn record(&mut self, statement: &Stmt) {
        let found = match statement {
            Stmt::Block(..) | Stmt::Noop(..) => return,
            // A block used as an expression: its own statements are recorded.
            Stmt::Expr(expr) if matches!(**expr, Expr::Stmt(..)) => return,
            Stmt::Expr(expr) => {
                self.reported
                    .insert((expr.position(), kind_of(&ASTNode::Expr(expr))));
                Statement {
                    start: earliest(statement),
                    reported_at: expr.position(),
                }
            }
            other => {
                self.reported
                    .insert((other.position(), kind_of(&ASTNode::Stmt(other))));
                Statement {
                    start: earliest(other),
                    reported_at: other.position(),
                }
            }
        };
        if let (Some(line), Some(column)) = (found.start.line(), found.start.position()) {
            self.by_start.entry((line, column)).or_insert(found);
        }
    }

    /// The first statement that starts on `line` or, if none does, on a later line.
    pub fn first_from(&self, line: usize) -> Option<Statement> {
        self.by_start.range((line, 0)..).next().map(|(_, s)| *s)
    }

    /// The line of the last statement, for an error about a line past it.
    pub fn last_line(&self) -> Option<usize> {
        self.by_start.keys().next_back().map(|(line, _)| *line)
    }

    /// Whether the debugger's `node` is a statement (not a part of one).
    pub fn is_statement(&self, node: &ASTNode) -> bool {
        self.reported.contains(&(node.position(), kind_of(node)))
    }

    /// Where a reader sees the statement the debugger reports as `node` start.
    pub fn start_of(&self, node: &ASTNode) -> Position {
        self.by_start
            .values()
            .find(|s| s.reported_at == node.position())
            .map_or(node.position(), |s| s.start)
    }
}

/// The first position inside a statement: where a reader sees it start (Rhai puts a
/// binary operation at its operator, a method chain at its dot).
fn earliest(statement: &Stmt) -> Position {
    let mut first = statement.position();
    statement.walk(&mut Vec::new(), &mut |path: &[ASTNode]| {
        let here = path.last().map_or(Position::NONE, ASTNode::position);
        if let (Some(line), Some(column)) = (here.line(), here.position()) {
            if (line, column)
                < (
                    first.line().unwrap_or(usize::MAX),
                    first.position().unwrap_or(0),
                )
            {
                first = here;
            }
        }
        true
    });
    first
}

fn kind_of(node: &ASTNode) -> Kind {
    match node {
        ASTNode::Expr(expr) => Kind::Expression(std::mem::discriminant(*expr)),
        ASTNode::Stmt(statement) => Kind::Statement(std::mem::discriminant(*statement)),
        #[allow(unreachable_patterns)]
        _ => Kind::Statement(std::mem::discriminant(&Stmt::Noop(Position::NONE))),
    }
}

/// The block Rhai writes where a closure captures variables (`share` them, then
/// `curry` the function): its statements are not the script's.
fn creates_a_closure(node: &ASTNode) -> bool {
    matches!(node, ASTNode::Expr(Expr::Stmt(block))
        if matches!(block.statements().first(), Some(Stmt::Share(..))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
let members = [1, 2, 3];
let big = members.filter(|m| m > 1);
let total = members.len()
    + big.len();
fn double(x) {
    x * 2
}
members
    .len();
";

    #[test]
    fn statements_start_where_a_reader_sees_them() {
        let statements = Statements::parse(TEXT).unwrap();
        let start = |line| {
            let s = statements.first_from(line).unwrap().start;
            (s.line().unwrap(), s.position().unwrap())
        };
        // The filter closure's body on line 2 starts later on the line: the `let` is first.
        assert_eq!(start(2), (2, 1));
        // Line 4 continues line 3's statement; the next statement is the body of double.
        assert_eq!(start(4), (6, 5));
        assert_eq!(start(5), (6, 5));
        // A method chain over two lines starts at its first token.
        assert_eq!(start(8), (8, 1));
        assert_eq!(statements.first_from(10), None);
        assert_eq!(statements.last_line(), Some(8));
    }

    #[test]
    fn the_statements_rhai_writes_for_a_closure_are_not_the_scripts() {
        let text = "let target = 1;\nstep(\"s\", || {\n    let who = target;\n});\n";
        let statements = Statements::parse(text).unwrap();
        // Line 2's statement is the call of step; line 3's is the closure's `let`, which
        // starts at column 5 (the capture of `target` at column 15 is not a statement).
        let at = |line| statements.first_from(line).unwrap().start;
        assert_eq!(at(2), Position::new(2, 1));
        assert_eq!(at(3), Position::new(3, 5));
        assert_eq!(statements.by_start.len(), 3, "{:?}", statements.by_start);
    }

    #[test]
    fn a_text_that_does_not_parse_has_no_statements() {
        assert!(Statements::parse("let = ;").is_none());
    }
}

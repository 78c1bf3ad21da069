//! Plain-text tables in the style of `etcdctl -w table`: a header row and one row
//! per member, columns as wide as their widest cell.

/// What a report's cells read in a plan (`runbook check`), where nobody was asked.
pub const PLANNED: &str = "(planned)";

/// Renders `rows` under `header` with `+---+` borders.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let border: String = widths.iter().fold(String::from("+"), |mut line, width| {
        line.push_str(&"-".repeat(width + 2));
        line.push('+');
        line
    });
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::from("|");
        for (cell, width) in cells.zip(&widths) {
            let pad = width - cell.chars().count();
            text.push(' ');
            text.push_str(cell);
            text.push_str(&" ".repeat(pad + 1));
            text.push('|');
        }
        text
    };
    let mut out = vec![border.clone()];
    out.push(line(&mut header.iter().copied()));
    out.push(border.clone());
    for row in rows {
        out.push(line(&mut row.iter().map(String::as_str)));
    }
    out.push(border);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_columns_to_the_widest_cell() {
        let text = super::render(&["A", "LONG"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(
            text,
            "+-----+------+\n| A   | LONG |\n+-----+------+\n| xyz | 1    |\n+-----+------+"
        );
    }
}

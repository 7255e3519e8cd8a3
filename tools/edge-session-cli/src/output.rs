//! Where results go: JSON lines for scripts (`--json`: one object per
//! line, nothing else on stdout) or tables and text for people.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table};
use serde_json::Value;

/// The output of one run.
pub struct Out {
    json: bool,
    stdout: std::io::StdoutLock<'static>,
}

impl Out {
    /// JSON lines when `json`, text otherwise.
    pub fn new(json: bool) -> Self {
        Self { json, stdout: std::io::stdout().lock() }
    }

    /// Whether the output is JSON lines.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// One JSON object on its own line (`--json` only).
    ///
    /// # Errors
    ///
    /// When stdout is closed.
    pub fn line(&mut self, value: &Value) -> std::io::Result<()> {
        writeln!(self.stdout, "{value}")
    }

    /// A line of text for people.
    ///
    /// # Errors
    ///
    /// When stdout is closed.
    pub fn text(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.stdout, "{text}")
    }

    /// A table with `header` and `rows`, wrapped to the terminal's width,
    /// except its first `whole` columns (ids and user names are copied into
    /// the next command: never split over lines).
    ///
    /// # Errors
    ///
    /// When stdout is closed.
    pub fn table(&mut self, header: &[&str], whole: usize, rows: Vec<Vec<String>>) -> std::io::Result<()> {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
        table.set_header(header.iter().copied());
        for row in rows {
            table.add_row(row);
        }
        for i in 0..whole {
            if let Some(column) = table.column_mut(i) {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        writeln!(self.stdout, "{table}")
    }
}

/// An optional value for a table cell: `-` when absent.
pub fn cell<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

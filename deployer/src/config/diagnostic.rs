//! Config problems with their positions, rendered `file:line:column: message` with the source
//! line, a caret and what to do.

use std::fmt;

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub help: Option<String>,
}

/// Every problem found in one config file, rendered `file:line:column: message` with the line
/// and a caret, then what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub source_text: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.source_text.lines().collect();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
            if let Some(text) = d.line.checked_sub(1).and_then(|l| lines.get(l as usize)) {
                let num = d.line.to_string();
                let pad = " ".repeat(num.len());
                writeln!(f, "{pad} |")?;
                writeln!(f, "{num} | {text}")?;
                let caret_at = (d.column.max(1) - 1) as usize;
                writeln!(f, "{pad} | {}^", " ".repeat(caret_at))?;
            }
            if let Some(help) = &d.help {
                writeln!(f, "  help: {help}")?;
            }
        }
        if self.diagnostics.len() > 1 {
            write!(f, "{} problems in {}", self.diagnostics.len(), self.file)?;
        }
        Ok(())
    }
}

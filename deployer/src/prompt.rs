//! Asking before a change: a yes/no question on a terminal, or a refusal that asks for `--yes`
//! when there is no terminal to ask on. Reads and writes through injected handles.

use std::io::{BufRead, Write};

use crate::error::Error;

pub struct Prompt<'a> {
    input: &'a mut dyn BufRead,
    out: &'a mut dyn Write,
    /// Whether `input` is a terminal someone can answer on.
    interactive: bool,
}

impl<'a> Prompt<'a> {
    pub fn new(input: &'a mut dyn BufRead, out: &'a mut dyn Write, interactive: bool) -> Self {
        Prompt {
            input,
            out,
            interactive,
        }
    }

    /// True for `y`, `Y` or `yes`; false for anything else, end of input included. Without a
    /// terminal it asks nothing and fails: `what` needs `--yes`.
    pub fn confirm(&mut self, question: &str, what: &'static str) -> Result<bool, Error> {
        if !self.interactive {
            return Err(Error::NeedsYes(what));
        }
        write!(self.out, "{question} [y/N] ")
            .and_then(|()| self.out.flush())
            .map_err(Error::io("write", "stderr"))?;
        let mut answer = String::new();
        self.input
            .read_line(&mut answer)
            .map_err(Error::io("read", "stdin"))?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(input: &str, interactive: bool) -> (Result<bool, Error>, String) {
        let mut input = input.as_bytes();
        let mut out = Vec::new();
        let answer = Prompt::new(&mut input, &mut out, interactive).confirm("go?", "deploy");
        (answer, String::from_utf8(out).unwrap())
    }

    #[test]
    fn yes_is_yes() {
        for input in ["y\n", "Y\n", "yes\n", "  yes  \n"] {
            let (answer, shown) = ask(input, true);
            assert!(answer.unwrap(), "{input:?}");
            assert_eq!(shown, "go? [y/N] ");
        }
    }

    #[test]
    fn anything_else_is_no() {
        for input in ["n\n", "\n", "yess\n", "sure\n"] {
            assert!(!ask(input, true).0.unwrap(), "{input:?}");
        }
    }

    #[test]
    fn end_of_input_is_no() {
        assert!(!ask("", true).0.unwrap());
    }

    #[test]
    fn without_a_terminal_it_asks_nothing_and_wants_yes() {
        let (answer, shown) = ask("y\n", false);
        assert_eq!(
            answer.unwrap_err().to_string(),
            "deploy needs confirmation: pass --yes (stdin is not a terminal to ask on)"
        );
        assert_eq!(shown, "");
    }
}

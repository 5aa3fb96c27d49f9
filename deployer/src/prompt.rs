//! Asking before a change: a yes/no question on a terminal, or a refusal that asks for `--yes`
//! when there is no terminal to ask on. Reads and writes through injected handles.

use std::io::{BufRead, Write};

use crate::error::Error;

pub type Input = Box<dyn BufRead + Send>;

pub struct Prompt<'a> {
    /// `None` only while a read is under way, or after one was abandoned (on Ctrl-C).
    input: Option<Input>,
    out: &'a mut dyn Write,
    /// Whether `input` is a terminal someone can answer on.
    interactive: bool,
}

impl<'a> Prompt<'a> {
    pub fn new(input: Input, out: &'a mut dyn Write, interactive: bool) -> Self {
        Prompt {
            input: Some(input),
            out,
            interactive,
        }
    }

    /// True for `y`, `Y` or `yes`; false for anything else, end of input included. Without a
    /// terminal it asks nothing and fails: `what` needs `--yes`. The answer is read on a
    /// blocking thread, so that a caller waiting for Ctrl-C beside it is not blocked (a read of
    /// stdin restarts after the signal and would wait for a line forever).
    pub async fn confirm(&mut self, question: &str, what: &'static str) -> Result<bool, Error> {
        if !self.interactive {
            return Err(Error::NeedsYes(what));
        }
        write!(self.out, "{question} [y/N] ")
            .and_then(|()| self.out.flush())
            .map_err(Error::io("write", "stderr"))?;
        let Some(mut input) = self.input.take() else {
            return Ok(false);
        };
        let (input, answer) = tokio::task::spawn_blocking(move || {
            let mut answer = String::new();
            let read = input.read_line(&mut answer).map(|_| answer);
            (input, read)
        })
        .await
        .map_err(|e| Error::io("read", "stdin")(std::io::Error::other(e)))?;
        self.input = Some(input);
        let answer = answer.map_err(Error::io("read", "stdin"))?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(input: &str, interactive: bool) -> (Result<bool, Error>, String) {
        let input = Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
        let mut out = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let answer =
            runtime.block_on(Prompt::new(input, &mut out, interactive).confirm("go?", "deploy"));
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

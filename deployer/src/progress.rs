//! Progress for long waits: on a terminal, one status line redrawn in place under the event
//! lines; otherwise plain timestamped lines only. Writes through an injected writer.

use std::io::Write;
use std::time::Instant;

pub struct Progress<'a> {
    out: &'a mut dyn Write,
    tty: bool,
    started: Instant,
    status_shown: bool,
}

impl<'a> Progress<'a> {
    pub fn new(out: &'a mut dyn Write, tty: bool) -> Progress<'a> {
        Progress {
            out,
            tty,
            started: Instant::now(),
            status_shown: false,
        }
    }

    /// For stderr: redraws only when it is a terminal and `NO_COLOR`/`TERM=dumb` do not ask
    /// for plain output.
    pub fn stderr_is_interactive() -> bool {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none()
            && std::env::var("TERM").map_or(true, |t| t != "dumb")
    }

    /// A line that stays: an event, a message.
    pub fn line(&mut self, text: &str) {
        self.clear_status();
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// The redrawn status line; nothing when not on a terminal.
    pub fn status(&mut self, text: &str) {
        if !self.tty {
            return;
        }
        let elapsed = self.started.elapsed().as_secs();
        let _ = write!(self.out, "\r\x1b[2K{text} ({elapsed}s)");
        let _ = self.out.flush();
        self.status_shown = true;
    }

    pub fn finish(&mut self) {
        self.clear_status();
    }

    fn clear_status(&mut self) {
        if self.status_shown {
            let _ = write!(self.out, "\r\x1b[2K");
            self.status_shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_output_has_lines_only() {
        let mut buf = Vec::new();
        let mut p = Progress::new(&mut buf, false);
        p.status("creating: 1 resources done");
        p.line("12:00:00  CREATE_COMPLETE  Vpc");
        p.status("creating: 2 resources done");
        p.finish();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "12:00:00  CREATE_COMPLETE  Vpc\n"
        );
    }

    #[test]
    fn a_terminal_gets_one_status_line_redrawn_under_the_lines() {
        let mut buf = Vec::new();
        let mut p = Progress::new(&mut buf, true);
        p.status("creating");
        p.line("event");
        p.status("creating");
        p.finish();
        let out = String::from_utf8(buf).unwrap();
        assert_eq!(
            out, "\r\x1b[2Kcreating (0s)\r\x1b[2Kevent\n\r\x1b[2Kcreating (0s)\r\x1b[2K",
            "{out:?}"
        );
    }
}

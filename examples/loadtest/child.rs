//! A child process running this same binary in one of its hidden modes
//! (`--idle-server`, `--idle-client`), spoken to in lines: it answers on
//! its stdout, and closing its stdin tells it to finish. [`Child`] is the
//! parent's side; [`run`], [`say`] and [`until_told_to_finish`] the
//! child's.

use std::future::Future;
use std::io::{self, Write};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use gateway::BoxError;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};

use crate::timeouts::within;

/// How long a child may take to exit once told to.
const EXIT_LIMIT: Duration = Duration::from_secs(30);

/// A running child; dropping it kills the process.
#[derive(Debug)]
pub(crate) struct Child {
    process: tokio::process::Child,
    lines: Lines<BufReader<ChildStdout>>,
    pid: u32,
}

impl Child {
    /// Starts `current_exe() args...`.
    pub(crate) fn spawn(args: &[String]) -> io::Result<Child> {
        let mut process = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Whatever goes wrong in the parent, the child goes too.
            .kill_on_drop(true)
            .spawn()?;
        let pid = process
            .id()
            .ok_or_else(|| io::Error::other("the child exited at once"))?;
        let stdout = process
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("the child has no stdout"))?;
        Ok(Child {
            process,
            lines: BufReader::new(stdout).lines(),
            pid,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The child's next line, which must start with `prefix`; returns the
    /// rest. A line `error ...` is the child's own account of its failure.
    pub(crate) async fn expect(
        &mut self,
        prefix: &str,
        limit: Duration,
        what: &'static str,
    ) -> Result<String, BoxError> {
        let line = within(limit, what, self.lines.next_line())
            .await??
            .ok_or_else(|| format!("{what}: the child exited without a word"))?;
        match line.strip_prefix(prefix) {
            Some(rest) => Ok(rest.to_owned()),
            None => Err(format!("{what}: {line}").into()),
        }
    }

    /// Closes the child's stdin: its sign to finish.
    pub(crate) fn finish(&mut self) {
        drop(self.process.stdin.take());
    }

    /// Tells the child to finish, and waits (a bounded time) for it to exit
    /// with success; kills it if it does not.
    pub(crate) async fn wait(mut self, what: &str) -> Result<(), BoxError> {
        self.finish();
        match within(EXIT_LIMIT, "a child's exit", self.process.wait()).await {
            Ok(status) => match status? {
                status if status.success() => Ok(()),
                status => Err(format!("{what} failed: {status}").into()),
            },
            Err(timed_out) => {
                let _ = self.process.kill().await;
                Err(format!("{what}: {timed_out}").into())
            }
        }
    }
}

/// In a child: runs its work on a current-thread runtime; a failure is
/// told to the parent as one line, `error ...`.
pub(crate) fn run<F>(work: Result<F, BoxError>) -> ExitCode
where
    F: Future<Output = Result<(), BoxError>>,
{
    let result = work.and_then(|work| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(work)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error {e}");
            ExitCode::FAILURE
        }
    }
}

/// In a child: one line to the parent.
pub(crate) fn say(line: std::fmt::Arguments<'_>) -> io::Result<()> {
    let mut stdout = io::stdout();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

/// In a child: waits until the parent closes our stdin, its sign to
/// finish; at most `limit`, should the parent never say.
pub(crate) async fn until_told_to_finish(limit: Duration) {
    let mut line = String::new();
    let _ = within(
        limit,
        "the parent",
        BufReader::new(tokio::io::stdin()).read_line(&mut line),
    )
    .await;
}

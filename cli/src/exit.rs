//! How a command ends: [`Status`] when it ran, [`Failure`] when it could not, and
//! [`ConnectError`], the failures of building a client and signing in; `main` turns them into
//! the exit status. Every command returns them, so they sit below the commands.

/// How a command ended, when it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every row done (exit 0).
    AllDone,
    /// Some row failed, was blocked, bad, or stayed unverified (exit 1).
    SomeFailed,
}

/// Why a command could not run (one line on stderr).
#[derive(Debug)]
pub enum Failure {
    /// Bad input or usage: nothing was sent (exit 2).
    Usage(String),
    /// Sign-in or the environment failed (exit 1).
    Run(String),
    /// Graph refused the token (401): the run stopped at the first refusal (exit 2).
    Refused(String),
}

/// Why no client could be built (`connect`, `signin`). `Usage` exits 2 (fix the command line); `SignIn` exits 1.
pub enum ConnectError {
    Usage(String),
    SignIn(String),
}

impl From<ConnectError> for Failure {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Usage(m) => Failure::Usage(m),
            ConnectError::SignIn(m) => Failure::Run(m),
        }
    }
}

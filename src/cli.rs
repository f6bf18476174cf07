//! The examples' command lines, parsed the way Rust programs do: `--help` (or `-h`) prints
//! the usage and exits 0; an unknown argument, a missing value or an option given twice is
//! refused with a message and exit code 2, as is a value the program cannot read (`--generate
//! many`). Options are `--name`, `--name VALUE` or
//! `--name=VALUE`. A value after its option may be any OS string (paths need not be
//! UTF-8) but not one that starts with `-`: `--db --dry-run` forgot the file, it does not
//! name one `--dry-run`. `--name=VALUE` takes UTF-8 text, which may start with `-`.
//! The examples print through [`say!`](crate::say): standard output closed (`| head -1`) or
//! full ends the run as any failure does, exit code 1 with a message, where `println!`
//! panicked.
//!
//! ```
//! use statesync_suite::cli::{Command, Opt, Parsed};
//!
//! const COMMAND: Command = Command {
//!     name: "tool",
//!     about: "Does one thing.",
//!     options: &[
//!         Opt::value("--db", &["FILE"], "the database"),
//!         Opt::flag("--dry-run", "plan only"),
//!     ],
//! };
//!
//! let Parsed::Run(args) = COMMAND.parse(["--db=a.sqlite", "--dry-run"])? else {
//!     unreachable!("not --help")
//! };
//! assert_eq!(args.path("--db"), Some("a.sqlite".into()));
//! assert!(args.flag("--dry-run"));
//! assert!(matches!(COMMAND.parse(["--help"])?, Parsed::Help));
//! assert_eq!(
//!     COMMAND.parse(["--frob"]).err().map(|e| e.to_string()),
//!     Some("unknown argument `--frob`; try --help".to_owned())
//! );
//! # Ok::<(), statesync_suite::cli::UsageError>(())
//! ```

use std::ffi::{OsStr, OsString};
use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

/// One option: its name (`--db`), the names of the values it takes (`FILE`; none for a
/// flag) and a line of help.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// The name, with its dashes.
    pub name: &'static str,
    /// The names of its values, in order.
    pub values: &'static [&'static str],
    /// One line of help.
    pub help: &'static str,
}

impl Opt {
    /// An option without a value.
    pub const fn flag(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            values: &[],
            help,
        }
    }

    /// An option with values, named in `values` (one for `--db FILE`, two for
    /// `--write-dataset N DIR`).
    pub const fn value(
        name: &'static str,
        values: &'static [&'static str],
        help: &'static str,
    ) -> Self {
        Self { name, values, help }
    }
}

/// A program: its name, what it does, its options.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// The program's name, as in `cargo run --example NAME`.
    pub name: &'static str,
    /// What it does, a sentence or a paragraph.
    pub about: &'static str,
    /// Its options (`--help` is always there).
    pub options: &'static [Opt],
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Parsed {
    /// The usage.
    Help,
    /// A run with these arguments.
    Run(Args),
}

/// A command line that cannot be run; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

impl UsageError {
    /// A command line a program refuses for a reason of its own (two options that
    /// exclude each other, say); [`Command::main`] exits 2 on it.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The options given, each with its values.
#[derive(Debug, Default)]
pub struct Args {
    given: Vec<(&'static str, Vec<OsString>)>,
}

impl Args {
    /// The values of `name`, if it was given.
    pub fn values(&self, name: &str) -> Option<&[OsString]> {
        self.given
            .iter()
            .find(|(given, _)| *given == name)
            .map(|(_, values)| values.as_slice())
    }

    /// Whether `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.values(name).is_some()
    }

    /// The (first) value of `name`, if it was given.
    pub fn value(&self, name: &str) -> Option<&OsStr> {
        self.values(name)?.first().map(OsString::as_os_str)
    }

    /// The value of `name` as a path.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.value(name).map(PathBuf::from)
    }

    /// The value of `name` parsed as `T`, or `default` when it was not given.
    ///
    /// # Errors
    /// A [`UsageError`] naming the option and the value.
    pub fn parsed_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, UsageError>
    where
        T::Err: Display,
    {
        match self.value(name) {
            None => Ok(default),
            Some(value) => parse_value(name, value),
        }
    }

    /// [`Args::parsed_or`] for a size: a value above `max` is refused (a size the machine
    /// cannot hold would grow memory until the process is killed).
    ///
    /// # Errors
    /// A [`UsageError`] naming the option, the value and the limit.
    pub fn size_or(&self, name: &str, default: usize, max: usize) -> Result<usize, UsageError> {
        let size = self.parsed_or(name, default)?;
        at_most(name, size, max)
    }
}

/// `size` when it is at most `max`, else a [`UsageError`] naming the option (or operand)
/// `name` and the limit.
///
/// ```
/// use statesync_suite::cli::at_most;
///
/// assert_eq!(at_most("--count", 10, 10), Ok(10));
/// let refused = at_most("--count", 11, 10).unwrap_err();
/// assert_eq!(refused.to_string(), "--count: 11 is more than the limit of 10");
/// ```
///
/// # Errors
/// The [`UsageError`] when `size` is above `max`.
pub fn at_most(name: &str, size: usize, max: usize) -> Result<usize, UsageError> {
    if size > max {
        return Err(UsageError(format!(
            "{name}: {size} is more than the limit of {max}"
        )));
    }
    Ok(size)
}

/// An operand (a value that follows no `--name`, or the second of an option's values),
/// read as [`Args::parsed_or`] reads a value: `"--write-dataset N"` names it in errors.
///
/// ```
/// use statesync_suite::cli::parse_operand;
///
/// assert_eq!(parse_operand::<usize>("N", "12".as_ref()), Ok(12));
/// let refused = parse_operand::<usize>("N", "99999999999999999999999".as_ref()).unwrap_err();
/// assert!(refused.to_string().contains("too large"), "{refused}");
/// ```
///
/// # Errors
/// A [`UsageError`] naming the operand, the value and why it was refused.
pub fn parse_operand<T: FromStr>(name: &str, value: &OsStr) -> Result<T, UsageError>
where
    T::Err: Display,
{
    parse_value(name, value)
}

fn parse_value<T: FromStr>(name: &str, value: &OsStr) -> Result<T, UsageError>
where
    T::Err: Display,
{
    let text = value
        .to_str()
        .ok_or_else(|| UsageError(format!("invalid value for {name}: {value:?} is not UTF-8")))?;
    text.parse()
        .map_err(|error| UsageError(format!("invalid value `{text}` for {name}: {error}")))
}

impl Command {
    /// Parses `args` (without the program name).
    ///
    /// # Errors
    /// A [`UsageError`]: an unknown argument, a missing value, an option given twice.
    pub fn parse<I>(&self, args: I) -> Result<Parsed, UsageError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut parsed = Args::default();
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let Some(text) = arg.to_str() else {
                return Err(UsageError(format!(
                    "unexpected argument {arg:?}; try --help"
                )));
            };
            if text == "--help" || text == "-h" {
                return Ok(Parsed::Help);
            }
            let (name, inline) = match text.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value)),
                _ => (text, None),
            };
            let Some(opt) = self.options.iter().find(|opt| opt.name == name) else {
                let what = if name.starts_with('-') {
                    "unknown argument"
                } else {
                    "unexpected argument"
                };
                return Err(UsageError(format!("{what} `{name}`; try --help")));
            };
            if parsed.flag(opt.name) {
                return Err(UsageError(format!("{} given twice", opt.name)));
            }
            let values = match (inline, opt.values) {
                (None, names) => names
                    .iter()
                    .map(|_| {
                        args.next()
                            .ok_or_else(|| missing(opt))
                            .and_then(|value| not_an_option(opt, value))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                (Some(value), [_]) => vec![OsString::from(value)],
                (Some(_), _) => {
                    return Err(UsageError(format!(
                        "{} does not take `=`; use {}",
                        opt.name,
                        synopsis(opt)
                    )));
                }
            };
            parsed.given.push((opt.name, values));
        }
        Ok(Parsed::Run(parsed))
    }

    /// The usage text that `--help` prints.
    pub fn usage(&self) -> String {
        let mut lines = vec![
            format!("usage: {} [OPTIONS]", self.name),
            String::new(),
            self.about.to_owned(),
            String::new(),
            "options:".to_owned(),
        ];
        let help = Opt::flag("-h, --help", "print this help");
        let options: Vec<&Opt> = self.options.iter().chain([&help]).collect();
        let width = options
            .iter()
            .map(|opt| synopsis(opt).len())
            .max()
            .unwrap_or(0);
        for opt in options {
            lines.push(format!("  {:width$}  {}", synopsis(opt), opt.help));
        }
        lines.join("\n")
    }

    /// Parses the process's arguments: `Err` with the exit code when the program should
    /// stop there (after `--help`, exit 0; after a usage error, printed, exit 2).
    ///
    /// # Errors
    /// The exit code to return from `main`.
    pub fn parse_env(&self) -> Result<Args, ExitCode> {
        match self.parse(std::env::args_os().skip(1)) {
            Ok(Parsed::Run(args)) => Ok(args),
            Ok(Parsed::Help) => match say(format_args!("{}", self.usage())) {
                Ok(()) => Err(ExitCode::SUCCESS),
                Err(error) => {
                    complain(&error);
                    Err(ExitCode::FAILURE)
                }
            },
            Err(error) => {
                complain(&error);
                Err(ExitCode::from(2))
            }
        }
    }

    /// The whole `main` of an example: parses the arguments, runs `run`, prints its error
    /// and turns the outcome into an exit code (0, 1 for a failed run, 2 for bad usage: a
    /// [`UsageError`] from `run` too, such as a value [`Args::parsed_or`] could not read,
    /// returned as it is or boxed as a `HookError`).
    pub fn main<E: Display + 'static>(&self, run: impl FnOnce(Args) -> Result<(), E>) -> ExitCode {
        let args = match self.parse_env() {
            Ok(args) => args,
            Err(code) => return code,
        };
        match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                complain(&error);
                if is_usage_error(&error) {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Whether a run's error is a [`UsageError`], as it is or boxed (`Send + Sync` or not).
fn is_usage_error(error: &dyn std::any::Any) -> bool {
    error.is::<UsageError>()
        || error
            .downcast_ref::<Box<dyn std::error::Error + Send + Sync>>()
            .is_some_and(|boxed| boxed.is::<UsageError>())
        || error
            .downcast_ref::<Box<dyn std::error::Error>>()
            .is_some_and(|boxed| boxed.is::<UsageError>())
}

fn missing(opt: &Opt) -> UsageError {
    UsageError(format!("{} needs a value: {}", opt.name, synopsis(opt)))
}

/// A value given after its option, unless it is an option itself (`--db --dry-run` forgot
/// the file; it does not name a file `--dry-run`). A single value that starts with `-` is
/// given with `=` (`--db=-file`).
fn not_an_option(opt: &Opt, value: OsString) -> Result<OsString, UsageError> {
    match value.to_str() {
        Some(text) if text.len() > 1 && text.starts_with('-') => {
            let hint = match opt.values {
                [_] => format!(
                    "; write {}=VALUE for a value that starts with `-`",
                    opt.name
                ),
                _ => String::new(),
            };
            Err(UsageError(format!(
                "{} (`{text}` is an option{hint})",
                missing(opt).0
            )))
        }
        _ => Ok(value),
    }
}

fn synopsis(opt: &Opt) -> String {
    std::iter::once(opt.name)
        .chain(opt.values.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The I/O error of an operation on `path`, naming the path (a bare `Permission denied`
/// does not say which file), its kind kept.
///
/// ```
/// use std::path::Path;
/// use statesync_suite::cli::at_path;
///
/// let missing = Path::new("/nonexistent/statesync");
/// let error = at_path(missing, std::fs::metadata(missing)).unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
/// assert!(error.to_string().starts_with("/nonexistent/statesync: "));
/// ```
///
/// # Errors
/// `result`'s error, named.
pub fn at_path<T>(path: &std::path::Path, result: std::io::Result<T>) -> std::io::Result<T> {
    result
        .map_err(|error| std::io::Error::new(error.kind(), format!("{}: {error}", path.display())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const COMMAND: Command = Command {
        name: "demo",
        about: "A demo.",
        options: &[
            Opt::value("--db", &["FILE"], "the database"),
            Opt::flag("--dry-run", "plan only"),
            Opt::value("--count", &["N"], "how many"),
            Opt::value("--write-dataset", &["N", "DIR"], "write a dataset"),
        ],
    };

    /// A usage error is told apart however it is boxed (exit 2, not 1): a program whose
    /// errors are `Box<dyn Error>` exited 1 on its usage errors.
    #[test]
    fn a_usage_error_is_found_in_any_box() {
        let usage = || UsageError::new("--x is required");
        let plain: Box<dyn std::error::Error> = Box::new(usage());
        let shared: Box<dyn std::error::Error + Send + Sync> = Box::new(usage());
        assert!(is_usage_error(&usage()));
        assert!(is_usage_error(&plain));
        assert!(is_usage_error(&shared));
        let other: Box<dyn std::error::Error> = "no".into();
        assert!(!is_usage_error(&other));
    }

    fn run(args: &[&str]) -> Args {
        match COMMAND.parse(args.iter().copied()).unwrap() {
            Parsed::Run(args) => args,
            Parsed::Help => panic!("help"),
        }
    }

    fn error(args: &[&str]) -> String {
        COMMAND.parse(args.iter().copied()).unwrap_err().to_string()
    }

    #[test]
    fn options_flags_and_values_are_read() {
        let args = run(&["--db", "x.sqlite", "--dry-run", "--write-dataset", "5", "d"]);
        assert_eq!(args.path("--db"), Some(PathBuf::from("x.sqlite")));
        assert!(args.flag("--dry-run"));
        assert_eq!(args.values("--write-dataset").unwrap(), ["5", "d"]);
        assert_eq!(args.parsed_or("--count", 7).unwrap(), 7);
        assert_eq!(run(&["--count=9"]).parsed_or("--count", 7).unwrap(), 9);
        assert!(!run(&[]).flag("--dry-run"));
    }

    #[test]
    fn help_wins_and_lists_every_option() {
        assert!(matches!(
            COMMAND.parse(["--db", "x", "-h"]).unwrap(),
            Parsed::Help
        ));
        let usage = COMMAND.usage();
        for line in [
            "usage: demo [OPTIONS]",
            "--db FILE",
            "--write-dataset N DIR  write a dataset",
            "-h, --help",
        ] {
            assert!(usage.contains(line), "{usage}");
        }
    }

    #[test]
    fn bad_command_lines_are_refused_with_a_message() {
        assert_eq!(error(&["--frob"]), "unknown argument `--frob`; try --help");
        assert_eq!(error(&["extra"]), "unexpected argument `extra`; try --help");
        assert_eq!(error(&["--db"]), "--db needs a value: --db FILE");
        assert_eq!(
            error(&["--write-dataset", "5"]),
            "--write-dataset needs a value: --write-dataset N DIR"
        );
        assert_eq!(error(&["--dry-run", "--dry-run"]), "--dry-run given twice");
        // An option where a value belongs is a forgotten value, not a file named
        // `--dry-run`; a value that starts with `--` is written with `=`.
        assert_eq!(
            error(&["--db", "--dry-run"]),
            "--db needs a value: --db FILE (`--dry-run` is an option; write --db=VALUE for a value that starts with `-`)"
        );
        assert_eq!(
            error(&["--write-dataset", "5", "-h"]),
            "--write-dataset needs a value: --write-dataset N DIR (`-h` is an option)"
        );
        assert_eq!(
            run(&["--db=--dry-run"]).path("--db"),
            Some(PathBuf::from("--dry-run"))
        );
        assert_eq!(
            error(&["--dry-run=yes"]),
            "--dry-run does not take `=`; use --dry-run"
        );
        let bad = run(&["--count", "many"]).parsed_or("--count", 0_usize);
        assert_eq!(
            bad.unwrap_err().to_string(),
            "invalid value `many` for --count: invalid digit found in string"
        );
    }
}

/// Why a line could not be written to standard output: it was closed (the reader of a
/// pipe went away: `example | head -1`) or failed (`> /dev/full`).
#[derive(Debug, thiserror::Error)]
#[error("writing to standard output: {0}")]
pub struct OutputError(#[from] std::io::Error);

/// Writes a line to standard output. `println!` panics when it cannot (exit code 101 after
/// the work was done); this returns the error for the program to end as it ends on any
/// other.
///
/// # Errors
/// [`OutputError`].
pub fn say(line: std::fmt::Arguments<'_>) -> Result<(), OutputError> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_fmt(line)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// [`say`] with `format!`'s arguments: `say!("{count} done")?`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::say(::std::format_args!($($arg)*))
    };
}

/// Writes `error: ...` to standard error, if it can (it is the last thing a failed run
/// says).
fn complain(error: &dyn Display) {
    tell(format_args!("error: {error}"));
}

/// Writes a line to standard error if it can: `eprintln!` panics when standard error is
/// closed or full, and a line of news is not worth a failed run.
pub fn tell(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(line).and_then(|()| err.write_all(b"\n"));
}

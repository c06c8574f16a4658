//! Profiles streamed from JSON lines, one at a time, in constant memory.

use std::io::BufRead;

use crate::profile::{Profile, ProfileError};
use crate::schema::Schema;

/// A problem with one line of a JSON-lines profile stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line could not be read.
    #[error("line {line}: {error}")]
    Io {
        /// 1-based line number.
        line: usize,
        /// What the system said.
        #[source]
        error: std::io::Error,
    },
    /// The line is not a valid profile.
    #[error("line {line}: {error}")]
    Profile {
        /// 1-based line number.
        line: usize,
        /// What is wrong, naming the profile id and the field.
        #[source]
        error: ProfileError,
    },
}

impl LineError {
    /// What is wrong, without the line number.
    pub fn detail(&self) -> String {
        match self {
            LineError::Io { error, .. } => error.to_string(),
            LineError::Profile { error, .. } => error.to_string(),
        }
    }

    /// The 1-based line number.
    pub fn line(&self) -> usize {
        match self {
            LineError::Io { line, .. } | LineError::Profile { line, .. } => *line,
        }
    }
}

/// The UTF-8 byte order mark. Editors on Windows start files with one; it
/// is not part of the first line.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// `text` without a byte order mark at its start.
pub(crate) fn without_byte_order_mark(text: &str) -> &str {
    text.strip_prefix(BYTE_ORDER_MARK).unwrap_or(text)
}

/// An iterator over the profiles of a JSON-lines reader: a byte order mark
/// at the start and blank lines are skipped, a bad line is an error naming
/// its number, and reading goes on after it.
///
/// ```
/// use nextbest::{ProfileLines, Schema, Type};
/// let schema = Schema::builder().attribute("n", Type::Int).build()?;
/// let input = "{\"id\": \"a\", \"traits\": {\"n\": 1}}\n\n{\"id\": \"b\", \"traits\": {\"n\": \"x\"}}\n";
/// let results: Vec<_> = ProfileLines::new(&schema, input.as_bytes()).collect();
/// assert_eq!(results[0].as_ref().map(|p| p.id()).ok(), Some("a"));
/// let error = results[1].as_ref().unwrap_err();
/// assert_eq!(error.to_string(), "line 3: profile `b`, field `traits.n`: expected int, found string \"x\"");
///
/// let with_bom = "\u{feff}{\"id\": \"a\", \"traits\": {\"n\": 1}}\n";
/// assert!(ProfileLines::new(&schema, with_bom.as_bytes()).all(|p| p.is_ok()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProfileLines<'s, R> {
    schema: &'s Schema,
    lines: JsonLines<R>,
}

impl<'s, R: BufRead> ProfileLines<'s, R> {
    /// Streams profiles for `schema` from `reader`.
    pub fn new(schema: &'s Schema, reader: R) -> Self {
        ProfileLines {
            schema,
            lines: JsonLines::new(reader),
        }
    }
}

impl<R: BufRead> Iterator for ProfileLines<'_, R> {
    type Item = Result<Profile, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Parsed where it was read: one buffer serves every line.
        let line = match self.lines.read_next()? {
            Ok(line) => line,
            Err(error) => return Some(Err(error)),
        };
        Some(profile_at(self.schema, line, &self.lines.buffer))
    }
}

/// One line of a JSON-lines stream, not parsed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonLine {
    /// Its 1-based number.
    pub number: usize,
    /// Its text (a byte order mark before the first line removed).
    pub text: String,
}

impl JsonLine {
    /// The profile the line holds, for `schema`.
    ///
    /// # Errors
    /// [`LineError::Profile`] naming the line, the profile and the field.
    pub fn profile(&self, schema: &Schema) -> Result<Profile, LineError> {
        profile_at(schema, self.number, &self.text)
    }
}

/// The profile in `text`, line `line` of a stream.
fn profile_at(schema: &Schema, line: usize, text: &str) -> Result<Profile, LineError> {
    Profile::from_json(schema, text).map_err(|error| LineError::Profile { line, error })
}

/// The lines of a JSON-lines reader that hold something, numbered, not
/// parsed: for callers that parse them elsewhere (on other threads, say),
/// as [`ProfileLines`] does in place. A byte order mark at the start and
/// blank lines are skipped; a line that is not UTF-8 is an error and reading
/// goes on after it; any other read error ends the stream.
///
/// ```
/// use nextbest::JsonLines;
/// let input = "\u{feff}{\"id\": \"a\"}\n\n{\"id\": \"b\"}\n";
/// let numbers: Vec<usize> = JsonLines::new(input.as_bytes())
///     .map(|line| line.map(|line| line.number))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(numbers, [1, 3]);
/// # Ok::<(), nextbest::LineError>(())
/// ```
pub struct JsonLines<R> {
    reader: R,
    line: usize,
    done: bool,
    /// The line last read.
    buffer: String,
}

impl<R: BufRead> JsonLines<R> {
    /// The lines of `reader`.
    pub fn new(reader: R) -> Self {
        JsonLines {
            reader,
            line: 0,
            done: false,
            buffer: String::new(),
        }
    }

    /// Reads the next line that holds something into the buffer, and
    /// returns its number.
    fn read_next(&mut self) -> Option<Result<usize, LineError>> {
        while !self.done {
            self.buffer.clear();
            self.line += 1;
            let line = self.line;
            let read = self.reader.read_line(&mut self.buffer);
            if line == 1 && self.buffer.starts_with(BYTE_ORDER_MARK) {
                self.buffer.drain(..BYTE_ORDER_MARK.len_utf8());
            }
            match read {
                Ok(0) => return None,
                Ok(_) if self.buffer.trim().is_empty() => continue,
                Ok(_) => return Some(Ok(line)),
                Err(error) => {
                    // A line that is not UTF-8 is reported and skipped; any
                    // other read error ends the stream after being reported.
                    self.done = error.kind() != std::io::ErrorKind::InvalidData;
                    return Some(Err(LineError::Io { line, error }));
                }
            }
        }
        None
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Result<JsonLine, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = self.read_next()?;
        Some(line.map(|number| JsonLine {
            number,
            text: self.buffer.clone(),
        }))
    }
}

//! Profiles streamed from JSON lines, one at a time, in constant memory.

use std::io::BufRead;

use crate::profile::{Profile, ProfileError};
use crate::schema::Schema;

/// A problem with one line of a JSON-lines profile stream.
#[derive(Debug, thiserror::Error)]
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
    reader: R,
    line: usize,
    buffer: String,
    done: bool,
}

impl<'s, R: BufRead> ProfileLines<'s, R> {
    /// Streams profiles for `schema` from `reader`.
    pub fn new(schema: &'s Schema, reader: R) -> Self {
        ProfileLines {
            schema,
            reader,
            line: 0,
            buffer: String::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for ProfileLines<'_, R> {
    type Item = Result<Profile, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
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
                Ok(_) => {
                    return Some(
                        Profile::from_json(self.schema, &self.buffer)
                            .map_err(|error| LineError::Profile { line, error }),
                    );
                }
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

//! A rule file as a tree of spanned values, the same for TOML and JSON.
//!
//! Every key and value keeps the byte range it was written at, and every
//! string keeps, for each byte of its decoded text, the file offset it came
//! from: a diagnostic inside an expression string (escapes, multi-line strings
//! and all) points at the exact characters of the file.

use crate::syntax::Span;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    pub value: DocValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DocValue {
    String(Text),
    Integer(i64),
    Float(f64),
    Bool(bool),
    /// A TOML date-time, as written.
    Datetime(String),
    Array(Vec<Doc>),
    Table(Vec<(Key, Doc)>),
    /// JSON `null`.
    Null,
}

impl DocValue {
    /// "a string", "an integer"… for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            DocValue::String(_) => "a string",
            DocValue::Integer(_) => "an integer",
            DocValue::Float(_) => "a float",
            DocValue::Bool(_) => "a boolean",
            DocValue::Datetime(_) => "a date-time",
            DocValue::Array(_) => "an array",
            DocValue::Table(_) => "a table",
            DocValue::Null => "null",
        }
    }
}

/// A table key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub text: String,
    pub span: Span,
}

/// A decoded string and the file offset of each of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    pub text: String,
    /// `offsets[i]` is the file offset of decoded byte `i`; one more entry
    /// gives the offset just after the last byte.
    offsets: Vec<usize>,
}

impl Text {
    /// Maps a span of the decoded text to the file.
    pub fn to_file(&self, span: Span) -> Span {
        let at = |i: usize| {
            self.offsets
                .get(i)
                .or_else(|| self.offsets.last())
                .copied()
                .unwrap_or_default()
        };
        let start = at(span.start);
        let end = if span.end > span.start {
            // The end of the last byte covered, not the start of the next one:
            // an escape such as `\"` ends where the escape ends.
            at(span.end - 1) + self.width_at(span.end - 1)
        } else {
            start
        };
        Span::new(start, end.max(start))
    }

    /// How many file bytes produced decoded byte `i` and its character.
    fn width_at(&self, i: usize) -> usize {
        let start = self.offsets.get(i).copied().unwrap_or_default();
        let mut next = i + 1;
        while next < self.offsets.len() && self.offsets.get(next) == Some(&start) {
            next += 1;
        }
        self.offsets
            .get(next)
            .map_or(1, |n| n.saturating_sub(start).max(1))
    }

    /// A string whose every byte maps to `span.start` (a fallback when the
    /// raw literal cannot be re-read).
    pub fn unmapped(text: String, span: Span) -> Self {
        let offsets = vec![span.start; text.len() + 1];
        Text { text, offsets }
    }
}

/// Builds a [`Text`] while scanning a literal: each pushed character records
/// where it started in the file.
struct TextBuilder {
    text: String,
    offsets: Vec<usize>,
}

impl TextBuilder {
    fn new() -> Self {
        TextBuilder {
            text: String::new(),
            offsets: Vec::new(),
        }
    }

    fn push(&mut self, c: char, at: usize) {
        self.text.push(c);
        self.offsets.resize(self.text.len(), at);
    }

    fn finish(mut self, end: usize) -> Text {
        self.offsets.push(end);
        Text {
            text: self.text,
            offsets: self.offsets,
        }
    }
}

// ------------------------------------------------------------------ TOML

/// Parses TOML into a [`Doc`].
///
/// # Errors
/// The parser's message and the span it points at.
pub(crate) fn parse_toml(source: &str) -> Result<Doc, (String, Span)> {
    use toml::de::DeTable;
    let table = DeTable::parse(source).map_err(|e| {
        let span = e
            .span()
            .map_or(Span::new(0, 0), |r| Span::new(r.start, r.end));
        (e.message().trim().to_owned(), span)
    })?;
    let span = table.span();
    Ok(Doc {
        value: DocValue::Table(toml_table(source, table.get_ref())),
        span: Span::new(span.start, span.end),
    })
}

fn toml_table(source: &str, table: &toml::de::DeTable<'_>) -> Vec<(Key, Doc)> {
    table
        .iter()
        .map(|(key, value)| {
            let key_span = key.span();
            let key = Key {
                text: key.get_ref().to_string(),
                span: Span::new(key_span.start, key_span.end),
            };
            (key, toml_value(source, value))
        })
        .collect()
}

fn toml_value(source: &str, value: &toml::Spanned<toml::de::DeValue<'_>>) -> Doc {
    use toml::de::DeValue;
    let range = value.span();
    let span = Span::new(range.start, range.end);
    let value = match value.get_ref() {
        DeValue::String(s) => DocValue::String(toml_text(source, span, s.as_ref())),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(i) => DocValue::Integer(i),
            Err(_) => DocValue::Float(f64::INFINITY),
        },
        DeValue::Float(f) => DocValue::Float(toml_float(f.as_str())),
        DeValue::Boolean(b) => DocValue::Bool(*b),
        DeValue::Datetime(d) => DocValue::Datetime(d.to_string()),
        DeValue::Array(items) => {
            DocValue::Array(items.iter().map(|i| toml_value(source, i)).collect())
        }
        DeValue::Table(table) => DocValue::Table(toml_table(source, table)),
    };
    Doc { value, span }
}

fn toml_float(text: &str) -> f64 {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    match cleaned.as_str() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "+nan" | "-nan" => f64::NAN,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

/// Re-reads a TOML string literal at `span` to map each decoded byte to the
/// file; falls back to the literal's start if the re-read disagrees with the
/// parser.
fn toml_text(source: &str, span: Span, decoded: &str) -> Text {
    let raw = source.get(span.range()).unwrap_or_default();
    match scan_toml_literal(raw, span.start) {
        Some(text) if text.text == decoded => text,
        _ => Text::unmapped(decoded.to_owned(), span),
    }
}

fn scan_toml_literal(raw: &str, base: usize) -> Option<Text> {
    let (delimiter, basic) = if raw.starts_with("\"\"\"") {
        ("\"\"\"", true)
    } else if raw.starts_with("'''") {
        ("'''", false)
    } else if raw.starts_with('"') {
        ("\"", true)
    } else if raw.starts_with('\'') {
        ("'", false)
    } else {
        return None;
    };
    let body = raw.strip_prefix(delimiter)?.strip_suffix(delimiter)?;
    let mut offset = base + delimiter.len();
    let mut body = body;
    if delimiter.len() == 3 {
        // A newline right after the opening delimiter is not part of the string.
        if let Some(rest) = body.strip_prefix("\r\n") {
            body = rest;
            offset += 2;
        } else if let Some(rest) = body.strip_prefix('\n') {
            body = rest;
            offset += 1;
        }
    }
    let mut out = TextBuilder::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = offset + i;
        if c != '\\' || !basic {
            out.push(c, at);
            continue;
        }
        let (_, kind) = chars.next()?;
        let decoded = match kind {
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            '"' => '"',
            '\\' => '\\',
            'u' | 'U' | 'x' => {
                let digits = match kind {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut code = 0u32;
                for _ in 0..digits {
                    let (_, h) = chars.next()?;
                    code = code * 16 + h.to_digit(16)?;
                }
                char::from_u32(code)?
            }
            c if c.is_whitespace() => {
                // Line-ending backslash: drop all whitespace up to the next
                // non-whitespace character.
                while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
                continue;
            }
            _ => return None,
        };
        out.push(decoded, at);
    }
    Some(out.finish(offset + body.len()))
}

// ------------------------------------------------------------------ JSON

/// The deepest nesting accepted in a JSON rule file.
const JSON_MAX_DEPTH: usize = 128;

/// Parses JSON into a [`Doc`] (a small recursive-descent parser: serde_json
/// does not report where values are).
///
/// # Errors
/// What was expected, and where.
pub(crate) fn parse_json(source: &str) -> Result<Doc, (String, Span)> {
    let mut parser = JsonParser { source, at: 0 };
    parser.skip_whitespace();
    let doc = parser.value(0)?;
    parser.skip_whitespace();
    if parser.at < source.len() {
        return Err(parser.error("expected the end of the file"));
    }
    Ok(doc)
}

struct JsonParser<'s> {
    source: &'s str,
    at: usize,
}

impl JsonParser<'_> {
    fn rest(&self) -> &str {
        self.source.get(self.at..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&self, message: &str) -> (String, Span) {
        let len = self.peek().map_or(0, char::len_utf8);
        (message.to_owned(), Span::new(self.at, self.at + len))
    }

    fn skip_whitespace(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t', '\n', '\r']);
        self.at = self.source.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Doc, (String, Span)> {
        if depth > JSON_MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let start = self.at;
        let value = match self.peek() {
            Some('{') => DocValue::Table(self.object(depth)?),
            Some('[') => DocValue::Array(self.array(depth)?),
            Some('"') => DocValue::String(self.string()?),
            Some('t') if self.eat("true") => DocValue::Bool(true),
            Some('f') if self.eat("false") => DocValue::Bool(false),
            Some('n') if self.eat("null") => DocValue::Null,
            Some(c) if c == '-' || c.is_ascii_digit() => self.number()?,
            _ => return Err(self.error("expected a JSON value")),
        };
        Ok(Doc {
            value,
            span: Span::new(start, self.at),
        })
    }

    fn object(&mut self, depth: usize) -> Result<Vec<(Key, Doc)>, (String, Span)> {
        self.eat("{");
        let mut entries = Vec::new();
        self.skip_whitespace();
        if self.eat("}") {
            return Ok(entries);
        }
        loop {
            self.skip_whitespace();
            let start = self.at;
            if self.peek() != Some('"') {
                return Err(self.error("expected a key in double quotes"));
            }
            let key = self.string()?;
            let key = Key {
                text: key.text,
                span: Span::new(start, self.at),
            };
            self.skip_whitespace();
            if !self.eat(":") {
                return Err(self.error("expected `:`"));
            }
            self.skip_whitespace();
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_whitespace();
            if self.eat("}") {
                return Ok(entries);
            }
            if !self.eat(",") {
                return Err(self.error("expected `,` or `}`"));
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Vec<Doc>, (String, Span)> {
        self.eat("[");
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.eat("]") {
            return Ok(items);
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            if self.eat("]") {
                return Ok(items);
            }
            if !self.eat(",") {
                return Err(self.error("expected `,` or `]`"));
            }
        }
    }

    fn number(&mut self) -> Result<DocValue, (String, Span)> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let text = rest.get(..len).unwrap_or_default();
        if !is_json_number(text) {
            return Err(self.error(
                "expected a JSON number (no leading zeros, no `+`, digits on both sides of `.`)",
            ));
        }
        let value = if text.contains(['.', 'e', 'E']) {
            text.parse::<f64>().ok().map(DocValue::Float)
        } else {
            text.parse::<i64>()
                .ok()
                .map(DocValue::Integer)
                .or_else(|| text.parse::<f64>().ok().map(DocValue::Float))
        };
        match value {
            Some(v) => {
                self.at += len;
                Ok(v)
            }
            None => Err(self.error("expected a number")),
        }
    }

    fn string(&mut self) -> Result<Text, (String, Span)> {
        self.eat("\"");
        let mut out = TextBuilder::new();
        loop {
            let at = self.at;
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.at += c.len_utf8();
            match c {
                '"' => return Ok(out.finish(at)),
                '\\' => {
                    let decoded = self.escape()?;
                    out.push(decoded, at);
                }
                c if (c as u32) < 0x20 => {
                    self.at = at;
                    return Err(self.error("control characters must be escaped in JSON strings"));
                }
                c => out.push(c, at),
            }
        }
    }

    fn escape(&mut self) -> Result<char, (String, Span)> {
        let Some(kind) = self.peek() else {
            return Err(self.error("unterminated string"));
        };
        self.at += kind.len_utf8();
        Ok(match kind {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = self.hex4()?;
                if (0xD800..0xDC00).contains(&high) {
                    if !self.eat("\\u") {
                        return Err(self.error("expected the second half of a surrogate pair"));
                    }
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.error("expected the second half of a surrogate pair"));
                    }
                    let code =
                        0x10000 + ((high - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                    char::from_u32(code).ok_or_else(|| self.error("invalid surrogate pair"))?
                } else {
                    char::from_u32(high).ok_or_else(|| self.error("invalid unicode escape"))?
                }
            }
            _ => return Err(self.error("invalid escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, (String, Span)> {
        let digits = self.rest().get(..4).unwrap_or_default();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("expected four hex digits"));
        }
        let value =
            u32::from_str_radix(digits, 16).map_err(|_| self.error("expected four hex digits"))?;
        self.at += 4;
        Ok(value)
    }
}

/// Whether `text` is a number as JSON (RFC 8259) writes one:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let digits = |s: &str| -> usize { s.bytes().take_while(u8::is_ascii_digit).count() };
    let rest = text.strip_prefix('-').unwrap_or(text);
    let whole = digits(rest);
    if whole == 0 || (whole > 1 && rest.starts_with('0')) {
        return false;
    }
    let mut rest = rest.get(whole..).unwrap_or_default();
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = digits(fraction);
        if n == 0 {
            return false;
        }
        rest = fraction.get(n..).unwrap_or_default();
    }
    if let Some(exponent) = rest.strip_prefix(['e', 'E']) {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        let n = digits(exponent);
        if n == 0 {
            return false;
        }
        rest = exponent.get(n..).unwrap_or_default();
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_and_escapes_are_strict() {
        for good in ["0", "-0", "12", "1.5", "-0.5e-3", "2E+10", "10e2"] {
            assert!(parse_json(good).is_ok(), "{good}");
        }
        for bad in [
            "01", "1.", ".5", "+1", "1e", "1.e3", "-", "--1", "1.5.2", "0x10",
        ] {
            assert!(parse_json(bad).is_err(), "{bad}");
        }
        // A lone or mismatched surrogate is not a character anybody wrote.
        for bad in [
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            r#""\u+123""#,
        ] {
            assert!(parse_json(bad).is_err(), "{bad}");
        }
        let pair = parse_json(r#""\ud83d\ude00""#).unwrap();
        assert!(matches!(pair.value, DocValue::String(ref t) if t.text == "😀"));
    }

    fn string_at(doc: &Doc, key: &str) -> Text {
        let DocValue::Table(entries) = &doc.value else {
            panic!()
        };
        let (_, value) = entries.iter().find(|(k, _)| k.text == key).unwrap();
        let DocValue::String(text) = &value.value else {
            panic!()
        };
        text.clone()
    }

    #[test]
    fn toml_strings_map_back_through_escapes_and_multi_line_delimiters() {
        let source = "a = \"x \\\"y\\\" z\"\nb = '''\nline\n  two'''\nc = \"\"\"\\\n   joined \\u00e9 q\"\"\"\n";
        let doc = parse_toml(source).unwrap();
        let a = string_at(&doc, "a");
        assert_eq!(a.text, "x \"y\" z");
        let z = a.text.find('z').unwrap();
        assert_eq!(&source[a.to_file(Span::new(z, z + 1)).range()], "z");
        let quote = a.text.find('"').unwrap();
        assert_eq!(
            &source[a.to_file(Span::new(quote, quote + 1)).range()],
            "\\\""
        );
        let b = string_at(&doc, "b");
        let two = b.text.find("two").unwrap();
        assert_eq!(&source[b.to_file(Span::new(two, two + 3)).range()], "two");
        let c = string_at(&doc, "c");
        assert_eq!(c.text, "joined é q");
        let q = c.text.find('q').unwrap();
        assert_eq!(&source[c.to_file(Span::new(q, q + 1)).range()], "q");
        let e = c.text.find('é').unwrap();
        assert_eq!(&source[c.to_file(Span::new(e, e + 2)).range()], "\\u00e9");
    }

    #[test]
    fn json_strings_map_back_through_escapes() {
        let source = r#"{"t": "a \"b\" \u00e9 c"}"#;
        let doc = parse_json(source).unwrap();
        let t = string_at(&doc, "t");
        assert_eq!(t.text, "a \"b\" é c");
        let c = t.text.find('c').unwrap();
        assert_eq!(&source[t.to_file(Span::new(c, c + 1)).range()], "c");
    }

    #[test]
    fn json_errors_point_at_the_problem() {
        let (message, span) = parse_json("{\"a\": [1, 2,, 3]}").unwrap_err();
        assert_eq!(message, "expected a JSON value");
        assert_eq!(span, Span::new(12, 13));
        assert!(parse_json(&"[".repeat(10_000)).is_err());
    }
}

//! Bounds on the size and shape of an expression (SPEC §2.6).
//!
//! Every bound turns pathological input into a diagnostic instead of a stack
//! overflow, a hang or an out-of-memory. The defaults suit hand-written rules;
//! raise them with the bare-noun setters when generated rules need more.

/// Limits applied while parsing and checking an expression.
///
/// ```
/// use nextbest::Limits;
/// let limits = Limits::new().depth(32).source_len(4096);
/// assert_eq!(limits.max_depth(), 32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    source_len: usize,
    depth: usize,
    list_len: usize,
    aggregates: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl Limits {
    /// The defaults: 64 KiB of source, nesting depth 64, 1 024 list items,
    /// 32 aggregates per expression.
    pub const fn new() -> Self {
        Limits {
            source_len: 64 * 1024,
            depth: 64,
            list_len: 1024,
            aggregates: 32,
        }
    }

    /// Longest accepted source text, in bytes.
    pub const fn source_len(mut self, bytes: usize) -> Self {
        self.source_len = bytes;
        self
    }

    /// Deepest accepted nesting: brackets, prefix operators and operator
    /// chains each count one level per operator (`AND`/`OR` chains count once).
    pub const fn depth(mut self, levels: usize) -> Self {
        self.depth = levels;
        self
    }

    /// Most items in one list literal.
    pub const fn list_len(mut self, items: usize) -> Self {
        self.list_len = items;
        self
    }

    /// Most event aggregates in one expression.
    pub const fn aggregates(mut self, count: usize) -> Self {
        self.aggregates = count;
        self
    }

    /// See [`Limits::source_len`].
    pub const fn max_source_len(&self) -> usize {
        self.source_len
    }

    /// See [`Limits::depth`].
    pub const fn max_depth(&self) -> usize {
        self.depth
    }

    /// See [`Limits::list_len`].
    pub const fn max_list_len(&self) -> usize {
        self.list_len
    }

    /// See [`Limits::aggregates`].
    pub const fn max_aggregates(&self) -> usize {
        self.aggregates
    }
}

//! Diagnostics as data. The CLI renders them; nothing here prints.

use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// A place in a source file: 1-based line and column, and a length in characters
/// (0 means "to the end of the token", which the renderer widens to one character at least).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

impl Span {
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Self {
        Span {
            file: file.into(),
            line,
            column,
            len: 0,
        }
    }

    /// A span that names a whole file (no position inside it).
    pub fn file(file: impl Into<String>) -> Self {
        Span::new(file, 0, 0)
    }

    pub fn with_len(mut self, len: u32) -> Self {
        self.len = len;
        self
    }

    /// True when this span points into an embedded stdlib module.
    pub fn is_stdlib(&self) -> bool {
        self.file.starts_with(crate::STDLIB_PREFIX)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// A secondary label: a place and what to say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The field the label is about, inside the object at `span` (see [`Diagnostic::path`]).
    pub path: Option<String>,
}

/// One frame of a trace: "in `function`, at span".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frame {
    pub function: String,
    pub span: Span,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "in `{}` at {}", self.function, self.span)
    }
}

/// A diagnostic: severity, a stable code, a message, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier, e.g. `script-syntax` or a rule id such as `pinned-versions`.
    pub code: String,
    pub message: String,
    pub primary: Option<Span>,
    /// What to say at the primary span (may be empty).
    pub primary_label: String,
    pub labels: Vec<Label>,
    /// Frames between the user's line and where the problem was raised, innermost first.
    pub trace: Vec<Frame>,
    pub hints: Vec<String>,
    /// The offending field inside the object at `primary`, when a rule names one:
    /// `spec.template.spec.containers[name=app].image`, keys with dots in quotes
    /// (`metadata.annotations["a.b/c"]`), `|` to step into YAML held in a string
    /// (`data["configuration.yaml"]|recorder.db_url`). Objects read from a repository use it to
    /// point at the field's line.
    pub path: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code: code.into(),
            message: message.into(),
            primary: None,
            primary_label: String::new(),
            labels: Vec::new(),
            trace: Vec::new(),
            hints: Vec::new(),
            path: None,
        }
    }

    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(span);
        self.primary_label = label.into();
        self
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            path: None,
        });
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn with_trace(mut self, trace: Vec<Frame>) -> Self {
        self.trace = trace;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// A plain one-line-per-part rendering, for logs and tests; the CLI uses ariadne.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)?;
        if let Some(span) = &self.primary {
            write!(f, "\n  --> {span}")?;
            if !self.primary_label.is_empty() {
                write!(f, ": {}", self.primary_label)?;
            }
        }
        for label in &self.labels {
            write!(f, "\n  --> {}: {}", label.span, label.message)?;
        }
        for frame in &self.trace {
            write!(f, "\n  {frame}")?;
        }
        for hint in &self.hints {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Results that carry every diagnostic found, not only the first.
pub type CheckResult<T> = Result<T, Vec<Diagnostic>>;

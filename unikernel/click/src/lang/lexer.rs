//! Click's lexer (`lib/lexer.cc`): tokens with positions, and the separate
//! configuration-string mode the parser switches to after an element's `(`.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::confparse::split::{is_space, unquote};
use crate::error::{Error, Span};

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// `[A-Za-z0-9_@]+` with inner single `/`s; its text is in [`Token::text`].
    Ident,
    /// `$name`; the text is the name without `$` (possibly empty).
    Variable,
    /// `->`
    Arrow,
    /// `=>`
    DoubleArrow,
    /// `::`
    DoubleColon,
    /// `||`
    DoubleBar,
    /// `...`
    Ellipsis,
    /// Keyword `elementclass`.
    Elementclass,
    /// Keyword `require`.
    Require,
    /// Keyword `provide`.
    Provide,
    /// Keyword `define`.
    Define,
    /// Any other single character.
    Char(char),
    /// End of input.
    Eof,
}

/// One token and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Its kind.
    pub kind: Tok,
    /// Its text as written (variables: without the `$`).
    pub text: String,
    /// Position of its first character.
    pub span: Span,
}

impl Token {
    /// True for the one-character token `c`.
    pub fn is_char(&self, c: char) -> bool {
        self.kind == Tok::Char(c)
    }

    /// How the token reads in an error message: `'->'`, `'foo'`, `end of file`.
    pub fn describe(&self) -> String {
        match self.kind {
            Tok::Eof => "end of file".to_string(),
            Tok::Variable => alloc::format!("'${}'", self.text),
            _ => alloc::format!("'{}'", self.text),
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'@'
}

/// The lexer state: a cursor over the source with line accounting.
pub struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    file: Arc<str>,
    original_file: Arc<str>,
    /// Column cache: (line_start, pos, col) of the last computed column.
    col_cache: (usize, usize, u32),
    /// Lexical errors (unterminated comments and strings, bad directives).
    pub errors: Vec<Error>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`, which is called `file` in spans.
    pub fn new(src: &'a str, file: &str) -> Self {
        let file: Arc<str> = Arc::from(file);
        Lexer {
            src,
            b: src.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
            original_file: file.clone(),
            file,
            col_cache: (0, 0, 1),
            errors: Vec::new(),
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.src.get(a..b).unwrap_or("")
    }

    /// The span of the current position.
    pub fn span(&mut self) -> Span {
        let (ls, p, c) = self.col_cache;
        let (from, mut col) = if ls == self.line_start && p <= self.pos {
            (p, c)
        } else {
            (self.line_start, 1)
        };
        let upto = self.pos.min(self.b.len());
        if let Some(bytes) = self.b.get(from.min(upto)..upto) {
            col += bytes.iter().filter(|&&x| x & 0xC0 != 0x80).count() as u32;
        }
        self.col_cache = (self.line_start, self.pos, col);
        Span::new(&self.file, self.line, col)
    }

    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.errors.push(Error::new(span, msg));
    }

    /// Moves past one byte, counting `\n`, `\r` and `\r\n` as one newline.
    fn bump(&mut self) {
        match self.at(self.pos) {
            b'\n' => {
                self.pos += 1;
                self.newline();
            }
            b'\r' => {
                self.pos += if self.at(self.pos + 1) == b'\n' { 2 } else { 1 };
                self.newline();
            }
            _ => self.pos += 1,
        }
    }

    fn newline(&mut self) {
        self.line = self.line.saturating_add(1);
        self.line_start = self.pos;
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || matches!(self.at(self.pos - 1), b'\n' | b'\r')
    }

    /// Skips a `//` comment up to (not including) its newline.
    fn skip_line_comment(&mut self) {
        while self.pos < self.b.len() && !matches!(self.b[self.pos], b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// Skips a `/* */` comment starting at the cursor.
    fn skip_block_comment(&mut self) {
        let start = self.span();
        self.pos += 2;
        while self.pos < self.b.len() {
            if self.b[self.pos] == b'*' && self.at(self.pos + 1) == b'/' {
                self.pos += 2;
                return;
            }
            self.bump();
        }
        self.err(
            start,
            "unterminated comment: expected '*/' before end of file",
        );
    }

    /// Handles `# N "file"` / `#line N "file"` at the cursor (a `#` at the
    /// start of a line); leaves the cursor at the end of the line.
    fn line_directive(&mut self) {
        let start = self.span();
        let mut p = self.pos + 1;
        let blank = |b: u8| b == b' ' || b == b'\t';
        while blank(self.at(p)) {
            p += 1;
        }
        if self.b.get(p..p + 4) == Some(b"line") && blank(self.at(p + 4)) {
            p += 4;
            while blank(self.at(p)) {
                p += 1;
            }
        }
        if !self.at(p).is_ascii_digit() {
            self.pos = p;
            self.skip_line_comment();
            self.err(
                start,
                "unknown preprocessor directive: expected '# LINE \"FILE\"' or '#line LINE \"FILE\"'",
            );
            return;
        }
        let mut n: u32 = 0;
        while self.at(p).is_ascii_digit() {
            n = n
                .saturating_mul(10)
                .saturating_add(u32::from(self.at(p) - b'0'));
            p += 1;
        }
        while blank(self.at(p)) {
            p += 1;
        }
        if self.at(p) == b'"' {
            let q = p;
            p += 1;
            while p < self.b.len() && !matches!(self.b[p], b'"' | b'\n' | b'\r') {
                if self.b[p] == b'\\' && !matches!(self.at(p + 1), b'\n' | b'\r' | 0) {
                    p += 1;
                }
                p += 1;
            }
            let mut quoted = String::from(self.slice(q, p.min(self.b.len())));
            quoted.push('"');
            let name = unquote(&quoted);
            self.file = if name.is_empty() {
                self.original_file.clone()
            } else {
                Arc::from(name.as_str())
            };
        }
        self.pos = p.min(self.b.len());
        self.skip_line_comment();
        // The directive names the next line; its own newline adds one.
        self.line = n.saturating_sub(1);
    }

    /// Skips space, comments and line directives.
    fn skip_space(&mut self) {
        loop {
            let c = self.at(self.pos);
            if self.pos >= self.b.len() {
                return;
            } else if is_space(c) {
                self.bump();
            } else if c == b'/' && self.at(self.pos + 1) == b'/' {
                self.skip_line_comment();
            } else if c == b'/' && self.at(self.pos + 1) == b'*' {
                self.skip_block_comment();
            } else if c == b'#' && self.at_line_start() {
                self.line_directive();
            } else {
                return;
            }
        }
    }

    fn token(&mut self, kind: Tok, start: usize, span: Span) -> Token {
        Token {
            kind,
            text: self.slice(start, self.pos).to_string(),
            span,
        }
    }

    /// The next token in statement mode.
    pub fn next_token(&mut self) -> Token {
        self.skip_space();
        let span = self.span();
        let start = self.pos;
        if start >= self.b.len() {
            return Token {
                kind: Tok::Eof,
                text: String::new(),
                span,
            };
        }
        let c = self.b[start];
        if is_word_byte(c) {
            loop {
                while is_word_byte(self.at(self.pos)) {
                    self.pos += 1;
                }
                if self.at(self.pos) == b'/' && is_word_byte(self.at(self.pos + 1)) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            let kind = match self.slice(start, self.pos) {
                "elementclass" => Tok::Elementclass,
                "require" => Tok::Require,
                "provide" => Tok::Provide,
                "define" => Tok::Define,
                _ => Tok::Ident,
            };
            return self.token(kind, start, span);
        }
        if c == b'$' {
            self.pos += 1;
            while self.at(self.pos).is_ascii_alphanumeric() || self.at(self.pos) == b'_' {
                self.pos += 1;
            }
            let text = self.slice(start + 1, self.pos).to_string();
            return Token {
                kind: Tok::Variable,
                text,
                span,
            };
        }
        let two = (c, self.at(start + 1));
        let kind2 = match two {
            (b'-', b'>') => Some(Tok::Arrow),
            (b'=', b'>') => Some(Tok::DoubleArrow),
            (b':', b':') => Some(Tok::DoubleColon),
            (b'|', b'|') => Some(Tok::DoubleBar),
            _ => None,
        };
        if let Some(kind) = kind2 {
            self.pos += 2;
            return self.token(kind, start, span);
        }
        if self.b.get(start..start + 3) == Some(b"...") {
            self.pos += 3;
            return self.token(Tok::Ellipsis, start, span);
        }
        match self.src.get(start..).and_then(|s| s.chars().next()) {
            Some(ch) => {
                self.pos += ch.len_utf8();
                Token {
                    kind: Tok::Char(ch),
                    text: ch.to_string(),
                    span,
                }
            }
            None => {
                self.pos += 1;
                Token {
                    kind: Tok::Char('\u{fffd}'),
                    text: "\u{fffd}".to_string(),
                    span,
                }
            }
        }
    }

    /// Skips a quoted string starting at the cursor; `"` strings honour
    /// backslash escapes and `\<...>` blobs.
    fn skip_quote(&mut self) {
        let start = self.span();
        let q = self.b[self.pos];
        self.pos += 1;
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            if c == q {
                self.pos += 1;
                return;
            } else if c == b'\\' && q == b'"' && self.pos + 1 < self.b.len() {
                if self.at(self.pos + 1) == b'<' {
                    self.skip_blob();
                } else {
                    self.pos += 1;
                    self.bump();
                }
            } else {
                self.bump();
            }
        }
        self.err(
            start,
            alloc::format!(
                "unterminated string: expected closing {} before end of file",
                q as char
            ),
        );
    }

    /// Skips a `\<hex>` blob starting at the cursor (comments allowed inside).
    fn skip_blob(&mut self) {
        let start = self.span();
        self.pos += 2;
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            if c == b'>' {
                self.pos += 1;
                return;
            } else if c == b'/' && self.at(self.pos + 1) == b'/' {
                self.skip_line_comment();
            } else if c == b'/' && self.at(self.pos + 1) == b'*' {
                self.skip_block_comment();
            } else {
                self.bump();
            }
        }
        self.err(
            start,
            "unterminated '\\<' hex string: expected '>' before end of file",
        );
    }

    /// Configuration-string mode, called just after an element's `(`: the
    /// text up to the matching `)` (parentheses inside quotes, comments and
    /// `\<...>` do not count). Consumes the `)`. Returns the text, where it
    /// starts, and whether the `)` was found.
    pub fn config(&mut self) -> (String, Span, bool) {
        let span = self.span();
        let mut out = String::new();
        let mut piece = self.pos;
        let mut depth = 1u32;
        while self.pos < self.b.len() {
            match self.b[self.pos] {
                b'(' => {
                    depth = depth.saturating_add(1);
                    self.pos += 1;
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push_str(self.slice(piece, self.pos));
                        self.pos += 1;
                        return (out, span, true);
                    }
                    self.pos += 1;
                }
                b'#' if self.at_line_start() => {
                    out.push_str(self.slice(piece, self.pos));
                    self.line_directive();
                    piece = self.pos;
                }
                b'/' if self.at(self.pos + 1) == b'/' => self.skip_line_comment(),
                b'/' if self.at(self.pos + 1) == b'*' => self.skip_block_comment(),
                b'\'' | b'"' => self.skip_quote(),
                b'\\' if self.at(self.pos + 1) == b'<' => self.skip_blob(),
                _ => self.bump(),
            }
        }
        out.push_str(self.slice(piece, self.pos));
        (out, span, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn kinds(src: &str) -> Vec<(Tok, String)> {
        let mut lx = Lexer::new(src, "t");
        let mut v = Vec::new();
        loop {
            let t = lx.next_token();
            if t.kind == Tok::Eof {
                break;
            }
            v.push((t.kind, t.text));
        }
        v
    }

    fn texts(src: &str) -> Vec<String> {
        kinds(src).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn identifiers_and_slashes() {
        assert_eq!(texts("a/b/c"), vec!["a/b/c"]);
        assert_eq!(texts("a//b"), vec!["a"]);
        assert_eq!(texts("a/ b"), vec!["a", "/", "b"]);
        assert_eq!(texts("/a"), vec!["/", "a"]);
        assert_eq!(texts("a/"), vec!["a", "/"]);
        assert_eq!(texts("Foo@3 _x 12"), vec!["Foo@3", "_x", "12"]);
        assert_eq!(texts("a/*c*/b"), vec!["a", "b"]);
    }

    #[test]
    fn keywords_and_operators() {
        let k: Vec<Tok> =
            kinds("elementclass require provide define input -> => :: || ... | - : .")
                .into_iter()
                .map(|(k, _)| k)
                .collect();
        assert_eq!(
            k,
            vec![
                Tok::Elementclass,
                Tok::Require,
                Tok::Provide,
                Tok::Define,
                Tok::Ident,
                Tok::Arrow,
                Tok::DoubleArrow,
                Tok::DoubleColon,
                Tok::DoubleBar,
                Tok::Ellipsis,
                Tok::Char('|'),
                Tok::Char('-'),
                Tok::Char(':'),
                Tok::Char('.'),
            ]
        );
        assert_eq!(texts("defined"), vec!["defined"]);
    }

    #[test]
    fn variables() {
        assert_eq!(
            kinds("$abc_1 $"),
            vec![(Tok::Variable, "abc_1".into()), (Tok::Variable, "".into())]
        );
    }

    #[test]
    fn spans_are_one_based_lines_and_chars() {
        let mut lx = Lexer::new("a\n  é c\r\nd\re", "f");
        let spans: Vec<(u32, u32)> = (0..5)
            .map(|_| {
                let t = lx.next_token();
                (t.span.line, t.span.col)
            })
            .collect();
        assert_eq!(spans, vec![(1, 1), (2, 3), (2, 5), (3, 1), (4, 1)]);
    }

    #[test]
    fn comments_count_lines() {
        let mut lx = Lexer::new("/* a\nb */ x // y\nz", "f");
        let x = lx.next_token();
        assert_eq!((x.text.as_str(), x.span.line, x.span.col), ("x", 2, 6));
        let z = lx.next_token();
        assert_eq!((z.text.as_str(), z.span.line), ("z", 3));
    }

    #[test]
    fn unterminated_comment() {
        let mut lx = Lexer::new("a /* never", "f");
        lx.next_token();
        assert_eq!(lx.next_token().kind, Tok::Eof);
        assert_eq!(lx.errors.len(), 1);
        assert_eq!(
            lx.errors[0].to_string(),
            "f:1:3: unterminated comment: expected '*/' before end of file"
        );
    }

    #[test]
    fn line_directives() {
        let mut lx = Lexer::new(
            "a\n# 100 \"other.click\"\nb\n#line 7\nc\n# 3 \"\"\nd",
            "orig",
        );
        let a = lx.next_token();
        assert_eq!((&*a.span.file, a.span.line), ("orig", 1));
        let b = lx.next_token();
        assert_eq!((&*b.span.file, b.span.line), ("other.click", 100));
        let c = lx.next_token();
        assert_eq!((&*c.span.file, c.span.line), ("other.click", 7));
        let d = lx.next_token();
        assert_eq!((&*d.span.file, d.span.line), ("orig", 3));
        assert!(lx.errors.is_empty());
    }

    #[test]
    fn bad_directive() {
        let mut lx = Lexer::new("#pragma x\ny # z", "f");
        let y = lx.next_token();
        assert_eq!((y.text.as_str(), y.span.line), ("y", 2));
        assert_eq!(lx.errors.len(), 1);
        assert!(lx.errors[0]
            .message
            .starts_with("unknown preprocessor directive"));
        // '#' not at the start of a line is an ordinary character.
        assert_eq!(lx.next_token().kind, Tok::Char('#'));
    }

    #[test]
    fn config_strings() {
        let mut lx = Lexer::new("a, (b), \")\" ')' /* ) */ \\<29>) rest", "f");
        let (cfg, span, closed) = lx.config();
        assert!(closed);
        assert_eq!(cfg, "a, (b), \")\" ')' /* ) */ \\<29>");
        assert_eq!((span.line, span.col), (1, 1));
        assert_eq!(lx.next_token().text, "rest");
    }

    #[test]
    fn config_line_comment_and_escapes() {
        let mut lx = Lexer::new("1, // )\n\"\\\")\" 2)x", "f");
        let (cfg, _, closed) = lx.config();
        assert!(closed);
        assert_eq!(cfg, "1, // )\n\"\\\")\" 2");
        let x = lx.next_token();
        assert_eq!((x.text.as_str(), x.span.line), ("x", 2));
    }

    #[test]
    fn config_directive_removed() {
        let mut lx = Lexer::new("\n# 100 \"foobar.click\"\n\"test\")\nm2", "A.click");
        let (cfg, _, closed) = lx.config();
        assert!(closed);
        assert_eq!(cfg, "\n\n\"test\"");
        let m2 = lx.next_token();
        assert_eq!((&*m2.span.file, m2.span.line), ("foobar.click", 101));
    }

    #[test]
    fn config_unterminated() {
        let mut lx = Lexer::new("a, \"b)", "f");
        let (cfg, _, closed) = lx.config();
        assert!(!closed);
        assert_eq!(cfg, "a, \"b)");
        assert!(lx.errors[0].message.starts_with("unterminated string"));
        let mut lx = Lexer::new("a, (b)", "f");
        assert!(!lx.config().2);
    }

    #[test]
    fn odd_bytes_do_not_panic() {
        for s in [
            "é", "\u{0}", "a/", "$", "#", "\r", "-", ".", "..", "\"", "\\<",
        ] {
            let _ = kinds(s);
            let _ = Lexer::new(s, "f").config();
        }
    }
}

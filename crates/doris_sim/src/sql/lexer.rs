//! Tokenizer for the Doris/MySQL SQL dialect the simulator accepts.

/// What a token is. Keywords are not reserved: bare words stay `Word` and the parser
/// matches them case-insensitively, so keywords work as names where unambiguous.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A bare word (identifier or keyword).
    Word(String),
    /// A backquoted identifier, unescaped (``` `` ``` → `` ` ``).
    QuotedIdent(String),
    /// A single- or double-quoted string literal, unescaped.
    Str(String),
    /// A numeric literal as written.
    Number(String),
    /// `@@name`, `@@session.name`, `@@global.name` (name only, lower case).
    SystemVar(String),
    /// `@name`.
    UserVar(String),
    /// Punctuation / operator.
    Symbol(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte offsets into the source text.
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn is_word(&self, word: &str) -> bool {
        matches!(&self.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(word))
    }

    pub fn is_symbol(&self, symbol: &str) -> bool {
        matches!(&self.kind, TokenKind::Symbol(s) if *s == symbol)
    }
}

/// Lexing failure with the byte offset where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct LexError {
    pub message: String,
    pub position: usize,
}

/// Multi-character symbols first so the longest match wins.
const SYMBOLS: &[&str] = &[
    "<=>", "<=", ">=", "<>", "!=", "||", "&&", ":=", "(", ")", ",", ";", ".", "=", "<", ">", "+",
    "-", "*", "/", "%", "!", "[", "]", ":", "{", "}", "~", "^", "&", "|", "?",
];

pub fn tokenize(src: &str) -> Result<Vec<Token>, LexError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Comments: `-- ` (MySQL wants a space or end after `--`; Doris is lenient), `#`, `/* */`.
        if c == b'#' || (c == b'-' && bytes.get(i + 1) == Some(&b'-')) {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let end = src[i + 2..].find("*/").ok_or_else(|| LexError {
                message: "unterminated comment".into(),
                position: i,
            })?;
            i = i + 2 + end + 2;
            continue;
        }
        let start = i;
        let kind = match c {
            b'`' => {
                let (text, next) = read_quoted(src, i, b'`', false)?;
                i = next;
                TokenKind::QuotedIdent(text)
            }
            b'\'' | b'"' => {
                let (text, next) = read_quoted(src, i, c, true)?;
                i = next;
                TokenKind::Str(text)
            }
            b'@' => {
                if bytes.get(i + 1) == Some(&b'@') {
                    i += 2;
                    let word_start = i;
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric()
                            || bytes[i] == b'_'
                            || bytes[i] == b'.')
                    {
                        i += 1;
                    }
                    let raw = src[word_start..i].to_ascii_lowercase();
                    let name = raw
                        .strip_prefix("session.")
                        .or_else(|| raw.strip_prefix("global."))
                        .or_else(|| raw.strip_prefix("local."))
                        .unwrap_or(&raw)
                        .to_owned();
                    TokenKind::SystemVar(name)
                } else {
                    i += 1;
                    if bytes.get(i) == Some(&b'`')
                        || bytes.get(i) == Some(&b'\'')
                        || bytes.get(i) == Some(&b'"')
                    {
                        let (text, next) = read_quoted(src, i, bytes[i], bytes[i] != b'`')?;
                        i = next;
                        TokenKind::UserVar(text)
                    } else {
                        let word_start = i;
                        while i < bytes.len()
                            && (bytes[i].is_ascii_alphanumeric()
                                || bytes[i] == b'_'
                                || bytes[i] == b'.'
                                || bytes[i] == b'$')
                        {
                            i += 1;
                        }
                        TokenKind::UserVar(src[word_start..i].to_owned())
                    }
                }
            }
            b'0'..=b'9' => {
                i = read_number(bytes, i);
                // `1abc` is an identifier in MySQL; treat digits followed by letters as a word.
                if i < bytes.len()
                    && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_')
                    && !src[start..i].contains('.')
                {
                    while i < bytes.len() && is_word_byte(bytes[i]) {
                        i += 1;
                    }
                    TokenKind::Word(src[start..i].to_owned())
                } else {
                    TokenKind::Number(src[start..i].to_owned())
                }
            }
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !matches!(
                    tokens.last(),
                    Some(Token {
                        kind: TokenKind::Word(_) | TokenKind::QuotedIdent(_),
                        ..
                    })
                ) =>
            {
                i = read_number(bytes, i);
                TokenKind::Number(src[start..i].to_owned())
            }
            c if is_word_byte(c) || c >= 0x80 => {
                while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] >= 0x80) {
                    i += 1;
                }
                TokenKind::Word(src[start..i].to_owned())
            }
            _ => {
                let symbol = SYMBOLS
                    .iter()
                    .find(|s| src[i..].starts_with(**s))
                    .ok_or_else(|| LexError {
                        message: format!("unexpected character '{}'", c as char),
                        position: i,
                    })?;
                i += symbol.len();
                TokenKind::Symbol(symbol)
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Ok(tokens)
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

fn read_number(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' && bytes.get(i + 1).is_none_or(|b| b.is_ascii_digit()) {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// Reads a quoted run starting at `start` (the opening quote). A doubled quote stands for
/// one; with `escapes`, backslash escapes are decoded like MySQL does.
fn read_quoted(
    src: &str,
    start: usize,
    quote: u8,
    escapes: bool,
) -> Result<(String, usize), LexError> {
    let bytes = src.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut run_start = i;
    loop {
        if i >= bytes.len() {
            return Err(LexError {
                message: "unterminated quoted text".into(),
                position: start,
            });
        }
        let b = bytes[i];
        if b == quote {
            out.push_str(&src[run_start..i]);
            if bytes.get(i + 1) == Some(&quote) {
                out.push(quote as char);
                i += 2;
                run_start = i;
                continue;
            }
            return Ok((out, i + 1));
        }
        if escapes && b == b'\\' && i + 1 < bytes.len() {
            out.push_str(&src[run_start..i]);
            let escaped = src[i + 1..].chars().next().expect("a char follows");
            match escaped {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                '0' => out.push('\0'),
                'Z' => out.push('\u{1a}'),
                // MySQL keeps the backslash of `\%` and `\_` (LIKE escapes).
                '%' | '_' => {
                    out.push('\\');
                    out.push(escaped);
                }
                other => out.push(other),
            }
            i += 1 + escaped.len_utf8();
            run_start = i;
            continue;
        }
        i += 1;
    }
}

/// Splits a COM_QUERY text into statements on `;` outside quotes and comments. Returns
/// `(start, end)` byte ranges of the non-empty statements.
pub fn split_statements(tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut first = 0;
    for (i, token) in tokens.iter().enumerate() {
        if token.is_symbol(";") {
            if i > first {
                ranges.push(first..i);
            }
            first = i + 1;
        }
    }
    if first < tokens.len() {
        ranges.push(first..tokens.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn backquoted_identifiers_unescape_doubled_backquotes() {
        assert_eq!(
            kinds("`a``b` `my-table`"),
            vec![
                TokenKind::QuotedIdent("a`b".into()),
                TokenKind::QuotedIdent("my-table".into())
            ]
        );
    }

    #[test]
    fn strings_decode_escapes_in_both_quote_styles() {
        assert_eq!(
            kinds(r#"'it''s' "a\"b\n" 'c\%'"#),
            vec![
                TokenKind::Str("it's".into()),
                TokenKind::Str("a\"b\n".into()),
                TokenKind::Str("c\\%".into())
            ]
        );
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("select -- x\n 1 # y\n /* z */ ;"),
            vec![
                TokenKind::Word("select".into()),
                TokenKind::Number("1".into()),
                TokenKind::Symbol(";")
            ]
        );
    }

    #[test]
    fn variables_and_symbols() {
        assert_eq!(
            kinds("@@SESSION.sql_mode @x <=> != 1.5e3 a.b"),
            vec![
                TokenKind::SystemVar("sql_mode".into()),
                TokenKind::UserVar("x".into()),
                TokenKind::Symbol("<=>"),
                TokenKind::Symbol("!="),
                TokenKind::Number("1.5e3".into()),
                TokenKind::Word("a".into()),
                TokenKind::Symbol("."),
                TokenKind::Word("b".into())
            ]
        );
    }

    #[test]
    fn split_ignores_semicolons_in_quotes_and_comments() {
        let src = "use db; select ';' /* ; */; ;show tables";
        let tokens = tokenize(src).unwrap();
        let ranges = split_statements(&tokens);
        assert_eq!(ranges.len(), 3);
        assert_eq!(
            &src[tokens[ranges[1].start].start..tokens[ranges[1].end - 1].end],
            "select ';'"
        );
    }

    #[test]
    fn unterminated_string_is_an_error() {
        assert!(tokenize("select 'abc").is_err());
    }
}

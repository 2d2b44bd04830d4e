//! Where each statement sits in its document's text, for IAM's policy simulator
//! (`MatchedStatements[].StartPosition` / `EndPosition`).
//!
//! Computed on demand from the text rather than kept by the parser: only simulations need it,
//! so parsing (and evaluation) pay nothing for it. One linear pass over the text.

/// A place in a document: 1-based line and 1-based column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TextPosition {
    pub line: u32,
    pub column: u32,
}

/// The extent of one statement: the positions of its opening `{` and its closing `}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementSpan {
    pub start: TextPosition,
    pub end: TextPosition,
}

/// The span of each statement of `document`, in document order (the `n`th span belongs to
/// [`Policy::statements`](crate::Policy::statements)`()[n]` of the policy parsed from the same
/// text). `None` when the text is not a JSON object with a `Statement` member holding an
/// object or an array of objects — which [`Policy::parse`](crate::Policy::parse) refuses
/// anyway.
pub fn statement_spans(document: &str) -> Option<Vec<StatementSpan>> {
    let mut s = Scanner {
        bytes: document.as_bytes(),
        at: 0,
    };
    let mut offsets: Vec<(usize, usize)> = Vec::new();
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        return None;
    }
    let mut found = false;
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        if key_is(document, key, "Statement") {
            found = true;
            offsets.clear();
            match s.peek()? {
                b'{' => offsets.push(s.object_extent()?),
                b'[' => {
                    s.eat(b'[')?;
                    s.ws();
                    if s.peek() == Some(b']') {
                        s.eat(b']')?;
                    } else {
                        loop {
                            s.ws();
                            offsets.push(s.object_extent()?);
                            s.ws();
                            match s.next()? {
                                b',' => {}
                                b']' => break,
                                _ => return None,
                            }
                        }
                    }
                }
                _ => return None,
            }
        } else {
            s.value()?;
        }
        s.ws();
        match s.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    if !found {
        return None;
    }
    let mut marks: Vec<usize> = offsets.iter().flat_map(|&(a, b)| [a, b]).collect();
    marks.sort_unstable();
    let positions = positions_of(document, &marks);
    let find = |offset: usize| {
        marks
            .binary_search(&offset)
            .ok()
            .and_then(|i| positions.get(i).copied())
    };
    offsets
        .iter()
        .map(|&(a, b)| {
            Some(StatementSpan {
                start: find(a)?,
                end: find(b)?,
            })
        })
        .collect()
}

/// Whether the raw key text (between quotes, escapes undecoded) names `want`.
fn key_is(document: &str, (from, to): (usize, usize), want: &str) -> bool {
    let Some(raw) = document.get(from..to) else {
        return false;
    };
    if !raw.contains('\\') {
        return raw == want;
    }
    document
        .get(from.saturating_sub(1)..to + 1)
        .and_then(|quoted| serde_json::from_str::<String>(quoted).ok())
        .is_some_and(|k| k == want)
}

/// Line and column of each byte offset in `sorted` (ascending).
fn positions_of(text: &str, sorted: &[usize]) -> Vec<TextPosition> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut wanted = sorted.iter().peekable();
    let (mut line, mut column) = (1u32, 1u32);
    for (offset, c) in text.char_indices() {
        while wanted.peek().is_some_and(|&&w| w == offset) {
            out.push(TextPosition { line, column });
            wanted.next();
        }
        if wanted.peek().is_none() {
            break;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    out
}

/// A permissive JSON skimmer: it finds extents, it does not validate.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn ws(&mut self) {
        while self
            .peek()
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    /// A string; returns the byte range of its contents.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let from = self.at;
        loop {
            match self.next()? {
                b'"' => return Some((from, self.at - 1)),
                b'\\' => {
                    self.next()?;
                }
                _ => {}
            }
        }
    }

    /// An object; returns the offsets of its `{` and `}`.
    fn object_extent(&mut self) -> Option<(usize, usize)> {
        if self.peek()? != b'{' {
            return None;
        }
        let start = self.at;
        self.value()?;
        Some((start, self.at - 1))
    }

    /// Skips any value.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.at += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn pos(line: u32, column: u32) -> TextPosition {
        TextPosition { line, column }
    }

    #[test]
    fn pretty_printed_statement_list() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"A\", \"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"\n    },\n    {\"Effect\": \"Deny\", \"Action\": \"s3:Delete*\", \"Resource\": \"arn:aws:s3:::b/{x}\"}\n  ]\n}";
        let spans = statement_spans(doc).unwrap();
        assert_eq!(
            spans,
            vec![
                StatementSpan {
                    start: pos(4, 5),
                    end: pos(6, 5)
                },
                StatementSpan {
                    start: pos(7, 5),
                    end: pos(7, 80)
                },
            ]
        );
    }

    #[test]
    fn single_statement_object_and_tricky_text() {
        let doc = r#"{"Id":"é}{\"x","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"a:b":["}","{"]}}},"Version":"2012-10-17"}"#;
        let spans = statement_spans(doc).unwrap();
        let start = doc.find("{\"Effect").unwrap();
        assert_eq!(spans.len(), 1);
        // Columns count characters: "é" is two bytes, one column.
        assert_eq!(spans[0].start, pos(1, start as u32));
        assert_eq!(spans[0].end.line, 1);
        assert_eq!(
            spans[0].end.column,
            doc.find("}},\"Version").unwrap() as u32 + 2 - 1
        );
        // An escaped member name still names the Statement.
        let doc = r#"{"Stat\u0065ment":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert_eq!(statement_spans(doc).unwrap().len(), 1);
    }

    #[test]
    fn agrees_with_the_parser_on_statement_count() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"a:b","Resource":"*"},{"Effect":"Deny","Action":"a:c","Resource":"*"}]}"#;
        let p = crate::Policy::parse("p", doc, crate::PolicyKind::Identity).unwrap();
        assert_eq!(statement_spans(doc).unwrap().len(), p.statements().len());
    }

    #[test]
    fn shapes_without_statements() {
        for doc in [
            "",
            "[]",
            "{}",
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Statement":5}"#,
            "{\"Statement\":[{}",
        ] {
            assert_eq!(statement_spans(doc), None, "{doc}");
        }
    }
}

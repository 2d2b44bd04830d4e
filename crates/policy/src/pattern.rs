//! Compiled text patterns: wildcards (`*`, `?`), policy variables (`${aws:username}`,
//! `${aws:PrincipalTag/team, 'default'}`, escapes `${*}` `${?}` `${$}`), action patterns
//! (case-insensitive) and ARN patterns (matched per colon-separated segment).
//!
//! Everything here is prepared at parse time; matching walks the compiled tokens over the
//! request's text without allocating.

use crate::context::{Context, Key};

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Literal text (for action patterns: already lowercased).
    Lit(Box<str>),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
    /// A policy variable, substituted from the request context.
    Var(Var),
}

/// A policy variable reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    pub(crate) key: Key,
    pub(crate) default: Option<Box<str>>,
}

impl Var {
    /// The substituted text, or `None` when the key is absent (or multivalued) and there is
    /// no default.
    pub(crate) fn resolve<'a>(&'a self, ctx: &'a Context) -> Option<&'a str> {
        ctx.lookup_single(&self.key).or(self.default.as_deref())
    }
}

/// How to read a pattern's text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// `*` and `?` are wildcards.
    pub(crate) wildcards: bool,
    /// `${…}` is a policy variable (only in `Version` 2012-10-17 policies).
    pub(crate) variables: bool,
}

/// Splits pattern text into tokens; adjacent literals are merged.
pub(crate) fn tokenize(text: &str, syntax: Syntax) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if syntax.variables
            && rest.starts_with("${")
            && let Some((piece, len)) = parse_variable(rest)
        {
            match piece {
                VarPiece::Literal(ch) => lit.push(ch),
                VarPiece::Var(v) => {
                    flush(&mut toks, &mut lit);
                    toks.push(Tok::Var(v));
                }
            }
            rest = rest.get(len..).unwrap_or("");
            continue;
        }
        match c {
            '*' if syntax.wildcards => {
                flush(&mut toks, &mut lit);
                // `**` matches what `*` matches.
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
            }
            '?' if syntax.wildcards => {
                flush(&mut toks, &mut lit);
                toks.push(Tok::One);
            }
            _ => lit.push(c),
        }
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    flush(&mut toks, &mut lit);
    toks
}

fn flush(toks: &mut Vec<Tok>, lit: &mut String) {
    if !lit.is_empty() {
        toks.push(Tok::Lit(std::mem::take(lit).into_boxed_str()));
    }
}

enum VarPiece {
    Literal(char),
    Var(Var),
}

/// Reads `${…}` at the start of `text`; returns the piece and the length consumed, or `None`
/// when it is not a well-formed variable (then `${` is literal text).
fn parse_variable(text: &str) -> Option<(VarPiece, usize)> {
    let body_start = 2;
    let body = text.get(body_start..)?;
    // Find the closing brace, skipping a quoted default value.
    let mut in_quote = false;
    let mut end = None;
    for (i, c) in body.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let end = end?;
    let inner = body.get(..end)?;
    let consumed = body_start + end + 1;
    match inner {
        "*" => return Some((VarPiece::Literal('*'), consumed)),
        "?" => return Some((VarPiece::Literal('?'), consumed)),
        "$" => return Some((VarPiece::Literal('$'), consumed)),
        _ => {}
    }
    let (name, default) = match inner.split_once(',') {
        Some((name, default)) => {
            let d = default.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (name.trim(), Some(d.to_owned().into_boxed_str()))
        }
        None => (inner.trim(), None),
    };
    if name.is_empty() || name.contains(['{', '}', '$', '\'']) {
        return None;
    }
    Some((
        VarPiece::Var(Var {
            key: Key::new(name),
            default,
        }),
        consumed,
    ))
}

/// Whether tokens contain a variable.
pub(crate) fn has_vars(toks: &[Tok]) -> bool {
    toks.iter().any(|t| matches!(t, Tok::Var(_)))
}

/// Whether tokens contain a wildcard.
pub(crate) fn has_wildcards(toks: &[Tok]) -> bool {
    toks.iter().any(|t| matches!(t, Tok::Star | Tok::One))
}

/// Whether every variable in the tokens can be substituted.
pub(crate) fn vars_resolvable(toks: &[Tok], ctx: &Context) -> bool {
    toks.iter().all(|t| match t {
        Tok::Var(v) => v.resolve(ctx).is_some(),
        _ => true,
    })
}

/// A compiled wildcard pattern: its tokens, and a fast path for the common shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    toks: Box<[Tok]>,
    shape: Shape,
}

/// Pattern shapes matched without the general loop.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// `*`
    Any,
    /// Literal text only.
    Exact(Box<str>),
    /// `first*m1*m2*…[*last]`: literals and `*` only. Leftmost matching of the middle parts is
    /// exact for such patterns, so no backtracking is needed.
    Stars {
        first: Box<str>,
        middle: Box<[Box<str>]>,
        last: Option<Box<str>>,
    },
    /// Holds `?` or a variable.
    General,
}

impl Glob {
    pub(crate) fn new(toks: Vec<Tok>) -> Glob {
        Glob {
            shape: Self::shape(&toks),
            toks: toks.into_boxed_slice(),
        }
    }

    fn shape(toks: &[Tok]) -> Shape {
        let mut literals: Vec<Box<str>> = Vec::new();
        let mut pending: Option<Box<str>> = None;
        let mut stars = 0usize;
        for tok in toks {
            match tok {
                Tok::Lit(l) => pending = Some(l.clone()),
                Tok::Star => {
                    literals.push(pending.take().unwrap_or_default());
                    stars += 1;
                }
                Tok::One | Tok::Var(_) => return Shape::General,
            }
        }
        if stars == 0 {
            return Shape::Exact(pending.unwrap_or_default());
        }
        if let [Tok::Star] = toks {
            return Shape::Any;
        }
        let mut literals = literals.into_iter();
        let first = literals.next().unwrap_or_default();
        let middle: Box<[Box<str>]> = literals.filter(|m| !m.is_empty()).collect();
        Shape::Stars {
            first,
            middle,
            last: pending,
        }
    }

    pub(crate) fn tokens(&self) -> &[Tok] {
        &self.toks
    }

    /// The text, when the pattern is plain literal text.
    fn literal(&self) -> Option<&str> {
        match &self.shape {
            Shape::Exact(a) => Some(a),
            _ => None,
        }
    }

    /// Whether the pattern is `*`.
    fn is_any(&self) -> bool {
        self.shape == Shape::Any
    }

    /// Whole-input match; `None` when a variable cannot be substituted.
    pub(crate) fn matches(&self, input: &str, ctx: &Context, fold: bool) -> Option<bool> {
        self.matches_bytes(input.as_bytes(), ctx, fold)
    }

    /// [`matches`](Self::matches) over the bytes of a string, or of a part of one cut at ASCII
    /// characters (an ARN component).
    fn matches_bytes(&self, inb: &[u8], ctx: &Context, fold: bool) -> Option<bool> {
        Some(match &self.shape {
            Shape::Any => true,
            Shape::Exact(a) => bytes_eq(inb, a.as_bytes(), fold),
            Shape::Stars {
                first,
                middle,
                last,
            } => {
                if !starts_with_at(inb, 0, first.as_bytes(), fold) {
                    return Some(false);
                }
                let mut at = first.len();
                let end = match last {
                    Some(last) => {
                        if inb.len() < at + last.len() || !ends_with(inb, last.as_bytes(), fold) {
                            return Some(false);
                        }
                        inb.len() - last.len()
                    }
                    None => inb.len(),
                };
                let region = inb.get(..end).unwrap_or_default();
                for m in middle.iter() {
                    match find_from(region, at, m.as_bytes(), fold) {
                        Some(found) => at = found + m.len(),
                        None => return Some(false),
                    }
                }
                true
            }
            Shape::General => return glob_bytes(&self.toks, inb, ctx, fold),
        })
    }
}

/// Byte length of the UTF-8 sequence starting with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn starts_with_at(input: &[u8], at: usize, lit: &[u8], fold: bool) -> bool {
    match input.get(at..at.saturating_add(lit.len())) {
        Some(s) => bytes_eq(s, lit, fold),
        None => false,
    }
}

/// Byte equality, ASCII case-insensitive with `fold`.
#[inline]
fn bytes_eq(a: &[u8], b: &[u8], fold: bool) -> bool {
    if fold {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
    } else {
        same_bytes(a, b)
    }
}

/// Byte equality.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// Wildcard match of `toks` against the whole of `input`.
///
/// `fold`: ASCII case-insensitive (action names). Returns `None` when a variable cannot be
/// substituted. Greedy with backtracking to the last `*`, which is exact for `*`/`?` patterns;
/// a `*` followed by literal text jumps to that text's next occurrence instead of stepping
/// one character at a time, and a final `*literal` is a suffix test.
#[cfg(test)]
pub(crate) fn glob(toks: &[Tok], input: &str, ctx: &Context, fold: bool) -> Option<bool> {
    glob_bytes(toks, input.as_bytes(), ctx, fold)
}

/// [`glob`] over the bytes of a string (or of a part of one cut at ASCII characters).
fn glob_bytes(toks: &[Tok], inb: &[u8], ctx: &Context, fold: bool) -> Option<bool> {
    let mut t = 0usize;
    let mut p = 0usize;
    // (index of the star's token, input position its run ends at)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = toks.get(t) {
            let advanced = match tok {
                Tok::Star => {
                    match toks.get(t + 1) {
                        None => return Some(true),
                        Some(next) if t + 2 == toks.len() => {
                            if let Some(text) = literal_of(next, ctx)? {
                                let rest = inb.get(p..).unwrap_or_default();
                                return Some(ends_with(rest, text.as_bytes(), fold));
                            }
                        }
                        Some(_) => {}
                    }
                    match next_run_end(toks, t, inb, p, ctx, fold)? {
                        Some(run_end) => {
                            star = Some((t, run_end));
                            p = run_end;
                            t += 1;
                            continue;
                        }
                        None => return Some(false),
                    }
                }
                Tok::One => match inb.get(p) {
                    Some(&b) => {
                        p += char_len(b);
                        true
                    }
                    None => false,
                },
                Tok::Lit(l) => {
                    if starts_with_at(inb, p, l.as_bytes(), fold) {
                        p += l.len();
                        true
                    } else {
                        false
                    }
                }
                Tok::Var(v) => {
                    let value = v.resolve(ctx)?;
                    if starts_with_at(inb, p, value.as_bytes(), fold) {
                        p += value.len();
                        true
                    } else {
                        false
                    }
                }
            };
            if advanced {
                t += 1;
                continue;
            }
        } else if p >= inb.len() {
            return Some(true);
        }
        // Mismatch: let the last star absorb more.
        let Some((star_t, run_end)) = star else {
            return Some(false);
        };
        let Some(&b) = inb.get(run_end) else {
            return Some(false);
        };
        match next_run_end(toks, star_t, inb, run_end + char_len(b), ctx, fold)? {
            Some(next) => {
                star = Some((star_t, next));
                t = star_t + 1;
                p = next;
            }
            None => return Some(false),
        }
    }
}

/// The text a literal or variable token stands for; `Ok(None)` for wildcards, `None` for an
/// unresolvable variable.
fn literal_of<'a>(tok: &'a Tok, ctx: &'a Context) -> Option<Option<&'a str>> {
    match tok {
        Tok::Lit(l) => Some(Some(l)),
        Tok::Var(v) => v.resolve(ctx).map(Some),
        Tok::Star | Tok::One => Some(None),
    }
}

/// Where the run of the star at `star_t` may end, at or after `from`: the next occurrence of
/// the literal that follows the star, or `from` itself when a wildcard follows. `Some(None)`:
/// no possible end.
fn next_run_end(
    toks: &[Tok],
    star_t: usize,
    inb: &[u8],
    from: usize,
    ctx: &Context,
    fold: bool,
) -> Option<Option<usize>> {
    if from > inb.len() {
        return Some(None);
    }
    let Some(next) = toks.get(star_t + 1) else {
        return Some(Some(from));
    };
    match literal_of(next, ctx)? {
        Some(text) => Some(find_from(inb, from, text.as_bytes(), fold)),
        None => Some(Some(from)),
    }
}

fn ends_with(hay: &[u8], suffix: &[u8], fold: bool) -> bool {
    match hay
        .len()
        .checked_sub(suffix.len())
        .and_then(|at| hay.get(at..))
    {
        Some(tail) => bytes_eq(tail, suffix, fold),
        None => false,
    }
}

/// First position at or after `from` where `needle` occurs. Positions found are character
/// boundaries: a needle that starts with an ASCII byte matches only there, and one that
/// starts with a UTF-8 lead byte likewise.
fn find_from(hay: &[u8], from: usize, needle: &[u8], fold: bool) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(from);
    };
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut at = from;
    while at <= last_start {
        let window = hay.get(at..=last_start)?;
        let offset = if fold && first.is_ascii_alphabetic() {
            window.iter().position(|b| b.eq_ignore_ascii_case(&first))?
        } else {
            find_byte(window, first)?
        };
        let candidate = at + offset;
        if starts_with_at(hay, candidate + 1, rest, fold) {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

/// Position of the first `byte` in `hay`, eight bytes at a time.
fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(byte);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0usize;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|p| base + p)
}

/// Exact (wildcard-free) comparison of a template with `input`, case-sensitive.
pub(crate) fn template_eq(toks: &[Tok], input: &str, ctx: &Context) -> Option<bool> {
    let mut rest = input;
    for tok in toks {
        let piece = match tok {
            Tok::Lit(l) => &**l,
            Tok::Var(v) => v.resolve(ctx)?,
            Tok::Star => "*",
            Tok::One => "?",
        };
        let matched = rest.len() >= piece.len()
            && starts_with_at(rest.as_bytes(), 0, piece.as_bytes(), false);
        match rest.get(piece.len()..).filter(|_| matched) {
            Some(r) => rest = r,
            None => {
                // Keep going only to learn whether later variables resolve.
                return if vars_resolvable(toks, ctx) {
                    Some(false)
                } else {
                    None
                };
            }
        }
    }
    Some(rest.is_empty())
}

/// Case-insensitive (Unicode lowercase) comparison of a template with `input`.
pub(crate) fn template_eq_fold(toks: &[Tok], input: &str, ctx: &Context) -> Option<bool> {
    if !vars_resolvable(toks, ctx) {
        return None;
    }
    let pieces = toks.iter().map(|tok| match tok {
        Tok::Lit(l) => &**l,
        Tok::Var(v) => v.resolve(ctx).unwrap_or_default(),
        Tok::Star => "*",
        Tok::One => "?",
    });
    let ascii = input.is_ascii() && pieces.clone().all(str::is_ascii);
    if ascii {
        let total: usize = pieces.clone().map(str::len).sum();
        if total != input.len() {
            return Some(false);
        }
        let mut at = 0usize;
        for piece in pieces {
            if !starts_with_at(input.as_bytes(), at, piece.as_bytes(), true) {
                return Some(false);
            }
            at += piece.len();
        }
        return Some(true);
    }
    let left = pieces.flat_map(str::chars).flat_map(char::to_lowercase);
    let right = input.chars().flat_map(char::to_lowercase);
    Some(left.eq(right))
}

// ---------------------------------------------------------------------------------------------
// Actions

/// A compiled `Action`/`NotAction` entry, lowercased, with its service part hashed so that
/// patterns of other services are refused by one integer comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionPattern {
    kind: ActionKind,
    /// Hash of the literal service part; `None` when the service part holds a wildcard (or
    /// there is no colon).
    service: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ActionKind {
    /// `*`
    Any,
    /// No wildcard: `organizations:createaccount`.
    Exact(Box<str>),
    /// One trailing `*` and no other wildcard: `organizations:describe`.
    Prefix(Box<str>),
    /// Anything else.
    Glob(Glob),
}

/// The request's action as the matchers need it, computed once per decision.
pub(crate) struct ActionRef<'a> {
    /// ASCII-lowercased `service:name`.
    full: &'a str,
    service_hash: u64,
}

impl<'a> ActionRef<'a> {
    pub(crate) fn new(lowered: &'a str) -> ActionRef<'a> {
        let service = lowered
            .split_once(':')
            .map_or(lowered, |(service, _)| service);
        ActionRef {
            full: lowered,
            service_hash: crate::context::key_hash(service),
        }
    }

    /// The bit this action's service sets in a statement's service mask.
    pub(crate) fn service_bit(&self) -> u64 {
        1u64 << (self.service_hash % 64)
    }
}

impl ActionPattern {
    pub(crate) fn compile(text: &str) -> ActionPattern {
        let lower = text.to_ascii_lowercase();
        let wild = |c: char| c == '*' || c == '?';
        let service = match lower.split_once(':') {
            Some((svc, _)) if !svc.contains(wild) => Some(crate::context::key_hash(svc)),
            _ => None,
        };
        let kind = if lower == "*" {
            ActionKind::Any
        } else if !lower.contains(wild) {
            ActionKind::Exact(lower.into_boxed_str())
        } else {
            match lower.strip_suffix('*') {
                Some(head) if !head.contains(wild) => {
                    ActionKind::Prefix(head.to_owned().into_boxed_str())
                }
                _ => ActionKind::Glob(Glob::new(tokenize(
                    &lower,
                    Syntax {
                        wildcards: true,
                        variables: false,
                    },
                ))),
            }
        };
        ActionPattern { kind, service }
    }

    /// Whether this is `*`.
    pub(crate) fn is_any(&self) -> bool {
        self.kind == ActionKind::Any
    }

    /// Matches the request's (lowercased) action.
    #[inline]
    pub(crate) fn matches(&self, action: &ActionRef<'_>, ctx: &Context) -> bool {
        // A pattern with a literal service refuses other services by one integer comparison;
        // the byte comparison below confirms (hashes can collide).
        if let Some(hash) = self.service
            && hash != action.service_hash
        {
            return false;
        }
        let full = action.full.as_bytes();
        match &self.kind {
            ActionKind::Any => true,
            ActionKind::Exact(p) => same_bytes(full, p.as_bytes()),
            ActionKind::Prefix(p) => full
                .get(..p.len())
                .is_some_and(|head| same_bytes(head, p.as_bytes())),
            ActionKind::Glob(g) => g.matches(action.full, ctx, false).unwrap_or(false),
        }
    }
}

/// A request's action name, ASCII-lowercased once per decision (on the stack when it fits),
/// so that the pre-lowercased action patterns compare plain bytes.
pub(crate) struct LowerAction {
    buf: [u8; 128],
    len: usize,
    heap: Option<String>,
}

impl LowerAction {
    pub(crate) fn new(action: &str) -> LowerAction {
        let mut lowered = LowerAction {
            buf: [0; 128],
            len: 0,
            heap: None,
        };
        match lowered.buf.get_mut(..action.len()) {
            Some(dst) => {
                dst.copy_from_slice(action.as_bytes());
                dst.make_ascii_lowercase();
                lowered.len = action.len();
            }
            None => lowered.heap = Some(action.to_ascii_lowercase()),
        }
        lowered
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.heap {
            Some(s) => s,
            // ASCII lowercasing keeps UTF-8 valid.
            None => self
                .buf
                .get(..self.len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
        }
    }
}

/// The bit a service prefix contributes to a statement's service mask.
pub(crate) fn service_bit(service: &str) -> u64 {
    1u64 << (crate::context::key_hash(service) % 64)
}

/// The service-mask bits an action pattern can match: one bit for a literal service prefix,
/// all bits when the service part has a wildcard.
pub(crate) fn action_service_mask(text: &str) -> u64 {
    match text.split_once(':') {
        Some((service, _)) if !service.contains(['*', '?']) => service_bit(service),
        _ => u64::MAX,
    }
}

// ---------------------------------------------------------------------------------------------
// ARNs and resources

/// Where the (up to six) colon-separated components of an ARN-like string start: the first
/// five colons split, later colons belong to the resource component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArnSplit {
    starts: [u32; 6],
    count: u8,
    len: u32,
}

impl ArnSplit {
    pub(crate) fn new(s: &str) -> ArnSplit {
        let mut split = ArnSplit {
            starts: [0; 6],
            count: 1,
            len: 0,
        };
        let Ok(len) = u32::try_from(s.len()) else {
            return split;
        };
        split.len = len;
        let mut count = 1usize;
        for (i, b) in s.bytes().enumerate() {
            if b == b':' {
                let Some(slot) = split.starts.get_mut(count) else {
                    break;
                };
                *slot = u32::try_from(i + 1).unwrap_or(len);
                count += 1;
                if count == 6 {
                    break;
                }
            }
        }
        split.count = u8::try_from(count).unwrap_or(1);
        split
    }

    fn start(&self, i: usize) -> Option<usize> {
        (i < usize::from(self.count))
            .then(|| self.starts.get(i).map(|&v| v as usize))
            .flatten()
    }

    fn segment<'s>(&self, s: &'s str, i: usize) -> Option<&'s [u8]> {
        let a = self.start(i)?;
        let b = match self.start(i + 1) {
            Some(next) => next - 1,
            None => self.len as usize,
        };
        s.as_bytes().get(a..b)
    }

    fn rest<'s>(&self, s: &'s str, i: usize) -> Option<&'s [u8]> {
        s.as_bytes().get(self.start(i)?..)
    }
}

/// An ARN pattern split into its (up to six) components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    segments: Box<[Glob]>,
    /// The leading literal components joined with their colons (`arn:aws:iam::`), compared
    /// in one go; matching continues at component `skip`.
    prefix: Box<str>,
    skip: usize,
    vars: bool,
}

impl ArnPattern {
    /// Splits tokens at the first five literal colons.
    pub(crate) fn from_tokens(toks: Vec<Tok>) -> ArnPattern {
        let mut segments: Vec<Vec<Tok>> = vec![Vec::new()];
        for tok in toks {
            match tok {
                Tok::Lit(text) if segments.len() < 6 && text.contains(':') => {
                    let mut parts = text.split(':').peekable();
                    while let Some(part) = parts.next() {
                        if !part.is_empty()
                            && let Some(seg) = segments.last_mut()
                        {
                            seg.push(Tok::Lit(part.into()));
                        }
                        if parts.peek().is_some() {
                            if segments.len() < 6 {
                                segments.push(Vec::new());
                            } else if let Some(seg) = segments.last_mut() {
                                // Colons inside the resource component are literal.
                                seg.push(Tok::Lit(":".into()));
                            }
                        }
                    }
                }
                other => {
                    if let Some(seg) = segments.last_mut() {
                        seg.push(other);
                    }
                }
            }
        }
        let segments: Vec<Glob> = segments
            .into_iter()
            .map(|seg| Glob::new(merge_literals(seg)))
            .collect();
        let vars = segments.iter().any(|seg| has_vars(seg.tokens()));
        let mut prefix = String::new();
        let mut skip = 0usize;
        for seg in segments.iter().take(segments.len().saturating_sub(1)) {
            let Some(text) = seg.literal() else { break };
            prefix.push_str(text);
            prefix.push(':');
            skip += 1;
        }
        ArnPattern {
            segments: segments.into_boxed_slice(),
            prefix: prefix.into_boxed_str(),
            skip,
            vars,
        }
    }

    /// Whether the pattern holds a policy variable.
    pub(crate) fn has_vars(&self) -> bool {
        self.vars
    }

    /// Whether every variable in the pattern can be substituted.
    pub(crate) fn vars_resolvable(&self, ctx: &Context) -> bool {
        !self.vars
            || self
                .segments
                .iter()
                .all(|seg| vars_resolvable(seg.tokens(), ctx))
    }

    /// Matches component by component; the pattern's last component is matched against the
    /// rest of the ARN, so a trailing `*` in a short pattern (`arn:aws:s3:*`) spans colons.
    /// `require_full`: the input must have all six components (the `Arn…` operators).
    pub(crate) fn matches(
        &self,
        input: &str,
        split: &ArnSplit,
        ctx: &Context,
        require_full: bool,
    ) -> Option<bool> {
        if !self.vars_resolvable(ctx) {
            return None;
        }
        let k = self.segments.len();
        let count = usize::from(split.count);
        if count < k || (require_full && count < 6) {
            return Some(false);
        }
        if !starts_with_at(input.as_bytes(), 0, self.prefix.as_bytes(), false) {
            return Some(false);
        }
        for (i, seg) in self.segments.iter().enumerate().skip(self.skip) {
            if seg.is_any() {
                continue;
            }
            let text = if i + 1 == k {
                split.rest(input, i)
            } else {
                split.segment(input, i)
            };
            let Some(text) = text else { return Some(false) };
            if seg.matches_bytes(text, ctx, false)? {
                continue;
            }
            return Some(false);
        }
        Some(true)
    }
}

fn merge_literals(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    for tok in toks {
        match (out.last_mut(), tok) {
            (Some(Tok::Lit(prev)), Tok::Lit(next)) => {
                let mut s = String::with_capacity(prev.len() + next.len());
                s.push_str(prev);
                s.push_str(&next);
                *prev = s.into_boxed_str();
            }
            (_, tok) => out.push(tok),
        }
    }
    out
}

/// A compiled `Resource`/`NotResource` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourcePattern {
    /// `*`
    Any,
    /// No wildcard, no variable.
    Exact(Box<str>),
    /// An `arn:` pattern, matched per component.
    Arn(ArnPattern),
    /// Anything else: one wildcard match over the whole text.
    Plain(Glob),
}

impl ResourcePattern {
    pub(crate) fn compile(text: &str, variables: bool) -> ResourcePattern {
        if text == "*" {
            return ResourcePattern::Any;
        }
        let toks = tokenize(
            text,
            Syntax {
                wildcards: true,
                variables,
            },
        );
        if !has_wildcards(&toks) && !has_vars(&toks) {
            let literal: String = toks
                .iter()
                .filter_map(|t| match t {
                    Tok::Lit(l) => Some(&**l),
                    _ => None,
                })
                .collect();
            return ResourcePattern::Exact(literal.into_boxed_str());
        }
        if text.starts_with("arn:") {
            ResourcePattern::Arn(ArnPattern::from_tokens(toks))
        } else {
            ResourcePattern::Plain(Glob::new(toks))
        }
    }

    /// `None`: a variable could not be substituted.
    pub(crate) fn matches(&self, resource: &str, split: &ArnSplit, ctx: &Context) -> Option<bool> {
        match self {
            ResourcePattern::Any => Some(true),
            ResourcePattern::Exact(s) => Some(same_bytes(s.as_bytes(), resource.as_bytes())),
            ResourcePattern::Arn(p) => p.matches(resource, split, ctx, false),
            ResourcePattern::Plain(g) => {
                if !vars_resolvable(g.tokens(), ctx) {
                    return None;
                }
                g.matches(resource, ctx, false)
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    const PLAIN: Syntax = Syntax {
        wildcards: true,
        variables: false,
    };
    const VARS: Syntax = Syntax {
        wildcards: true,
        variables: true,
    };

    fn g(pattern: &str, input: &str) -> bool {
        glob(&tokenize(pattern, PLAIN), input, &Context::new(), false).unwrap()
    }

    #[test]
    fn glob_basics() {
        assert!(g("*", ""));
        assert!(g("*", "anything"));
        assert!(g("a*c", "abc"));
        assert!(g("a*c", "ac"));
        assert!(!g("a*c", "ab"));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "ac"));
        assert!(g("*b*b*", "abbab"));
        assert!(g("a*b*c", "aXbYbZc"));
        assert!(!g("a*b*c", "aXbYbZ"));
        assert!(g("?", "é"));
        assert!(!g("??", "é"));
        assert!(g("x*", "x"));
        assert!(!g("abc", "ABC"));
        assert!(g("**a", "ba"));
    }

    /// Reference matcher: plain recursion over characters.
    fn reference(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| reference(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && reference(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && reference(rest, &s[1..]),
        }
    }

    fn all_strings(alphabet: &[char], max: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..max {
            let mut next = Vec::new();
            for s in &frontier {
                for c in alphabet {
                    next.push(format!("{s}{c}"));
                }
            }
            out.extend(next.iter().cloned());
            frontier = next;
        }
        out
    }

    #[test]
    fn glob_agrees_with_the_reference_exhaustively() {
        let patterns = all_strings(&['a', 'b', '*', '?'], 5);
        let inputs = all_strings(&['a', 'b'], 6);
        let ctx = Context::new();
        for p in &patterns {
            let toks = tokenize(p, PLAIN);
            let compiled = Glob::new(toks.clone());
            let pc: Vec<char> = p.chars().collect();
            for s in &inputs {
                let sc: Vec<char> = s.chars().collect();
                let want = Some(reference(&pc, &sc));
                assert_eq!(glob(&toks, s, &ctx, false), want, "{p:?} vs {s:?}");
                assert_eq!(
                    compiled.matches(s, &ctx, false),
                    want,
                    "compiled {p:?} vs {s:?}"
                );
            }
        }
    }

    #[test]
    fn find_byte_and_find_from() {
        let hay = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for (i, b) in hay.iter().enumerate() {
            assert_eq!(find_byte(hay, *b), Some(i));
        }
        assert_eq!(find_byte(hay, b'!'), None);
        assert_eq!(find_byte(b"", b'a'), None);
        assert_eq!(
            find_byte(&[0x80, 0x81, 0x01, 0xff, 0, 0, 0, 0, 0x41], 0x41),
            Some(8)
        );
        assert_eq!(
            find_byte(&[0x80, 0x81, 0x01, 0xff, 0, 0, 0, 0, 0x41], 0x01),
            Some(2)
        );
        assert_eq!(find_from(b"xxabxab", 0, b"ab", false), Some(2));
        assert_eq!(find_from(b"xxabxab", 3, b"ab", false), Some(5));
        assert_eq!(find_from(b"xxabxab", 6, b"ab", false), None);
        assert_eq!(find_from(b"xxABxab", 0, b"ab", true), Some(2));
        assert_eq!(find_from(b"ab", 0, b"abc", false), None);
        assert_eq!(find_from(b"ab", 2, b"", false), Some(2));
    }

    #[test]
    fn glob_folds_when_asked() {
        let toks = tokenize("organizations:describe*", PLAIN);
        assert_eq!(
            glob(
                &toks,
                "Organizations:DescribeAccount",
                &Context::new(),
                true
            ),
            Some(true)
        );
    }

    #[test]
    fn variables_escapes_and_defaults() {
        let ctx = Context::new().with("aws:username", "alice");
        let t = tokenize("home/${aws:username}/${*}${?}${$}", VARS);
        assert_eq!(glob(&t, "home/alice/*?$", &ctx, false), Some(true));
        assert_eq!(glob(&t, "home/alice/x?$", &ctx, false), Some(false));
        let t = tokenize("${aws:PrincipalTag/team, 'company-wide'}", VARS);
        assert_eq!(glob(&t, "company-wide", &ctx, false), Some(true));
        let t = tokenize("${aws:PrincipalTag/team}", VARS);
        assert_eq!(glob(&t, "x", &ctx, false), None);
        // Variables off: literal text with wildcards.
        let t = tokenize("${aws:username}", PLAIN);
        assert_eq!(glob(&t, "${aws:username}", &ctx, false), Some(true));
        // Malformed variable: literal.
        let t = tokenize("${aws:username", VARS);
        assert_eq!(glob(&t, "${aws:username", &ctx, false), Some(true));
        // Default containing a brace.
        let t = tokenize("${a:b, 'x}y'}", VARS);
        assert_eq!(glob(&t, "x}y", &ctx, false), Some(true));
    }

    #[test]
    fn action_patterns() {
        let c = Context::new();
        assert!(ActionPattern::compile("*").is_any());
        assert!(matches!(
            ActionPattern::compile("s3:GetObject").kind,
            ActionKind::Exact(_)
        ));
        assert!(matches!(
            ActionPattern::compile("s3:Get*").kind,
            ActionKind::Prefix(_)
        ));
        assert!(matches!(
            ActionPattern::compile("s3:*Object").kind,
            ActionKind::Glob(_)
        ));
        assert!(matches!(
            ActionPattern::compile("s*").kind,
            ActionKind::Prefix(_)
        ));
        let m = |p: &str, a: &str| {
            let lowered = LowerAction::new(a);
            ActionPattern::compile(p).matches(&ActionRef::new(lowered.as_str()), &c)
        };
        assert!(m("S3:getobject", "s3:GetObject"));
        assert!(m("s3:Get*", "S3:GETOBJECT"));
        assert!(!m("s3:Get*", "s3:PutObject"));
        assert!(m("s3:*Object", "s3:PutObject"));
        assert!(m("s3:?etObject", "s3:GetObject"));
        assert!(m("*:Describe*", "ec2:DescribeVpcs"));
        assert!(!m("s3:GetObject", "s3:GetObjectAcl"));
        assert!(!m("s3:GetObject", "s4:GetObject"));
        assert!(!m("s3:Get*", "s33:GetObject"));
        assert!(m("s3*", "s3:GetObject"));
        assert!(m("s3:*", "s3:GetObject"));
        assert!(!m("s3:*", "s3"));
        assert!(m("s?:GetObject", "s3:GetObject"));
        assert!(!m("ec2:*", "s3:GetObject"));
        let long = format!("s3:{}", "A".repeat(200));
        assert!(m("s3:a*", &long));
        assert_eq!(LowerAction::new(&long).as_str(), long.to_ascii_lowercase());
        assert_eq!(action_service_mask("*:Describe*"), u64::MAX);
        assert_eq!(action_service_mask("S3:Get*"), service_bit("s3"));
    }

    fn r(pattern: &str, input: &str) -> Option<bool> {
        let ctx = Context::new().with("aws:username", "alice");
        ResourcePattern::compile(pattern, true).matches(input, &ArnSplit::new(input), &ctx)
    }

    #[test]
    fn resource_patterns() {
        assert_eq!(r("*", "arn:aws:s3:::b"), Some(true));
        assert_eq!(r("arn:aws:s3:::b", "arn:aws:s3:::b"), Some(true));
        assert_eq!(r("arn:aws:s3:::b", "arn:aws:s3:::B"), Some(false));
        assert_eq!(r("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y:z"), Some(true));
        assert_eq!(
            r("arn:aws:iam::*:role/x", "arn:aws:iam::123:role/x"),
            Some(true)
        );
        // A wildcard inside a component does not reach over a colon.
        assert_eq!(
            r("arn:aws:iam::*:role/x", "arn:aws:iam::1:2:role/x"),
            Some(false)
        );
        // A short pattern's trailing `*` does.
        assert_eq!(r("arn:aws:s3:*", "arn:aws:s3:::bucket/k"), Some(true));
        assert_eq!(r("arn:aws:*", "arn:aws:iam::1:user/a"), Some(true));
        assert_eq!(
            r(
                "arn:aws:ec2:*:*:instance/*",
                "arn:aws:ec2:us-east-1:1:instance/i-1"
            ),
            Some(true)
        );
        assert_eq!(
            r(
                "arn:aws:ec2:*:*:instance/*",
                "arn:aws:ec2:us-east-1:1:volume/v-1"
            ),
            Some(false)
        );
        assert_eq!(r("arn:aws:ec2:*:*:instance/*", "*"), Some(false));
        assert_eq!(
            r(
                "arn:aws:logs:*:*:log-group:/a/*:*",
                "arn:aws:logs:us-east-1:1:log-group:/a/b:log-stream:s"
            ),
            Some(true)
        );
        assert_eq!(
            r(
                "arn:aws:iam::1:user/${aws:username}",
                "arn:aws:iam::1:user/alice"
            ),
            Some(true)
        );
        assert_eq!(
            r(
                "arn:aws:iam::1:user/${aws:username}",
                "arn:aws:iam::1:user/bob"
            ),
            Some(false)
        );
        assert_eq!(
            r(
                "arn:aws:iam::1:user/${aws:userid}",
                "arn:aws:iam::1:user/bob"
            ),
            None
        );
        assert_eq!(r("plain*", "plainly"), Some(true));
    }

    #[test]
    fn arn_split_components() {
        let s = "arn:aws:logs:eu-west-1:1:log-group:a:log-stream:b";
        let split = ArnSplit::new(s);
        assert_eq!(split.count, 6);
        let parts: Vec<&[u8]> = (0..6).map(|i| split.segment(s, i).unwrap()).collect();
        assert_eq!(
            parts,
            [
                &b"arn"[..],
                b"aws",
                b"logs",
                b"eu-west-1",
                b"1",
                b"log-group:a:log-stream:b"
            ]
        );
        assert_eq!(
            split.rest(s, 3),
            Some(&b"eu-west-1:1:log-group:a:log-stream:b"[..])
        );
        let s = "arn:aws:s3:::b";
        let split = ArnSplit::new(s);
        let parts: Vec<&[u8]> = (0..6).map(|i| split.segment(s, i).unwrap()).collect();
        assert_eq!(parts, [&b"arn"[..], b"aws", b"s3", b"", b"", b"b"]);
        let s = "a:b";
        let split = ArnSplit::new(s);
        assert_eq!(split.count, 2);
        assert_eq!(split.segment(s, 1), Some(&b"b"[..]));
        assert_eq!(split.segment(s, 2), None);
        assert_eq!(ArnSplit::new("").segment("", 0), Some(&b""[..]));
    }

    #[test]
    fn arn_operators_need_six_components() {
        let p = ArnPattern::from_tokens(tokenize("arn:aws:iam::*:role/*", PLAIN));
        let c = Context::new();
        let m = |s: &str| p.matches(s, &ArnSplit::new(s), &c, true);
        assert_eq!(m("arn:aws:iam::1:role/a"), Some(true));
        assert_eq!(m("arn:aws:iam::1:user/a"), Some(false));
        assert_eq!(m("arn:aws:iam"), Some(false));
    }

    #[test]
    fn template_equality() {
        let ctx = Context::new().with("aws:username", "Alice");
        let t = tokenize("user/${aws:username}", VARS);
        assert_eq!(template_eq(&t, "user/Alice", &ctx), Some(true));
        assert_eq!(template_eq(&t, "user/alice", &ctx), Some(false));
        assert_eq!(template_eq_fold(&t, "USER/alice", &ctx), Some(true));
        assert_eq!(template_eq_fold(&t, "USER/alicex", &ctx), Some(false));
        let t = tokenize("ÄRGER", VARS);
        assert_eq!(template_eq_fold(&t, "ärger", &ctx), Some(true));
        let t = tokenize("${aws:nope}", VARS);
        assert_eq!(template_eq(&t, "x", &ctx), None);
        assert_eq!(template_eq_fold(&t, "x", &ctx), None);
    }
}

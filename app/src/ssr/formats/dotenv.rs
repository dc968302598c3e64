//! The dotenv grammar (python-dotenv's) and `${NAME}` expansion from earlier entries.

use super::*;
use std::collections::{HashMap, HashSet};
use zeroize::Zeroizing;

/// Whitespace that does not end a line.
pub(super) fn is_blank(c: char) -> bool {
    c.is_whitespace() && c != '\n' && c != '\r'
}

/// A position in the text, counting lines (1-based).
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn eat_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        self.text.get(start..self.pos).unwrap_or("")
    }
}

/// `text` with CRLF and lone CR turned into LF (as Python's text mode reads a file, and as a
/// pasted value is meant), in a zeroizing copy.
pub fn lf_line_ends(text: &str) -> Zeroizing<String> {
    let mut normalized = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            normalized.push('\n');
        } else {
            normalized.push(c);
        }
    }
    normalized
}

/// Reads dotenv lines the way python-dotenv does, then expands `${…}` (see the module docs).
pub(super) fn parse_dotenv(text: &str) -> Result<Vec<RawEntry>, ParseError> {
    // Like Python's text mode: CRLF and lone CR become LF before anything else.
    let normalized = lf_line_ends(text);

    let mut cur = Cursor { text: &normalized, pos: 0, line: 1 };
    let mut entries: Vec<RawEntry> = Vec::new();
    let mut defined: HashSet<&str> = HashSet::new();
    loop {
        cur.eat_while(char::is_whitespace);
        let Some(first) = cur.peek() else { break };
        let line = cur.line;
        if first == '#' {
            cur.eat_while(|c| c != '\n');
            continue;
        }
        if let Some(after) = cur.rest().strip_prefix("export") {
            if after.starts_with(is_blank) {
                cur.pos += "export".len();
                cur.eat_while(is_blank);
            }
        }
        let key = if cur.peek() == Some('\'') {
            cur.bump();
            let key = cur.eat_while(|c| c != '\'');
            if cur.bump() != Some('\'') {
                return Err(error(line, NOT_KEY_VALUE));
            }
            key
        } else {
            cur.eat_while(|c| c != '=' && c != '#' && !c.is_whitespace())
        };
        cur.eat_while(is_blank);
        if key.is_empty() || cur.bump() != Some('=') {
            return Err(error(line, NOT_KEY_VALUE));
        }
        let blank_after_equals = !cur.eat_while(is_blank).is_empty();
        let value = match cur.peek() {
            // `KEY= # comment` is an empty value; `KEY=#x` is the value `#x`.
            Some('#') if blank_after_equals => Zeroizing::new(String::new()),
            Some(quote @ ('"' | '\'')) => quoted_value(&mut cur, quote, line)?,
            None | Some('\n') => Zeroizing::new(String::new()),
            Some(_) => unquoted_value(&mut cur),
        };
        cur.eat_while(is_blank);
        if cur.peek() == Some('#') {
            cur.eat_while(|c| c != '\n');
        }
        if !matches!(cur.peek(), None | Some('\n')) {
            return Err(error(cur.line, TEXT_AFTER_QUOTE));
        }
        // Refused while reading, before any expansion: the expansions are what cost.
        if entries.len() == MAX_ENTRIES {
            return Err(error(line, TOO_MANY_ENTRIES));
        }
        if !defined.insert(key) {
            return Err(error(line, DUPLICATE_KEY));
        }
        entries.push(RawEntry { line, key: key.to_owned(), value });
    }

    // Each name is defined once (duplicates were refused), so a map of the
    // entries seen so far finds what `${NAME}` refers to in one step.
    let mut earlier: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    let mut total = 0usize;
    for i in 0..entries.len() {
        // No value may be longer than 64 KiB: neither may the text it is expanded from.
        if entries[i].value.len() > MAX_VALUE_BYTES {
            return Err(error(entries[i].line, VALUE_TOO_LONG));
        }
        if entries[i].value.contains("${") {
            let lookup = |name: &str| earlier.get(name).map(|&j| entries[j].value.as_str());
            let expanded = interpolate(&entries[i].value, lookup).map_err(|reason| error(entries[i].line, reason))?;
            entries[i].value = expanded;
        }
        total += entries[i].value.len();
        if total > MAX_PARSED_BYTES {
            return Err(error(entries[i].line, TOO_MUCH_EXPANDED));
        }
        earlier.insert(entries[i].key.clone(), i);
    }
    Ok(entries)
}

/// A quoted value starting at the cursor's opening quote; may span lines.
pub(super) fn quoted_value(cur: &mut Cursor, quote: char, line: usize) -> Result<Zeroizing<String>, ParseError> {
    cur.bump();
    let start = cur.pos;
    let end = loop {
        let here = cur.pos;
        match cur.bump() {
            None => return Err(error(line, UNTERMINATED_QUOTE)),
            // A backslash always takes the next character with it (as in python-dotenv).
            Some('\\') => {
                if cur.bump().is_none() {
                    return Err(error(line, UNTERMINATED_QUOTE));
                }
            }
            Some(c) if c == quote => break here,
            Some(_) => {}
        }
    };
    let raw = cur.text.get(start..end).unwrap_or("");
    let mut out = Zeroizing::new(String::with_capacity(raw.len()));
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            out.push('\\');
            break;
        };
        let decoded = match (quote, next) {
            (_, '\\') => Some('\\'),
            (_, '\'') => Some('\''),
            ('"', '"') => Some('"'),
            ('"', 'a') => Some('\x07'),
            ('"', 'b') => Some('\x08'),
            ('"', 'f') => Some('\x0c'),
            ('"', 'n') => Some('\n'),
            ('"', 'r') => Some('\r'),
            ('"', 't') => Some('\t'),
            ('"', 'v') => Some('\x0b'),
            _ => None,
        };
        match decoded {
            Some(d) => out.push(d),
            None => {
                out.push('\\');
                out.push(next);
            }
        }
    }
    Ok(out)
}

/// The rest of the line, cut at the first `#` that follows whitespace, then trimmed at the end
/// (python-dotenv: `re.sub(r"\s+#.*", "", value).rstrip()`).
pub(super) fn unquoted_value(cur: &mut Cursor) -> Zeroizing<String> {
    let raw = cur.eat_while(|c| c != '\n');
    let mut end = raw.len();
    let mut blank_run_start = None;
    for (i, c) in raw.char_indices() {
        if c == '#' {
            if let Some(start) = blank_run_start {
                end = start;
                break;
            }
        }
        if c.is_whitespace() {
            blank_run_start = blank_run_start.or(Some(i));
        } else {
            blank_run_start = None;
        }
    }
    Zeroizing::new(raw.get(..end).unwrap_or("").trim_end().to_owned())
}

/// python-dotenv's `${NAME}` / `${NAME:-default}` expansion, looking names up only in `earlier`.
/// Fails on a name undefined there without a default, and as soon as the value outgrows what a
/// secret may hold: each line could otherwise multiply the one before it (`B=${A}${A}…`) until
/// the server runs out of memory.
pub(super) fn interpolate<'a>(
    value: &str,
    earlier: impl Fn(&str) -> Option<&'a str>,
) -> Result<Zeroizing<String>, &'static str> {
    let mut out = Buf::with_capacity(value.len().min(MAX_VALUE_BYTES));
    let mut rest = value;
    let push = |out: &mut Buf, text: &str| {
        if out.0.len() + text.len() > MAX_VALUE_BYTES {
            return Err(VALUE_TOO_LONG);
        }
        out.push_str(text);
        Ok(())
    };
    while let Some(at) = rest.find("${") {
        let after = rest.get(at + 2..).unwrap_or("");
        match variable_reference(after) {
            Ok((name, default, used)) => {
                push(&mut out, rest.get(..at).unwrap_or(""))?;
                let defined = earlier(name);
                push(&mut out, defined.or(default).ok_or(UNDEFINED_VARIABLE)?)?;
                rest = after.get(used..).unwrap_or("");
            }
            // Every `${` before `stop` fails the same way (see `variable_reference`):
            // that text is kept as it is, and the search goes on after it, so each
            // byte is looked at a bounded number of times (`${${${…` is no CPU bomb).
            Err(stop) => {
                let keep = at + 2 + stop;
                push(&mut out, rest.get(..keep).unwrap_or(rest))?;
                rest = rest.get(keep..).unwrap_or("");
            }
        }
    }
    push(&mut out, rest)?;
    Ok(out.0)
}

/// Matches python-dotenv's `\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}` on the text after
/// `${`: the name, the default, and how many bytes were used. When it does not match, `Err`
/// says how far no `${` can match either: the name of any `${` before the first `}` or `:`
/// ends at that same place and fails the same way; and with no `}` after it, nothing later
/// can match at all.
pub(super) fn variable_reference(after: &str) -> Result<(&str, Option<&str>, usize), usize> {
    let Some(name_end) = after.find(['}', ':']) else { return Err(after.len()) };
    let name = after.get(..name_end).unwrap_or("");
    let tail = after.get(name_end..).unwrap_or("");
    if tail.starts_with('}') {
        return Ok((name, None, name_end + 1));
    }
    let default_start = name_end + ":-".len();
    if !tail.starts_with(":-") {
        return Err(name_end);
    }
    let Some(default_len) = after.get(default_start..).and_then(|d| d.find('}')) else { return Err(after.len()) };
    Ok((name, after.get(default_start..default_start + default_len), default_start + default_len + 1))
}

//! The JSON object reader: members in document order, values zeroized.

use super::*;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::fmt;
use zeroize::Zeroizing;

/// The object's members in document order, with values in zeroizing strings.
pub(super) struct JsonPairs(Vec<(String, Zeroizing<String>)>);

impl<'de> Deserialize<'de> for JsonPairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = JsonPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = Zeroizing::new(map.next_value::<String>()?);
                    pairs.push((key, value));
                }
                Ok(JsonPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

pub(super) fn parse_json(text: &str) -> Result<Vec<RawEntry>, ParseError> {
    let JsonPairs(pairs) = serde_json::from_str(text).map_err(|e| {
        let reason = if e.is_data() { NOT_JSON_OBJECT } else { NOT_JSON };
        error(e.line().max(1), reason)
    })?;
    let lines = json_key_lines(text);
    Ok(pairs
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| RawEntry { line: lines.get(i).copied().unwrap_or(1), key, value })
        .collect())
}

/// The line of each member key of the top-level object, in order. The text is valid JSON (serde_json
/// accepted it), so tracking strings and nesting is enough.
pub(super) fn json_key_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth, mut in_string, mut escaped, mut expect_key) = (1, 0usize, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                if depth == 1 && expect_key {
                    lines.push(line);
                    expect_key = false;
                }
                in_string = true;
            }
            '{' | '[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect_key = true,
            _ => {}
        }
    }
    lines
}

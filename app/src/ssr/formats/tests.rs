use super::*;
use crate::domain::{SecretKey, SecretValue};
use base64::engine::general_purpose::STANDARD;

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n";

/// Sorted by key, as callers pass them.
fn tricky() -> Vec<(SecretKey, SecretValue)> {
    let values: &[(&str, &str)] = &[
        ("A_PEM", PEM),
        ("B_UNICODE", "pässwörd ✓ 日本"),
        ("C_EQUALS", "a=b=c"),
        ("D_QUOTES", "say \"hi\" and 'bye'"),
        ("E_BACKSLASH", "back\\slash and trailing \\"),
        ("F_DOLLARS", "$HOME and ${HOME} and $(whoami)"),
        ("G_HASH", "# not a comment"),
        ("H_SPACES", "  leading and trailing spaces  "),
        ("I_TAB", "tab\there"),
        ("J_CRLF", "crlf\r\ninside\rand lone cr"),
        ("K_TRICKY_DOLLARS", "$${X} ${=:-$} ${A:-b} ${ $} $"),
        ("L_ESCAPE_LOOKALIKES", "\\n \\\" \\$ \\x41 \\"),
        ("M_BRACES", "{\"json\": true}"),
        ("N_CONTROL", "bell\x07 vt\x0b ff\x0c nul\0 del\x7f"),
        ("_", "x"),
    ];
    values.iter().map(|(k, v)| (SecretKey::parse(k).unwrap(), SecretValue::parse((*v).to_owned()).unwrap())).collect()
}

fn one(key: &str, value: &str) -> Vec<(SecretKey, SecretValue)> {
    vec![(SecretKey::parse(key).unwrap(), SecretValue::parse(value.to_owned()).unwrap())]
}

fn pairs(parsed: &Parsed) -> Vec<(String, String)> {
    parsed.entries.iter().map(|e| (e.key.to_string(), e.value.expose().to_owned())).collect()
}

fn pairs_of(secrets: &[(SecretKey, SecretValue)]) -> Vec<(String, String)> {
    secrets.iter().map(|(k, v)| (k.to_string(), v.expose().to_owned())).collect()
}

fn values(text: &str) -> Vec<(String, String)> {
    pairs(&parse(text, None).unwrap())
}

fn err(text: &str, format: Option<Format>) -> ParseError {
    parse(text, format).unwrap_err()
}

#[test]
fn every_format_round_trips_the_tricky_values_byte_for_byte() {
    let secrets = tricky();
    for format in Format::IMPORTS {
        let text = export(format, &secrets);
        let parsed = parse(&text, None).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(parsed.format, format);
        assert_eq!(pairs(&parsed), pairs_of(&secrets), "{format}");
        let again: Vec<_> = parsed.entries.into_iter().map(|e| (e.key, e.value)).collect();
        assert_eq!(*export(format, &again), *text, "{format}");
    }
}

#[test]
fn an_explicit_format_reads_the_same_values_as_detection() {
    let secrets = tricky();
    for format in Format::IMPORTS {
        let parsed = parse(&export(format, &secrets), Some(format)).unwrap();
        assert_eq!(parsed.format, format);
        assert_eq!(pairs(&parsed), pairs_of(&secrets), "{format}");
    }
}

#[test]
fn entries_of_a_dotenv_export_are_numbered_one_per_line() {
    let parsed = parse(&export(Format::Dotenv, &tricky()), None).unwrap();
    let lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
    assert_eq!(lines, (1..=tricky().len()).collect::<Vec<_>>());
}

#[test]
fn text_exports_have_one_line_per_secret_and_end_with_a_newline() {
    let secrets = tricky();
    for format in [Format::Kestra, Format::Dotenv, Format::Prefect] {
        let text = export(format, &secrets);
        assert_eq!(text.lines().count(), secrets.len(), "{format}");
        assert!(text.ends_with('\n') && !text.contains('\r'), "{format}");
    }
}

#[test]
fn kestra_lines_never_wrap_even_for_a_5_kb_value_and_decode_back() {
    let big = "0123456789abcdef\n".repeat(300);
    let text = export(Format::Kestra, &one("BIG", &big));
    assert_eq!(text.matches('\n').count(), 1);
    let encoded = text.strip_prefix("SECRET_BIG=").unwrap().strip_suffix('\n').unwrap();
    assert!(encoded.len() > 6000);
    assert_eq!(STANDARD.decode(encoded).unwrap(), big.as_bytes());
    assert_eq!(values(&text), vec![("BIG".to_owned(), big)]);
}

#[test]
fn kestra_uses_the_standard_alphabet_with_padding() {
    assert_eq!(*export(Format::Kestra, &one("K", "a")), "SECRET_K=YQ==\n");
    assert_eq!(*export(Format::Kestra, &one("K", "\u{fb}\u{ff}")), "SECRET_K=w7vDvw==\n");
    assert_eq!(*export(Format::Kestra, &one("K", "??>")), "SECRET_K=Pz8+\n");
}

#[test]
fn dotenv_export_double_quotes_and_escapes_as_documented() {
    let cases = [
        ("plain", r#"K="plain""#),
        ("a\\b\"c'd", r#"K="a\\b\"c'd""#),
        ("l1\nl2\r\n\tx", r#"K="l1\nl2\r\n\tx""#),
        ("$HOME ${HOME} $(x) $", r#"K="$HOME ${=:-$}{HOME} $(x) $""#),
        ("$${X}", r#"K="$${=:-$}{X}""#),
        ("# = ✓", r##"K="# = ✓""##),
    ];
    for (value, line) in cases {
        assert_eq!(*export(Format::Dotenv, &one("K", value)), format!("{line}\n"), "{value:?}");
    }
}

#[test]
fn prefect_export_is_a_literal_of_a_literal_without_dollars_behind_the_prefix() {
    let cases = [
        ("plain", r#"K="'\\'plain\\''""#),
        ("5432", r#"K="'\\'5432\\''""#),
        ("$HOME", r#"K="'\\'\\\\x24HOME\\''""#),
        ("it's", r#"K="'\\'it\\\\\\'s\\''""#),
    ];
    for (value, line) in cases {
        assert_eq!(*export(Format::Prefect, &one("K", value)), format!("{PREFECT_PREFIX}{line}\n"), "{value:?}");
    }
}

#[test]
fn a_file_whose_lines_multiply_each_other_stops_at_the_value_limit() {
    let mut text = format!("A={}\n", "a".repeat(16));
    for (name, prev) in ["B", "C", "D", "E", "F", "G", "H", "I"].iter().zip(["A", "B", "C", "D", "E", "F", "G", "H"]) {
        text.push_str(&format!("{name}={}\n", format!("${{{prev}}}").repeat(16)));
    }
    assert!(text.len() < 1024);
    let e = parse(&text, None).unwrap_err();
    assert_eq!((e.line, e.reason), (5, VALUE_TOO_LONG));
    assert_eq!(parse(&"A=x\n".repeat(300_000), None).unwrap_err().reason, FILE_TOO_LARGE);
}

#[test]
fn shell_export_single_quotes_everything_and_is_export_only() {
    let text = export(Format::Shell, &one("K", "it's $(x) `y` \\ \n\n"));
    assert_eq!(*text, "export K='it'\\''s $(x) `y` \\ \n\n'\n");
    assert_eq!(parse(&text, Some(Format::Shell)).unwrap_err(), error(0, SHELL_EXPORT_ONLY));
    let nul = one("N", "a\0b");
    assert_eq!(unrepresentable(Format::Shell, nul.iter().map(|(k, v)| (k, v))).map(|k| k.as_str()), Some("N"));
    assert_eq!(unrepresentable(Format::Json, nul.iter().map(|(k, v)| (k, v))), None);
}

#[test]
fn an_import_is_bounded_in_entries_and_expanded_bytes_and_refuses_duplicates_before_expanding() {
    let many: String = (0..=MAX_ENTRIES).map(|i| format!("K{i}=v\n")).collect();
    assert_eq!(err(&many, None), error(MAX_ENTRIES + 1, TOO_MANY_ENTRIES));
    let just: String = (0..MAX_ENTRIES).map(|i| format!("K{i}=v\n")).collect();
    assert_eq!(parse(&just, None).unwrap().entries.len(), MAX_ENTRIES);
    let big = format!("X={}\n", "x".repeat(MAX_VALUE_BYTES - 1));
    let wide: String = big.clone() + &(0..100).map(|i| format!("B{i}=${{X}}\n")).collect::<String>();
    assert_eq!(err(&wide, None), error(65, TOO_MUCH_EXPANDED));
    assert_eq!(err(&format!("{big}Y=1\nY=${{X}}${{X}}\n"), None), error(3, DUPLICATE_KEY));
    // A chain of 5,000 references, each to the line before, is read with one lookup each.
    let chain: String = std::iter::once("K0=v\n".to_owned())
        .chain((1..MAX_ENTRIES).map(|i| format!("K{i}=${{K{}}}\n", i - 1)))
        .collect();
    assert!(parse(&chain, None).unwrap().entries.iter().all(|e| e.value.expose() == "v"));
}

#[test]
fn unclosed_references_are_read_in_one_pass_and_kept_as_they_are() {
    // Each of these took minutes when every `${` rescanned the rest of the value.
    for (text, expected) in [
        (format!("X={}", "${".repeat(30_000)), "${".repeat(30_000)),
        (format!("X={}", "${a:-".repeat(12_000)), "${a:-".repeat(12_000)),
        (format!("X={}:x}}", "${".repeat(30_000)), format!("{}:x}}", "${".repeat(30_000))),
    ] {
        assert_eq!(values(&text)[0].1, expected);
    }
    assert_eq!(values("A=1\nX=${A:x}${A}${:-d}${A")[1].1, "${A:x}1d${A");
    let long = format!("X={}", "${".repeat(40_000));
    assert_eq!(err(&long, None), error(1, VALUE_TOO_LONG), "a raw value over 64 KiB");
}

#[test]
fn a_hand_written_prefect_file_reads_as_prefect_would() {
    let text = "PREFECT__CONTEXT__SECRETS__A=plain\nPREFECT__CONTEXT__SECRETS__B=\"'quoted'\"\n";
    let parsed = parse(text, None).unwrap();
    assert_eq!(pairs(&parsed), [("A".to_owned(), "plain".to_owned()), ("B".to_owned(), "quoted".to_owned())]);
    assert_eq!(from_python_literal(r"'a\x24\n\u00e9\''").unwrap().as_str(), "a$\né'");
    for not_one in ["'a'b'", "'a", "b'a'", r"'\q'", "'a\nb'"] {
        assert!(from_python_literal(not_one).is_none(), "{not_one}");
    }
}

#[test]
fn json_export_is_compact_ordered_and_identical_to_serde_json_escaping() {
    let secrets = tricky();
    let mut expected = String::from("{");
    for (i, (k, v)) in secrets.iter().enumerate() {
        if i > 0 {
            expected.push(',');
        }
        expected.push_str(&serde_json::to_string(k.as_str()).unwrap());
        expected.push(':');
        expected.push_str(&serde_json::to_string(v.expose()).unwrap());
    }
    expected.push_str("}\n");
    assert_eq!(*export(Format::Json, &secrets), expected);
    assert_eq!(*export(Format::Json, &one("B", "2")), "{\"B\":\"2\"}\n");
    let all_controls: String = (0u8..0x20).map(char::from).collect();
    let text = export(Format::Json, &one("C", &all_controls));
    assert_eq!(*text, format!("{{\"C\":{}}}\n", serde_json::to_string(&all_controls).unwrap()));
}

#[test]
fn exporting_nothing_gives_an_empty_file_or_an_empty_object() {
    assert_eq!(*export(Format::Dotenv, &[]), "");
    assert_eq!(*export(Format::Json, &[]), "{}\n");
}

#[test]
fn format_names_parse_and_an_unknown_name_lists_the_choices() {
    for format in Format::ALL {
        assert_eq!(format.as_str().parse::<Format>(), Ok(format));
    }
    assert_eq!("JSON".parse::<Format>(), Ok(Format::Json));
    let message = "yaml".parse::<Format>().unwrap_err().to_string();
    for name in ["kestra", "dotenv", "prefect", "json", "shell"] {
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn only_json_is_served_as_application_json() {
    assert_eq!(Format::Json.content_type(), "application/json");
    for format in [Format::Kestra, Format::Dotenv, Format::Prefect] {
        assert_eq!(format.content_type(), "text/plain; charset=utf-8");
    }
}

#[test]
fn comments_blank_lines_export_prefixes_spaces_and_crlf_are_accepted() {
    let text = "\u{feff}# header\r\n\r\n  export A=1\r\nB = 2 # note\r\n\t'C'=3\r\n   # indented\r\nexportD=4\n";
    let expected = [("A", "1"), ("B", "2"), ("C", "3"), ("exportD", "4")];
    let expected: Vec<_> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(values(text), expected);
    let lines: Vec<usize> = parse(text, None).unwrap().entries.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4, 5, 7]);
}

#[test]
fn unquoted_values_are_trimmed_and_end_at_a_hash_after_whitespace() {
    let text = "A=  a b  #c\nB=#kept\nC=x#kept too\nD=1\t# tab comment\nE=it's \"raw\" \\n\n";
    let got = values(text);
    let want = [("A", "a b"), ("B", "#kept"), ("C", "x#kept too"), ("D", "1"), ("E", "it's \"raw\" \\n")];
    assert_eq!(got, want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>());
}

#[test]
fn single_quotes_decode_only_backslash_and_quote_and_may_span_lines() {
    let got = values("A='a\\\\b \\' \\n \\\" x'\nB='line1\r\nline2' # c\nC=1\n");
    assert_eq!(got[0].1, "a\\b ' \\n \\\" x");
    assert_eq!(got[1].1, "line1\nline2");
    assert_eq!(parse("A='x'\nB='l1\nl2'\nC=1", None).unwrap().entries[2].line, 4);
}

#[test]
fn double_quotes_decode_the_python_dotenv_escapes_and_keep_others() {
    let got = values(r#"A="\\ \' \" \a \b \f \n \r \t \v \$ \x41 \u00e9""#);
    assert_eq!(got[0].1, "\\ ' \" \x07 \x08 \x0c \n \r \t \x0b \\$ \\x41 \\u00e9");
    assert_eq!(values("A=\"multi\nline\"")[0].1, "multi\nline");
}

#[test]
fn interpolation_uses_earlier_entries_and_defaults_like_python_dotenv() {
    let text =
        "HOST=db\nURL=\"pg://${HOST}:${PORT:-5432}/x\"\nLIT='${=:-$}{HOST} $HOST $${HOST}'\nODD=${ ${a:b} ${:-}|\n";
    let got = values(text);
    assert_eq!(got[1].1, "pg://db:5432/x");
    assert_eq!(got[2].1, "${HOST} $HOST $db");
    assert_eq!(got[3].1, "${ ${a:b} |");
}

#[test]
fn an_undefined_variable_is_an_error_rather_than_the_server_environment() {
    assert_eq!(err("A=1\nB=\"${PATH}\"", None), error(2, UNDEFINED_VARIABLE));
    assert_eq!(err("B=${LATER}\nLATER=x", None), error(1, UNDEFINED_VARIABLE));
}

#[test]
fn detection_needs_every_key_prefixed_and_every_kestra_value_decodable() {
    assert_eq!(parse("SECRET_A=YQ==\nSECRET_B=Yg==", None).unwrap().format, Format::Kestra);
    assert_eq!(parse("SECRET_A=YQ==\nB=Yg==", None).unwrap().format, Format::Dotenv);
    assert_eq!(parse("SECRET_A=YQ==\nSECRET_B=not base64", None).unwrap().format, Format::Dotenv);
    assert_eq!(parse("SECRET_A=//79", None).unwrap().format, Format::Dotenv);
    let prefect = parse("PREFECT__CONTEXT__SECRETS__A=1\nPREFECT__CONTEXT__SECRETS__B=2", None).unwrap();
    assert_eq!((prefect.format, pairs(&prefect)[1].clone()), (Format::Prefect, (String::from("B"), String::from("2"))));
    assert_eq!(parse("PREFECT__CONTEXT__SECRETS__A=1\nB=2", None).unwrap().format, Format::Dotenv);
    assert_eq!(parse("  \n {\"A\":\"1\"}", None).unwrap().format, Format::Json);
}

#[test]
fn json_entries_carry_the_line_of_their_key() {
    let text = "{\n  \"A\": \"x\",\n  \"B\": {\"nested\": 1} ,\n  \"C\":\n\"y\"}";
    assert_eq!(json_key_lines(text), [2, 3, 4]);
    let parsed = parse("{\n \"A\": \"a\\n\\\"q\\\"\",\n \"B\": \"b\"\n}", None).unwrap();
    let lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3]);
    assert_eq!(parsed.entries[0].value.expose(), "a\n\"q\"");
}

#[test]
fn every_error_names_its_line_and_none_of_the_content() {
    let big = format!("BIG=\"{}\"", "h".repeat(64 * 1024 + 1));
    let cases: Vec<(String, Option<Format>, usize, &str)> = vec![
        ("".into(), None, 0, NO_SECRETS),
        ("# only hunter2 comments\n\n".into(), None, 0, NO_SECRETS),
        ("{}".into(), None, 0, NO_SECRETS),
        ("A=1\nhunter2\n".into(), None, 2, NOT_KEY_VALUE),
        ("A=1\n=hunter2\n".into(), None, 2, NOT_KEY_VALUE),
        ("A=1\n'CANARY=hunter2\n".into(), None, 2, NOT_KEY_VALUE),
        ("A=1\n\nCANARY-KEY=hunter2".into(), None, 3, KEY_BAD_CHAR),
        ("9CANARY=hunter2".into(), None, 1, KEY_BAD_START),
        (format!("{}=hunter2", "K".repeat(129)), None, 1, KEY_TOO_LONG),
        ("A=1\nB=\"hunter2\nmore\n".into(), None, 2, UNTERMINATED_QUOTE),
        ("A='hunter2\\'".into(), None, 1, UNTERMINATED_QUOTE),
        ("A=1\nB=\"hunter2\" CANARY".into(), None, 2, TEXT_AFTER_QUOTE),
        ("A=\"x\nhunter2\" CANARY".into(), None, 2, TEXT_AFTER_QUOTE),
        ("A=1\nCANARY=".into(), None, 2, EMPTY_VALUE),
        ("A=1\nCANARY= # hunter2".into(), None, 2, EMPTY_VALUE),
        ("A=1\nCANARY=\"\"".into(), None, 2, EMPTY_VALUE),
        (format!("A=1\n{big}"), None, 2, VALUE_TOO_LONG),
        ("A=1\nCANARY=hunter2\nCANARY=hunter3".into(), None, 3, DUPLICATE_KEY),
        ("SECRET_A=YQ==\nSECRET_B=hunter2!".into(), Some(Format::Kestra), 2, NOT_BASE64),
        ("SECRET_A=YQ==\nSECRET_B=//79".into(), Some(Format::Kestra), 2, BASE64_NOT_UTF8),
        ("SECRET_A=YQ==\nCANARY=YQ==".into(), Some(Format::Kestra), 2, MISSING_KESTRA_PREFIX),
        ("SECRET_=YQ==".into(), Some(Format::Kestra), 1, KEY_EMPTY),
        ("SECRET_A=YQ==\nSECRET_A=Yg==".into(), None, 2, DUPLICATE_KEY),
        ("A=1\nCANARY=hunter2".into(), Some(Format::Prefect), 1, MISSING_PREFECT_PREFIX),
        ("{\"A\": \"1\",\n \"CANARY\": \"hunter2\",\n}".into(), None, 3, NOT_JSON),
        ("{\"A\": \"1\",\n \"CANARY\": 5}".into(), None, 2, NOT_JSON_OBJECT),
        ("[\"hunter2\"]".into(), Some(Format::Json), 1, NOT_JSON_OBJECT),
        ("{\"A\": \"1\",\n\n \"CANARY\": \"\"}".into(), None, 3, EMPTY_VALUE),
        ("{\"A\": \"1\",\n\n \"CANARY-X\": \"hunter2\"}".into(), None, 3, KEY_BAD_CHAR),
        ("{\"CANARY\": \"hunter2\",\n \"CANARY\": \"hunter3\"}".into(), None, 2, DUPLICATE_KEY),
    ];
    for (text, format, line, reason) in cases {
        let e = err(&text, format);
        assert_eq!(e, error(line, reason), "{:?}", text.get(..60.min(text.len())));
        let message = e.to_string();
        for content in ["hunter", "CANARY", "KKKK", "hhhh", "YQ", "//79"] {
            assert!(!message.contains(content), "{message}");
        }
    }
}

#[test]
fn debug_of_parsed_entries_never_shows_a_value() {
    let parsed = parse("A=hunter2-canary", None).unwrap();
    let shown = format!("{parsed:?}");
    assert!(shown.contains("\"A\"") && !shown.contains("hunter2"), "{shown}");
}

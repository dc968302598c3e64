//! Where a redirect may send the browser after a sign-in or a form post: a
//! path on this server, never another origin.

/// `input` if it is a path on this server's own origin: it starts with one
/// `/`, and holds no backslash and no control character (browsers drop tabs
/// and newlines from URLs, so `/\t/evil.example` would become
/// `//evil.example`, another host; many also read `\` as `/`). Server-function
/// URLs (`/api/…`) and sign-in steps (`/auth/…`, which would chain sign-ins)
/// are not pages to return to, nor is anything over 2,048 bytes.
pub fn local_path(input: &str) -> Option<&str> {
    let mut chars = input.chars();
    let same_origin = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !input.chars().any(|c| c == '\\' || c.is_control() || c == '\u{2028}' || c == '\u{2029}');
    let page = !input.starts_with("/api/") && !input.starts_with("/auth/") && input.len() <= 2048;
    (same_origin && page).then_some(input)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn pages_of_this_server_pass() {
        for ok in ["/", "/ns/company.team", "/audit?actor=alice&before=10", "/ns/a/B_KEY"] {
            assert_eq!(local_path(ok), Some(ok));
        }
    }

    #[test]
    fn anything_that_a_browser_could_read_as_another_origin_is_refused() {
        assert_eq!(local_path("/auth/oidc/login?next=/"), None, "sign-ins do not chain");
        assert_eq!(local_path(&format!("/{}", "a".repeat(2048))), None);
        for bad in [
            "",
            "ns/x",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/x\\y",
            "/\u{0}",
            "/\u{7f}/",
            "/\u{85}/",
            "https://evil.example",
            "/api/secrets/add",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}

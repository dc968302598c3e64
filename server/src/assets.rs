//! The browser assets (`target/site`: the wasm bundle, its JS glue, the CSS,
//! `public/`), embedded in the release binary so that it serves a styled,
//! hydrating page from any directory. `scripts/build.sh` writes brotli and
//! gzip copies beside each bundle file; the one the browser accepts is sent.
//!
//! Pages load the bundle under a name carrying a hash of its files
//! (`/pkg/strongroom-<hash>.js`, `…_bg.wasm`, `….css`): a new build means new
//! addresses, so those answers are `immutable` for a year and a second visit
//! asks for nothing. Everything else (the favicon, the bundle under its plain
//! name) carries an `ETag` and `no-cache`: an unchanged file costs a bodiless
//! 304. `STRONGROOM_SITE_ROOT` serves a directory instead (development), under
//! plain names, since its files change while the server runs (so does a debug
//! build's embedded site).

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use std::{borrow::Cow, path::PathBuf, sync::Arc};

#[derive(rust_embed::Embed)]
#[folder = "../target/site"]
// A fresh clone has no built site yet when `cargo test` or clippy compile this.
#[allow_missing = true]
struct Site;

/// The bundle's base name, as `scripts/build.sh` writes it.
const BUNDLE: &str = "strongroom";

/// Where assets come from: the binary itself, or a directory.
#[derive(Clone)]
pub struct Assets {
    dir: Option<Arc<PathBuf>>,
    /// The name pages load the bundle under (see the module's comment).
    name: Arc<str>,
}

impl Default for Assets {
    fn default() -> Self {
        Assets::new(None)
    }
}

/// One stored form of an asset (the file, or a compressed copy of it).
struct Found {
    bytes: Cow<'static, [u8]>,
    hash: [u8; 32],
}

impl Assets {
    pub fn new(dir: Option<PathBuf>) -> Assets {
        // A debug build reads the embedded files from disk at each request: they
        // may be rebuilt under it, so it never promises a hash.
        let name = match dir {
            Some(_) => BUNDLE.to_owned(),
            None if cfg!(debug_assertions) => BUNDLE.to_owned(),
            None => {
                use sha2::Digest as _;
                let mut all = sha2::Sha256::new();
                for suffix in [".js", "_bg.wasm", ".css"] {
                    if let Some(file) = Site::get(&format!("pkg/{BUNDLE}{suffix}")) {
                        all.update(file.metadata.sha256_hash());
                    }
                }
                format!("{BUNDLE}-{}", hex(&all.finalize()[..8]))
            }
        };
        Assets { dir: dir.map(Arc::new), name: name.into() }
    }

    /// The name pages load the bundle under: Leptos' `output_name`.
    pub fn bundle_name(&self) -> &str {
        &self.name
    }

    /// The stored file a request path names, and whether it may be cached for
    /// good: `pkg/strongroom-<hash>.js` is `pkg/strongroom.js`, immutable.
    fn resolve(&self, path: &str) -> (String, bool) {
        if let Some(rest) = path.strip_prefix("pkg/").and_then(|p| p.strip_prefix(&*self.name)) {
            if &*self.name != BUNDLE && matches!(rest, ".js" | "_bg.wasm" | ".css") {
                return (format!("pkg/{BUNDLE}{rest}"), true);
            }
        }
        (path.to_owned(), false)
    }

    fn find(&self, path: &str) -> Option<Found> {
        match &self.dir {
            None => Site::get(path).map(|f| Found { hash: f.metadata.sha256_hash(), bytes: f.data }),
            Some(dir) => {
                // Only plain relative names under the directory.
                if path.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
                    return None;
                }
                let bytes = std::fs::read(dir.join(path)).ok()?;
                use sha2::Digest as _;
                let hash = sha2::Sha256::digest(&bytes).into();
                Some(Found { hash, bytes: Cow::Owned(bytes) })
            }
        }
    }
}

/// `GET /pkg/…` and the files of `public/`.
pub async fn serve(State(assets): State<Assets>, req: Request) -> Response {
    let (path, immutable) = assets.resolve(req.uri().path().trim_start_matches('/'));
    let accepted = accepted(req.headers());
    // The precompressed copy the client takes, else the file itself.
    let choice = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(coding, _)| accepted.contains(coding))
        .find_map(|(coding, suffix)| assets.find(&format!("{path}{suffix}")).map(|f| (Some(coding), f)))
        .or_else(|| assets.find(&path).map(|f| (None, f)));
    let Some((coding, found)) = choice else {
        return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "not found").into_response();
    };
    // The coding is part of the tag: a br and a gzip copy are different bytes.
    let etag = format!("\"{}{}\"", hex(&found.hash[..16]), coding.map(|c| format!("-{c}")).unwrap_or_default());
    let mut headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    // The type of the file asked for, not of its compressed copy (`.br`).
    let mime = mime_guess::from_path(&path).first_or_octet_stream().to_string();
    let mime = if mime.starts_with("text/") { format!("{mime}; charset=utf-8") } else { mime };
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Some(coding) = coding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    (StatusCode::OK, headers, found.bytes).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The content codings `Accept-Encoding` allows (`q=0` excluded).
fn accepted(headers: &HeaderMap) -> Vec<&'static str> {
    let Some(value) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else { return Vec::new() };
    value
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next()?.to_ascii_lowercase();
            let refused =
                parts.any(|p| p.replace(' ', "").starts_with("q=0") && !p.contains(|c: char| ('1'..='9').contains(&c)));
            let known = match name.as_str() {
                "br" => "br",
                "gzip" => "gzip",
                _ => return None,
            };
            (!refused).then_some(known)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_its_refusals() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepted(&h)
        };
        assert_eq!(with("gzip, deflate, br, zstd"), ["gzip", "br"]);
        assert_eq!(with("br;q=0, gzip;q=0.5"), ["gzip"]);
        assert_eq!(with("BR;q=1.0"), ["br"]);
        assert_eq!(with("identity"), Vec::<&str>::new());
        assert!(accepted(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn only_the_bundle_under_its_hashed_name_is_immutable() {
        let assets = Assets { dir: None, name: "strongroom-0123456789abcdef".into() };
        for (suffix, file) in [(".js", "strongroom.js"), ("_bg.wasm", "strongroom_bg.wasm"), (".css", "strongroom.css")]
        {
            let asked = format!("pkg/strongroom-0123456789abcdef{suffix}");
            assert_eq!(assets.resolve(&asked), (format!("pkg/{file}"), true), "{asked}");
        }
        for plain in [
            "pkg/strongroom.js",
            "favicon.svg",
            "pkg/strongroom-0123456789abcdee.js",
            "pkg/strongroom-0123456789abcdef.txt",
        ] {
            assert_eq!(assets.resolve(plain), (plain.to_owned(), false), "{plain}");
        }
        // A development directory changes under the server: plain names only.
        let dev = Assets::new(Some(PathBuf::from("site")));
        assert_eq!(dev.bundle_name(), "strongroom");
        assert_eq!(dev.resolve("pkg/strongroom.js"), ("pkg/strongroom.js".to_owned(), false));
    }

    #[test]
    fn a_site_directory_serves_only_what_is_inside_it() {
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::write(site.join("pkg/app.css"), "body{}").unwrap();
        std::fs::write(parent.path().join("secret.txt"), "outside").unwrap();
        let assets = Assets::new(Some(site));
        assert_eq!(&*assets.find("pkg/app.css").unwrap().bytes, b"body{}");
        for outside in ["../secret.txt", "pkg/../../secret.txt", "/secret.txt", "pkg//app.css", "./pkg/app.css"] {
            assert!(assets.find(outside).is_none(), "{outside}");
        }
    }
}

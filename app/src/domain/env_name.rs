//! Environment variable names that steer programs: a secret of such a name,
//! put in a process's environment (by `strongroom run`, or by sourcing a
//! `shell` export), would let anyone who may edit the namespace — or any
//! namespace above it — run code, load a library, read a file or send
//! traffic elsewhere wherever the workload runs. Names are compared without
//! regard to case. A list of names always has gaps: `run --only` is the rule
//! that cannot be widened from the server. Two gaps no list closes: `make`
//! turns *every* environment variable into a make variable (a Makefile's own
//! `$(DEPLOY_CMD)` included), and `/proc/self/environ` is a file whose content
//! the secrets choose, so any variable naming a config file can feed a
//! program text of the editor's choosing.

/// Names starting with one of these.
#[rustfmt::skip]
pub const PREFIXES: &[&str] = &[
    "GIT_", "SSH_", "OPENSSH_", "JAVA_", "_JAVA_", "JDK_", "MAVEN_", "MVNW_", "GRADLE_", "NODE_", "NPM_CONFIG_",
    "YARN_", "COREPACK_", "PERL", "RUBY", "GEM_", "BUNDLE_", "RAKE", "IRB", "PYTHON", "PIP_", "UV_", "POETRY_",
    "PIPENV_", "CONDA", "PHP", "COMPOSER_", "R_LIBS", "R_PROFILE", "R_ENVIRON", "LD_", "DYLD_", "SSL", "OPENSSL_",
    "LESS", "BASH", "ZDOTDIR", "MALLOC_", "DOTNET_", "COMPLUS_", "XDG_", "LUA_", "CARGO_", "RUSTC", "RUSTDOC",
    "RUSTUP_", "RUSTFLAGS", "GOFLAGS", "GOROOT", "GOPATH", "GOTOOLCHAIN", "GOENV", "MAKE", "DOCKER_", "KUBE",
    "TERMINFO", "STRONGROOM_", "PSQL", "PGSERVICE", "PGSYSCONF", "PGPASSFILE", "PGSSL", "KRB5",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_CONTAINER_", "BOTO_CONFIG",
    "MYSQL_HOME", "MYSQL_TEST_LOGIN_FILE", "SYSTEM_", "XZ_", "ZSTD_", "GZIP", "BZIP", "_PYTHON", "PYTEST_", "TOX_",
    "DBUS_", "GSS_", "TCL_", "TK_LIBRARY",
];
/// Names containing one of these (`HTTPS_PROXY`, `no_proxy`, `SUDO_ASKPASS`, `GNUMAKEFLAGS`, …).
pub const PARTS: &[&str] = &["PROXY", "ASKPASS", "MAKEFLAGS"];
/// Names ending in one of these (`REQUESTS_CA_BUNDLE`, `MAVEN_OPTS`, `ASAN_OPTIONS`, `XZ_OPT`,
/// `LDFLAGS`, `ANT_ARGS`, `MANPAGER`, `GEMRC`, `KRB5_CONFIG`, `JAVACMD`, …).
#[rustfmt::skip]
pub const SUFFIXES: &[&str] = &[
    "_CA_BUNDLE", "_OPTS", "OPTIONS", "_OPT", "ADDOPTS", "FLAGS", "_ARGS", "PAGER", "RC", "_CONFIG", "_CONFIG_FILE",
    "CMD",
];
/// These names exactly (`make`'s built-in variables among them: make reads them from the environment).
#[rustfmt::skip]
pub const NAMES: &[&str] = &[
    "PATH", "HOME", "TMPDIR", "TMP", "TEMP", "SHELL", "ENV", "IFS", "CDPATH", "FPATH", "PS0", "PS1", "PS2", "PS3",
    "PS4", "SHELLOPTS", "PROMPT_COMMAND", "INPUTRC", "HISTFILE", "EDITOR", "VISUAL", "BROWSER", "TAR_OPTIONS",
    "MFLAGS", "GLIBC_TUNABLES", "GCONV_PATH", "LOCPATH", "NLSPATH", "HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN",
    "CLASSPATH", "CC", "CXX", "CPP", "LD", "AR", "AS", "CURL_HOME", "NETRC", "GNUPGHOME", "MANPATH", "MANOPT",
    "EXINIT", "VIMINIT", "MYVIMRC", "VIMRUNTIME", "EMACSLOADPATH", "TCLLIBPATH", "VIRTUAL_ENV", "RM", "LDLIBS",
    "LOADLIBES", "TARGET_ARCH", "OUTPUT_OPTION", "YACC", "LEX", "FC", "CO", "GET", "PC", "LINT", "MAKEINFO", "TEX",
    "LDSHARED",
];

/// Whether `name` is in the family above.
pub fn steers_programs(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    NAMES.contains(&upper.as_str())
        || PREFIXES.iter().any(|p| upper.starts_with(p))
        || PARTS.iter().any(|p| upper.contains(p))
        || SUFFIXES.iter().any(|p| upper.ends_with(p))
}

/// The family, as help texts print it.
pub fn family() -> String {
    let mut all: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    all.extend(PREFIXES.iter().map(|p| format!("{p}*")));
    all.extend(PARTS.iter().map(|p| format!("*{p}*")));
    all.extend(SUFFIXES.iter().map(|p| format!("*{p}")));
    all.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[rustfmt::skip]
    fn names_that_made_programs_run_code_in_an_attack_are_in_the_family() {
        for name in [
            "GIT_CONFIG_COUNT", "git_config_key_0", "GIT_SSH_COMMAND", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
            "JDK_JAVA_OPTIONS", "https_proxy", "HTTP_PROXY", "no_proxy", "ALL_PROXY", "NODE_OPTIONS",
            "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_PATH", "PERL5LIB", "PERL5OPT", "RUBYLIB", "RUBYOPT", "PYTHONPATH",
            "LD_PRELOAD", "DYLD_INSERT_LIBRARIES", "SSL_CERT_FILE", "SSLKEYLOGFILE", "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE", "LESSOPEN", "PAGER", "MANPAGER", "EDITOR", "VISUAL", "PROMPT_COMMAND", "BASH_ENV",
            "BASH_FUNC_x%%", "GLIBC_TUNABLES", "MALLOC_CONF", "HOME", "TMPDIR", "PATH", "path", "IFS",
            "STRONGROOM_SERVER", "SSH_ASKPASS", "SUDO_ASKPASS", "SSH_ASKPASS_REQUIRE", "TAR_OPTIONS", "CDPATH",
            "MAKEFLAGS", "PS1", "PS4", "MAVEN_OPTS", "GRADLE_OPTS", "RUSTC_WRAPPER", "CARGO_HOME", "GOFLAGS", "CC",
            "INPUTRC", "IRBRC", "RAKEOPT", "TERMINFO_DIRS", "TEMP", "UV_INDEX_URL", "ZDOTDIR", "GNUMAKEFLAGS", "RM",
            "LDLIBS", "PSQLRC", "PGSERVICEFILE", "PGPASSFILE", "KRB5_CONFIG", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "SYSTEM_WGETRC", "WGETRC", "GEMRC", "JAVACMD", "MVNW_REPOURL",
            "ANT_ARGS", "ASAN_OPTIONS", "XZ_OPT", "LDSHARED", "PGOPTIONS", "GIT_ASKPASS", "TARGET_ARCH",
            "_PYTHON_SYSCONFIGDATA_NAME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "DBUS_SESSION_BUS_ADDRESS",
            "GSS_MECH_CONFIG", "TCL_LIBRARY", "TOX_OVERRIDE",
        ] {
            assert!(steers_programs(name), "{name}");
        }
        for name in [
            "DB_PASSWORD", "db_password", "STRIPE_KEY", "API_TOKEN", "GITHUB_TOKEN", "HOMEPAGE_URL", "_", "PGPASSWORD",
            "PGHOST", "DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SLACK_WEBHOOK_URL",
        ] {
            assert!(!steers_programs(name), "{name}");
        }
    }
}

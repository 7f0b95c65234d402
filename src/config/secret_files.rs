//! Secrets from files: every secret key `K` of the configuration can be given as
//! `K_file` instead, the path of a file that holds the value, so that systemd
//! credentials (`LoadCredential=`, `$CREDENTIALS_DIRECTORY`) and Kubernetes
//! secrets mounted as files never pass through environment variables or the
//! config file.
//!
//! The rule, the same for every secret key:
//! - `K_file = "PATH"` holds the value of `K`; trailing line breaks are removed,
//!   and the file must hold exactly one non-empty line (at most 64 KiB).
//! - For a list of secrets (`server.auth_tokens`, `secrets`), `K_file` is one
//!   path whose file holds one value per line (blank lines skipped), or a list
//!   of paths, one value each.
//! - For a table of secrets (a generic destination's `headers`), `headers_file`
//!   is a table of the same names with paths: `{ "X-Api-Key" = "PATH" }`.
//! - A path may start with `$CREDENTIALS_DIRECTORY/`, which is replaced by the
//!   directory systemd gives a service with `LoadCredential=`.
//! - Giving both `K` and `K_file` is an error (a value of the built-in defaults
//!   does not count); so is the same header name in `headers` and `headers_file`.
//!
//! This runs on the merged layers (defaults < file < environment), before
//! deserialization, so `K_file` can come from any layer. Errors name the key
//! and the path, never what the file holds. It owns nothing else: the values it
//! reads are then validated like any other.

use std::io::Read as _;
use std::path::PathBuf;

use figment::providers::{Format as _, Toml};
use figment::value::{Dict, Map, Tag, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::validate::Problem;
use super::ConfigError;

/// Largest secret file read; a secret is a line, not a document.
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The variable systemd sets to a service's credentials directory.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// What a secret key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One string.
    One,
    /// One URL (checked here, so that a parse error never echoes the secret).
    Url,
    /// A list of strings.
    List,
    /// A table of names to strings (HTTP headers).
    Table,
}

/// Every secret key: the tables leading to it (`*` = any name) and its shape.
const SECRET_KEYS: &[(&[&str], &str, Shape)] = &[
    (&["store"], "url", Shape::One),
    (&["server"], "auth_tokens", Shape::List),
    (&["destinations", "*", "slack"], "url", Shape::Url),
    (&["destinations", "*", "ms_teams"], "url", Shape::Url),
    (&["destinations", "*", "splunk"], "token", Shape::One),
    (&["destinations", "*", "generic"], "url", Shape::Url),
    (&["destinations", "*", "generic"], "headers", Shape::Table),
    (&["destinations", "*", "generic", "auth"], "password", Shape::One),
    (&["destinations", "*", "generic", "auth"], "token", Shape::One),
    (&["destinations", "*", "generic", "auth"], "secret", Shape::One),
    (&["destinations", "*", "generic", "signing"], "secret", Shape::One),
    (&["destinations", "*", "generic", "signing"], "secrets", Shape::List),
    (&["sources", "*"], "secret", Shape::One),
    (&["sources", "*"], "secrets", Shape::List),
    (&["sources", "*"], "password", Shape::One),
    (&["sources", "*"], "token", Shape::One),
];

/// Every key that may be given as a file, dotted, `*` for any name (for the
/// documentation and its test).
pub fn file_keys() -> Vec<String> {
    SECRET_KEYS.iter().map(|(tables, key, _)| format!("{}.{key}_file", tables.join("."))).collect()
}

/// Replaces every `K_file` key of the merged layers by `K` holding the file's
/// content. Returns the figment unchanged when there is no such key (or when a
/// layer did not load, which extraction then reports).
pub fn resolve(figment: Figment) -> Result<Figment, ConfigError> {
    let Ok(mut data) = figment.data() else {
        return Ok(figment);
    };
    let metadata = figment.__metadata_map().unwrap_or_default();
    let defaults = Toml::string(super::DEFAULTS).metadata().name;
    let mut resolver = Resolver { metadata: &metadata, defaults: &defaults, problems: Vec::new(), changed: false };
    for dict in data.values_mut() {
        for (tables, key, shape) in SECRET_KEYS {
            resolver.walk(dict, tables, key, *shape, &mut Vec::new());
        }
    }
    if !resolver.problems.is_empty() {
        return Err(ConfigError::Invalid(resolver.problems));
    }
    if !resolver.changed {
        return Ok(figment);
    }
    Ok(Figment::from(Resolved { data, metadata }))
}

/// The merged layers with the files read: values keep their origin (so errors
/// still name the config file or variable they came from); values read from
/// files are attributed to this provider.
struct Resolved {
    data: Map<Profile, Dict>,
    metadata: Map<Tag, Metadata>,
}

impl Provider for Resolved {
    fn metadata(&self) -> Metadata {
        Metadata::named("a file named by a *_file key")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(self.data.clone())
    }

    fn __metadata_map(&self) -> Option<Map<Tag, Metadata>> {
        Some(self.metadata.clone())
    }
}

struct Resolver<'a> {
    metadata: &'a Map<Tag, Metadata>,
    defaults: &'a str,
    problems: Vec<Problem>,
    changed: bool,
}

impl Resolver<'_> {
    /// Follows `tables` down from `dict` (every name for `*`), then resolves `key`.
    fn walk(&mut self, dict: &mut Dict, tables: &[&str], key: &str, shape: Shape, path: &mut Vec<String>) {
        let Some((first, rest)) = tables.split_first() else {
            self.resolve_key(dict, key, shape, path);
            return;
        };
        for (name, value) in dict.iter_mut() {
            if let Value::Dict(_, child) = value {
                if *first == "*" || name == first {
                    path.push(name.clone());
                    self.walk(child, rest, key, shape, path);
                    path.pop();
                }
            }
        }
    }

    fn problem(&mut self, key: String, reason: String) {
        self.problems.push(Problem { key, reason });
    }

    /// Whether `value` is set by a layer other than the built-in defaults.
    fn set_by_user(&self, value: &Value) -> bool {
        let empty = match value {
            Value::Array(_, items) => items.is_empty(),
            Value::Dict(_, items) => items.is_empty(),
            _ => false,
        };
        let from_defaults = self.metadata.get(&value.tag()).is_some_and(|metadata| metadata.name == self.defaults);
        !empty && !from_defaults
    }

    fn resolve_key(&mut self, dict: &mut Dict, key: &str, shape: Shape, path: &[String]) {
        let file_key = format!("{key}_file");
        let Some(spec) = dict.remove(&file_key) else {
            return;
        };
        self.changed = true;
        let prefix = path.join(".");
        let named = format!("{prefix}.{file_key}");
        if shape != Shape::Table && dict.get(key).is_some_and(|value| self.set_by_user(value)) {
            self.problem(named, format!("set either `{key}` or `{file_key}`, not both"));
            return;
        }
        match (shape, spec) {
            (Shape::One, Value::String(_, file)) => {
                if let Some(value) = self.read_one(&named, &file) {
                    dict.insert(key.to_owned(), Value::from(value));
                }
            }
            (Shape::Url, Value::String(_, file)) => {
                if let Some(value) = self.read_one(&named, &file) {
                    match url::Url::parse(&value) {
                        Ok(_) => {
                            dict.insert(key.to_owned(), Value::from(value));
                        }
                        Err(error) => self.problem(named, format!("{file} does not hold a URL: {error}")),
                    }
                }
            }
            (Shape::List, Value::String(_, file)) => {
                if let Some(values) = self.read_lines(&named, &file) {
                    dict.insert(key.to_owned(), Value::from(values));
                }
            }
            (Shape::List, Value::Array(_, files)) => {
                let mut values = Vec::new();
                for (index, file) in files.iter().enumerate() {
                    let named = format!("{named}[{index}]");
                    match file {
                        Value::String(_, file) => values.extend(self.read_one(&named, file)),
                        _ => self.problem(named, "must be a file path".to_owned()),
                    }
                }
                dict.insert(key.to_owned(), Value::from(values));
            }
            (Shape::Table, Value::Dict(_, files)) => self.resolve_table(dict, key, &named, files),
            (Shape::One | Shape::Url, _) => self.problem(named, "must be a file path".to_owned()),
            (Shape::List, _) => self.problem(named, "must be a file path or a list of file paths".to_owned()),
            (Shape::Table, _) => {
                self.problem(named, format!("must be a table of names to file paths, like `{key}`"));
            }
        }
    }

    /// `headers_file = { NAME = PATH }` adds `headers.NAME`.
    fn resolve_table(&mut self, dict: &mut Dict, key: &str, named: &str, files: Dict) {
        let mut table = match dict.remove(key) {
            Some(Value::Dict(_, table)) => table,
            _ => Dict::new(),
        };
        for (name, file) in files {
            let entry = format!("{named}.{name}");
            if table.contains_key(&name) {
                self.problem(entry, format!("`{name}` is in both `{key}` and `{key}_file`"));
                continue;
            }
            match file {
                Value::String(_, file) => {
                    if let Some(value) = self.read_one(&entry, &file) {
                        table.insert(name, Value::from(value));
                    }
                }
                _ => self.problem(entry, "must be a file path".to_owned()),
            }
        }
        dict.insert(key.to_owned(), Value::from(table));
    }

    /// One value: the file's single line.
    fn read_one(&mut self, named: &str, file: &str) -> Option<String> {
        let (path, text) = self.read(named, file)?;
        let value = text.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            self.problem(named.to_owned(), format!("{} is empty", path.display()));
            None
        } else if value.contains(['\r', '\n']) {
            self.problem(
                named.to_owned(),
                format!("{} holds more than one line; this key takes one value", path.display()),
            );
            None
        } else {
            Some(value.to_owned())
        }
    }

    /// A list: one value per line, blank lines skipped.
    fn read_lines(&mut self, named: &str, file: &str) -> Option<Vec<String>> {
        let (path, text) = self.read(named, file)?;
        let values: Vec<String> = text
            .lines()
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| !line.trim().is_empty())
            .map(str::to_owned)
            .collect();
        if values.is_empty() {
            self.problem(named.to_owned(), format!("{} is empty", path.display()));
            return None;
        }
        Some(values)
    }

    /// The file's text; a problem naming the key and the path otherwise.
    fn read(&mut self, named: &str, file: &str) -> Option<(PathBuf, String)> {
        let path = match expand(file) {
            Ok(path) => path,
            Err(reason) => {
                self.problem(named.to_owned(), reason);
                return None;
            }
        };
        match read_limited(&path) {
            Ok(text) => Some((path, text)),
            Err(reason) => {
                self.problem(named.to_owned(), format!("{}: {reason}", path.display()));
                None
            }
        }
    }
}

/// The path a `*_file` value names, with a leading `$CREDENTIALS_DIRECTORY/`
/// (or `${CREDENTIALS_DIRECTORY}/`) replaced.
fn expand(file: &str) -> Result<PathBuf, String> {
    let rest = file.strip_prefix("$CREDENTIALS_DIRECTORY/").or_else(|| file.strip_prefix("${CREDENTIALS_DIRECTORY}/"));
    match rest {
        None if file.trim().is_empty() => Err("must be a file path, not empty".to_owned()),
        None => Ok(PathBuf::from(file)),
        Some(rest) => match std::env::var_os(CREDENTIALS_DIRECTORY).filter(|directory| !directory.is_empty()) {
            Some(directory) => Ok(PathBuf::from(directory).join(rest)),
            None => Err(format!(
                "{file} names ${CREDENTIALS_DIRECTORY}, which is not set (systemd sets it for a service with LoadCredential=)"
            )),
        },
    }
}

/// Reads at most [`MAX_SECRET_FILE`] bytes of UTF-8 text.
fn read_limited(path: &std::path::Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|error| format!("cannot read it: {error}"))?;
    let metadata = file.metadata().map_err(|error| format!("cannot read it: {error}"))?;
    if metadata.is_dir() {
        return Err("is a directory, not a file".to_owned());
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes).map_err(|error| format!("cannot read it: {error}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_SECRET_FILE {
        return Err(format!("is larger than {} KiB; a secret file holds one value", MAX_SECRET_FILE / 1024));
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_directory_paths_need_the_variable() {
        assert_eq!(expand("/run/keys/token"), Ok(PathBuf::from("/run/keys/token")));
        assert!(expand("  ").is_err());
    }

    #[test]
    fn every_secret_key_has_a_file_form() {
        let keys = file_keys();
        for key in
            ["store.url_file", "server.auth_tokens_file", "destinations.*.splunk.token_file", "sources.*.secrets_file"]
        {
            assert!(keys.contains(&key.to_owned()), "{key} in {keys:?}");
        }
    }
}

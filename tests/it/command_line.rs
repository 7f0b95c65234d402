//! The command line as an operator meets it: help on every flag, completions and
//! manual pages generated from the same definitions, `--version` naming the
//! commit, `messages list` as a table or JSON with relative times, and unknown
//! destination names answered with the known ones.

use std::path::Path;
use std::process::Output;

use chrono::{Duration, Utc};
use flockrelay::notify::ChannelKind;
use flockrelay::store::{NewAlert, NewMessage};
use serde_json::Value;

use crate::support::{binary, root};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut std::process::Command) -> Output {
    command.output().expect("the binary runs")
}

/// Every command of the tree as its words (`["messages", "list"]`), the root as `[]`.
fn commands(command: &clap::Command, path: &mut Vec<String>, all: &mut Vec<Vec<String>>) {
    all.push(path.clone());
    for sub in command.get_subcommands() {
        path.push(sub.get_name().to_owned());
        commands(sub, path, all);
        path.pop();
    }
}

fn every_command() -> Vec<Vec<String>> {
    let mut all = Vec::new();
    commands(&flockrelay::cli::docs::command(), &mut Vec::new(), &mut all);
    all
}

#[test]
fn every_subcommand_flag_and_argument_has_help() {
    let mut missing = Vec::new();
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if command.get_about().is_none() && !path.is_empty() {
            missing.push(format!("`{path}` has no description"));
        }
        for argument in command.get_arguments() {
            let name = argument.get_id().as_str();
            if argument.get_help().is_none() && argument.get_long_help().is_none() {
                missing.push(format!("`{path} {name}` has no help"));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()).trim(), missing);
        }
    }
    walk(&flockrelay::cli::docs::command(), "", &mut missing);
    assert!(missing.is_empty(), "{missing:#?}");
    assert!(every_command().len() >= 12, "the walk saw the whole tree: {:?}", every_command());
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let output = run(binary().args(["completions", shell]));
        let script = text(&output.stdout);
        assert!(output.status.success(), "{shell}: {}", text(&output.stderr));
        for words in every_command().iter().filter(|words| !words.is_empty()) {
            let name = words.last().map(String::as_str).unwrap_or_default();
            assert!(script.contains(name), "{shell} completion lacks `{}`", words.join(" "));
        }
        assert!(script.contains("since") && script.contains("destination"), "{shell} completes flags too");
    }
    // The bash script loads and registers itself.
    let script = text(&run(binary().args(["completions", "bash"])).stdout);
    let output = run(std::process::Command::new("bash").args(["-c", &format!("{script}\ncomplete -p flockrelay")]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("flockrelay"), "{}", text(&output.stdout));
}

#[test]
fn man_pages_cover_every_command() {
    let output = run(binary().arg("man"));
    let page = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(page.starts_with(".ie") || page.contains(".TH flockrelay 1"), "a roff page: {page}");
    for words in every_command().iter().filter(|words| words.len() == 1) {
        assert!(page.contains(&words[0]), "the main page lists `{}`", words[0]);
    }
    for section in [".SH ENVIRONMENT", ".SH FILES", ".SH \"EXIT STATUS\""] {
        assert!(page.contains(section), "the main page has {section}");
    }
    assert!(page.contains("FLOCKRELAY_LOG_FORMAT") && page.contains("/etc/flockrelay/flockrelay.toml"));

    let dir = tempfile::tempdir().expect("temporary directory");
    let output = run(binary().args(["man", "--dir"]).arg(dir.path()));
    assert!(output.status.success(), "{}", text(&output.stderr));
    for words in every_command() {
        let name = std::iter::once("flockrelay".to_owned()).chain(words.iter().cloned()).collect::<Vec<_>>().join("-");
        let file = dir.path().join(format!("{name}.1"));
        let page = std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        assert!(page.contains(".SH SYNOPSIS"), "{}", file.display());
    }
}

#[test]
fn version_names_the_version_and_the_commit() {
    let output = run(binary().arg("--version"));
    let line = text(&output.stdout);
    let line = line.trim_end();
    assert!(output.status.success());
    let expected_start = format!("flockrelay {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line.strip_prefix(&expected_start).and_then(|rest| rest.strip_suffix(')')).unwrap_or_else(|| {
        panic!("`{line}` is not `flockrelay VERSION (commit …)`");
    });
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| text(&output.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(commit, head, "built from the checked-out commit"),
        None => assert_eq!(commit, "unknown: built without git metadata"),
    }
}

#[test]
fn the_build_script_says_so_when_there_is_no_git() {
    // The build script cargo compiled for this very build (the newest one).
    let build = Path::new(env!("CARGO_BIN_EXE_flockrelay")).parent().expect("target dir").join("build");
    let script = std::fs::read_dir(&build)
        .expect("lists target/…/build")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("flockrelay-"))
        .map(|entry| entry.path().join("build-script-build"))
        .filter(|path| path.exists())
        .max_by_key(|path| path.metadata().and_then(|metadata| metadata.modified()).ok())
        .expect("cargo built the build script");
    let outside = tempfile::tempdir().expect("temporary directory");
    for (path, why) in [("", "git is not installed"), ("/usr/bin:/bin", "not a git checkout")] {
        let output = run(std::process::Command::new(&script).current_dir(outside.path()).env("PATH", path));
        assert!(output.status.success(), "{why}: {}", text(&output.stderr));
        assert!(
            text(&output.stdout).contains("cargo:rustc-env=BUILD_COMMIT=commit unknown: built without git metadata"),
            "{why}: {}",
            text(&output.stdout)
        );
    }
}

/// A store with one failed message three hours old and one pending message now,
/// both for destination `sink`, and a config naming it and `other`.
async fn store_with_messages(dir: &Path) -> std::path::PathBuf {
    let store_url = format!("sqlite://{}", dir.join("relay.db").display());
    let config = dir.join("flockrelay.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"{store_url}\"\nsecret_key_file = \"{key_file}\"\n\n[destinations.sink.generic]\nurl = \"https://sink.example/\"\n\n\
             [destinations.other.generic]\nurl = \"https://other.example/\"\n",
            key_file = dir.join("secret_key").display(),
        ),
    )
    .expect("writes the config");
    // The key the commands will find in the configured key file.
    let key = flockrelay::store::key::load_or_create(None, &dir.join("secret_key")).expect("key");
    let store = flockrelay::store::open(&store_url, &key).await.expect("store opens");
    let now = Utc::now();
    for (id, age, error) in [("old", Duration::hours(3), Some("HTTP 500: down")), ("new", Duration::zero(), None)] {
        let alert = NewAlert {
            id: format!("alert-{id}"),
            idempotency_key: None,
            flock_id: "flock:default".to_owned(),
            kind: "canary.incident".to_owned(),
            received_at: now - age,
            hops: 0,
            messages: vec![NewMessage {
                id: format!("msg_{id}"),
                destination_id: "sink".to_owned(),
                kind: ChannelKind::Generic,
                body: "{}".to_owned(),
                error: error.map(str::to_owned),
                storm: None,
            }],
        };
        store.enqueue(&[alert]).await.expect("enqueues");
    }
    config
}

fn messages(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = run(binary().arg("--config").arg(config).arg("messages").args(args));
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_list_prints_a_header_and_json_and_takes_relative_times() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = store_with_messages(dir.path()).await;

    let (code, table, error) = messages(&config, &["list"]);
    assert_eq!(code, Some(0), "{error}");
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["ID", "STATUS", "DESTINATION", "ATTEMPTS", "CREATED", "LAST", "ERROR"], "{table}");
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[1].starts_with("msg_new") && lines[2].starts_with("msg_old"), "newest first: {table}");
    assert!(lines[2].contains("failed") && lines[2].ends_with("HTTP 500: down"), "{table}");
    // Columns line up under the header.
    let column = lines[0].find("DESTINATION").expect("header column");
    assert_eq!(lines[1].get(column..column + 4), Some("sink"), "{table}");

    let (code, json, error) = messages(&config, &["list", "--json"]);
    assert_eq!(code, Some(0), "{error}");
    let listed: Value = serde_json::from_str(&json).expect("--json prints JSON");
    let ids: Vec<&str> = listed.as_array().expect("an array").iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["msg_new", "msg_old"]);
    assert_eq!(listed[1]["status"], "failed");

    let ids = |args: &[&str]| {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        let (code, json, error) = messages(&config, &all);
        assert_eq!(code, Some(0), "{args:?}: {error}");
        let listed: Value = serde_json::from_str(&json).expect("JSON");
        listed.as_array().expect("array").iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    };
    assert_eq!(ids(&["--since", "1h"]), ["msg_new"]);
    assert_eq!(ids(&["--since", "4h"]), ["msg_new", "msg_old"]);
    assert_eq!(ids(&["--until", "2h"]), ["msg_old"]);
    assert_eq!(ids(&["--since", "1d", "--until", "90m"]), ["msg_old"]);
    let rfc3339 = (Utc::now() - Duration::hours(1)).to_rfc3339();
    assert_eq!(ids(&["--since", &rfc3339]), ["msg_new"]);
    assert_eq!(ids(&["--since", "0"]), ["msg_new", "msg_old"], "Unix seconds");

    let (code, _, error) = messages(&config, &["list", "--since", "yesterday"]);
    assert_eq!(code, Some(2));
    assert!(error.contains("--since") && error.contains("1h") && error.contains("yesterday"), "{error}");

    let (code, recovered, error) = messages(&config, &["recover", "--destination", "sink", "--since", "4h"]);
    assert_eq!((code, recovered.trim()), (Some(0), "1 failed message(s) of sink queued again"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn store_commands_never_make_up_a_secret_key() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = store_with_messages(dir.path()).await;
    let elsewhere = tempfile::tempdir().expect("temporary directory");
    // The key file as a relative path, the way the default names it: run from
    // another directory, a command must not leave a new (wrong) key there.
    let written = std::fs::read_to_string(&config).expect("config");
    let key_line = format!("secret_key_file = \"{}\"", dir.path().join("secret_key").display());
    std::fs::write(&config, written.replace(&key_line, "secret_key_file = \"data/secret_key\"")).expect("config");
    for args in [&["messages", "list"][..], &["destinations", "list"][..]] {
        let output = run(binary().current_dir(elsewhere.path()).arg("--config").arg(&config).args(args));
        let error = text(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {error}");
        assert!(
            error.contains("the secret key file data/secret_key does not exist: `flockrelay serve` creates it"),
            "{args:?}: {error}"
        );
        assert!(!elsewhere.path().join("data").exists(), "{args:?} created a key in the working directory");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_destination_is_answered_with_the_known_ones() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = store_with_messages(dir.path()).await;
    for args in [
        vec!["messages", "list", "--destination", "snik"],
        vec!["messages", "recover", "--destination", "snik", "--since", "1h"],
        vec!["render", "--destination", "snik"],
        vec!["test", "--destination", "snik"],
    ] {
        let output = run(binary().arg("--config").arg(&config).args(&args));
        let error = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {error}");
        assert!(error.contains("no destination named `snik`"), "{args:?}: {error}");
        assert!(error.contains("destinations: other, sink"), "{args:?} lists the known ones: {error}");
    }
    // A known destination without messages is an empty table, not an error.
    let (code, table, error) = messages(&config, &["list", "--destination", "other"]);
    assert_eq!((code, table.lines().count()), (Some(0), 1), "{error}");
}

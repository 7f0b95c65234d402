//! Logging of the real binary: colours only on a terminal, and a log setting it
//! does not understand is an error rather than silently ignored.

use std::process::Output;

use crate::support::binary;

const ESCAPE: &str = "\u{1b}[";

/// A config whose store is a fresh SQLite file, so `messages list` opens it and
/// the store logs its statements at debug level.
fn store_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("flockrelay.toml");
    let text = format!(
        "[store]\nurl = \"sqlite://{}\"\nsecret_key_file = \"{}\"\n",
        dir.join("relay.db").display(),
        dir.join("secret_key").display()
    );
    std::fs::write(&path, text).expect("writes the config");
    // The key `serve` would have made at its first start: store commands never make one.
    flockrelay::store::key::load_or_create(None, &dir.join("secret_key")).expect("key");
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut std::process::Command) -> Output {
    command.output().expect("the binary runs")
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = store_config(dir.path());
    let output = run(binary().args(["messages", "list", "--config"]).arg(&config).env("FLOCKRELAY_LOG", "debug"));
    let log = text(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("DEBUG"), "debug lines were logged: {log}");
    assert!(!log.contains(ESCAPE), "no ANSI escape codes when stderr is not a terminal: {log:?}");
}

#[test]
fn logs_to_a_terminal_are_coloured_unless_no_color_is_set() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = store_config(dir.path());
    // util-linux `script` runs the command on a pseudo-terminal (it is part of
    // every Debian system: bsdutils is essential).
    let line = format!("{} messages list --config {}", env!("CARGO_BIN_EXE_flockrelay"), config.display());
    let on_terminal = |no_color: bool| {
        let mut command = std::process::Command::new("script");
        command.args(["--quiet", "--return", "--command", &line, "/dev/null"]).env("FLOCKRELAY_LOG", "debug");
        command.env_remove("FLOCKRELAY_LOG_FORMAT").env_remove("NO_COLOR");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let output = run(&mut command);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let coloured = on_terminal(false);
    assert!(coloured.contains("DEBUG") && coloured.contains(ESCAPE), "colours on a terminal: {coloured:?}");
    let plain = on_terminal(true);
    assert!(plain.contains("DEBUG") && !plain.contains(ESCAPE), "NO_COLOR turns them off: {plain:?}");
}

#[test]
fn json_logs_are_one_json_object_per_line() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = store_config(dir.path());
    let output = run(binary()
        .args(["messages", "list", "--config"])
        .arg(&config)
        .env("FLOCKRELAY_LOG", "debug")
        .env("FLOCKRELAY_LOG_FORMAT", "json"));
    let log = text(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(!log.trim().is_empty());
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
}

#[test]
fn an_unknown_log_format_is_an_error_naming_the_accepted_ones() {
    let output = run(binary().arg("check").env("FLOCKRELAY_LOG_FORMAT", "xml"));
    let error = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{error}");
    assert!(
        error.contains("FLOCKRELAY_LOG_FORMAT") && error.contains("\"xml\"") && error.contains("text, json"),
        "{error}"
    );
    assert!(output.stdout.is_empty(), "the command did not run");
    // The accepted values, in any case the documentation writes them.
    for format in ["text", "json", "JSON"] {
        let output = run(binary().arg("check").env("FLOCKRELAY_LOG_FORMAT", format));
        assert!(output.status.success(), "{format}: {}", text(&output.stderr));
    }
}

#[test]
fn an_unparsable_log_filter_is_an_error_too() {
    let output = run(binary().arg("check").env("FLOCKRELAY_LOG", "flockrelay=loud"));
    let error = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{error}");
    assert!(error.contains("FLOCKRELAY_LOG") && error.contains("flockrelay=loud"), "{error}");
}

//! Template overrides and template errors, with real files on disk.

use flockrelay::notify::by_kind;
use flockrelay::render::{RenderError, Renderer};

use crate::support::canary_alert;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, source) in files {
        std::fs::write(dir.path().join(name), source).expect("writes template");
    }
    dir
}

fn generic_destination(template: Option<&str>) -> flockrelay::destination::Destination {
    let mut destination = crate::support::destination(
        "hook",
        flockrelay::notify::Channel::Generic(flockrelay::notify::generic::config::GenericSettings {
            url: "https://hooks.example/x".parse().expect("url"),
            headers: Default::default(),
            auth: None,
            signing: None,
            permanent_statuses: Vec::new(),
        }),
    );
    destination.template = template.map(str::to_owned);
    destination
}

#[test]
fn a_directory_overrides_built_ins_by_name_and_adds_new_ones() {
    let dir = dir_with(&[
        ("generic.json.tera", r#"{"overridden": "{{ alert.title }}"}"#),
        ("minimal.json.tera", r#"{"only": "{{ alert.id }}"}"#),
        ("notes.txt", "not a template"),
    ]);
    let renderer = Renderer::new(Some(dir.path())).expect("loads");
    assert!(renderer.has("minimal.json") && renderer.has("slack.json") && !renderer.has("notes.txt"));
    let generic = by_kind(flockrelay::notify::ChannelKind::Generic);
    let payload = generic.render(&generic_destination(None), &canary_alert(), &renderer, false).expect("renders");
    assert_eq!(payload.body, r#"{"overridden":"SMB Login Attempt on fileserver-canary"}"#);
    let payload =
        generic.render(&generic_destination(Some("minimal.json")), &canary_alert(), &renderer, false).expect("renders");
    assert_eq!(payload.body, r#"{"only":"3f6c3f2a9b8e4d1c"}"#);
}

#[test]
fn a_template_rendering_invalid_json_is_named_with_the_line() {
    let dir = dir_with(&[("broken.json.tera", "{\n  \"a\": 1,\n  \"b\": {{ alert.title }}\n}\n")]);
    let renderer = Renderer::new(Some(dir.path())).expect("parses");
    let generic = by_kind(flockrelay::notify::ChannelKind::Generic);
    let error = generic
        .render(&generic_destination(Some("broken.json")), &canary_alert(), &renderer, false)
        .expect_err("invalid JSON");
    let text = error.to_string();
    assert!(text.contains("broken.json") && text.contains("line 3"), "{text}");
}

#[test]
fn a_template_that_does_not_parse_is_named_at_start() {
    let dir = dir_with(&[("slack.json.tera", "{\n \"text\": \"{{ alert.title \"\n}")]);
    match Renderer::new(Some(dir.path())) {
        Err(RenderError::Parse { name, detail }) => {
            assert_eq!(name, "slack.json");
            assert!(detail.contains("2:"), "names the line: {detail}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn an_unknown_variable_is_a_render_error_naming_the_template() {
    let dir = dir_with(&[("typo.json.tera", r#"{"a": "{{ alert.titel }}"}"#)]);
    let renderer = Renderer::new(Some(dir.path())).expect("parses");
    let generic = by_kind(flockrelay::notify::ChannelKind::Generic);
    let error = generic
        .render(&generic_destination(Some("typo.json")), &canary_alert(), &renderer, false)
        .expect_err("unknown variable");
    assert!(error.to_string().contains("typo.json") && error.to_string().contains("titel"), "{error}");
}

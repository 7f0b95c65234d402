//! `flockrelay completions` and `flockrelay man`: shell completion scripts and
//! manual pages generated from the clap definitions, so they always match the
//! binary. The Debian package installs their output (`packaging/build-deb`).

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::Cli;

/// Environment variables the binary reads, with what they do.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("FLOCKRELAY_CONFIG", "the configuration file (as --config)"),
    ("FLOCKRELAY_<SECTION>__<KEY>", "any configuration key, e.g. FLOCKRELAY_DELIVERY__TIMEOUT=5s"),
    ("FLOCKRELAY_LOG", "log filter: info (default), debug, flockrelay=debug,sqlx=warn …"),
    ("FLOCKRELAY_LOG_FORMAT", "text (default; coloured only on a terminal) or json"),
    ("NO_COLOR", "any non-empty value turns colours off"),
    ("CREDENTIALS_DIRECTORY", "set by systemd; a *_file secret path may start with $CREDENTIALS_DIRECTORY/"),
];

/// Files the binary and its package use.
const FILES: &[(&str, &str)] = &[
    ("config/flockrelay.toml", "the configuration when --config is not given"),
    ("/etc/flockrelay/flockrelay.toml", "the configuration of the packaged service"),
    ("/var/lib/flockrelay/", "the packaged service's database and generated API token (mode 0700)"),
    ("/usr/share/flockrelay/templates/", "copies of the built-in templates, to copy and change"),
];

/// Exit codes.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    ("1", "a destination did not deliver; for check, the configuration is invalid"),
    ("2", "any other error: usage, unknown flock or destination, unreadable alert, a configuration that does not load"),
];

/// The end of `flockrelay --help`: environment, files and exit codes.
pub fn after_help() -> String {
    let mut text = String::new();
    for (title, entries) in [("Environment", ENVIRONMENT), ("Files", FILES), ("Exit status", EXIT_STATUS)] {
        let width = entries.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        text.push_str(&format!("{title}:\n"));
        for (name, meaning) in entries {
            text.push_str(&format!("  {name:<width$}  {meaning}\n"));
        }
        text.push('\n');
    }
    text.trim_end().to_owned()
}

/// The command tree with its binary name.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<i32> {
    let mut command = command();
    clap_complete::generate(shell, &mut command, "flockrelay", out);
    Ok(0)
}

/// Writes the main manual page (`flockrelay.1`).
pub fn man_page(out: &mut dyn Write) -> anyhow::Result<i32> {
    render_main_page(out).context("cannot write the manual page")?;
    Ok(0)
}

/// clap's sections, then ENVIRONMENT, FILES and EXIT STATUS as man pages have them.
fn render_main_page(out: &mut dyn Write) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, roman, Roff};

    let man = clap_mangen::Man::new(command());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    let mut roff = Roff::new();
    for (title, entries) in [("ENVIRONMENT", ENVIRONMENT), ("FILES", FILES), ("EXIT STATUS", EXIT_STATUS)] {
        roff.control("SH", [title]);
        for (name, meaning) in entries {
            roff.control("TP", []);
            roff.text([bold(*name)]);
            roff.text([roman(*meaning)]);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("The README (/usr/share/doc/flockrelay/README.md in the package) and, for every key with its default, flockrelay.default.toml.")]);
    roff.to_writer(out)?;
    man.render_version_section(out)
}

/// Writes `flockrelay.1` and one `flockrelay-<command>.1` per command into `dir`.
pub fn man_pages(dir: &Path) -> anyhow::Result<i32> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(command(), dir)
        .with_context(|| format!("cannot write manual pages to {}", dir.display()))?;
    // The main page with its proper sections instead of clap's.
    let main = dir.join("flockrelay.1");
    let mut file = std::fs::File::create(&main).with_context(|| format!("cannot write {}", main.display()))?;
    render_main_page(&mut file).with_context(|| format!("cannot write {}", main.display()))?;
    let mut written: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("flockrelay") && name.ends_with(".1"))
        .collect();
    written.sort();
    for name in written {
        println!("{}", dir.join(name).display());
    }
    Ok(0)
}

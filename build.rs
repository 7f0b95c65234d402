//! Build script: records the commit the binary is built from, for
//! `flockrelay --version` (`BUILD_COMMIT`, e.g. `commit 0123456789ab`). Without
//! git, or outside a git checkout (a source tarball), it says so instead of
//! failing the build. It reruns only when the checked-out commit changes (or a
//! migration is added: `sqlx::migrate!` embeds `migrations/`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // sqlx::migrate! embeds migrations/: rebuild when a migration is added.
    println!("cargo:rerun-if-changed=migrations");
    let description = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            watch_head();
            format!("commit {commit}")
        }
        None => "commit unknown: built without git metadata".to_owned(),
    };
    println!("cargo:rustc-env=BUILD_COMMIT={description}");
}

/// The trimmed output of a successful `git` command; `None` when git is missing,
/// this is not a checkout, or the command fails.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Reruns the script when HEAD moves: HEAD itself (a checkout), the branch it
/// points to (a commit) and packed-refs (where a branch may live). Works in
/// linked worktrees too, since git names each path.
fn watch_head() {
    let mut files = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    files.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for file in files {
        if let Some(path) = git(&["rev-parse", "--git-path", &file]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}

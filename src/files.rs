//! Private files: the data directory and the files that hold secrets — the
//! SQLite database and its `-wal`/`-shm`, the API token file, the secret key
//! file — are created readable by the service user only (directory 0700, files
//! 0600, set explicitly, whatever the umask), and looser ones that already exist
//! are reported at start with their path and mode (they are left as the
//! operator made them). On other platforms than Unix, nothing is checked.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Mode of directories the relay creates for its data.
pub const DIR_MODE: u32 = 0o700;

/// Mode of files the relay creates that hold secrets.
pub const FILE_MODE: u32 = 0o600;

/// Creates `directory` (and missing parents) with mode 0700; an existing one
/// that others can read is reported.
pub fn private_dir(directory: &Path) -> std::io::Result<()> {
    if directory.as_os_str().is_empty() {
        return Ok(());
    }
    if directory.exists() {
        warn_if_loose(directory, "The data directory");
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(directory)?;
    set_mode(directory, DIR_MODE)
}

/// Creates an empty file with mode 0600 unless it exists (then a looser mode
/// is reported). SQLite gives its `-wal` and `-shm` files the mode of the
/// database file, so creating the database this way keeps all three private.
pub fn private_file(path: &Path, what: &str) -> std::io::Result<()> {
    if let Some(directory) = path.parent() {
        private_dir(directory)?;
    }
    if path.exists() {
        warn_if_loose(path, what);
        return Ok(());
    }
    create(path).map(drop)
}

/// Writes a new file only its owner can read (its directory created 0700).
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(directory) = path.parent() {
        private_dir(directory)?;
    }
    let mut file = create(path)?;
    file.write_all(format!("{contents}\n").as_bytes())
}

fn create(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let file = options.open(path)?;
    set_mode(path, FILE_MODE)?;
    Ok(file)
}

/// Sets the mode exactly (creation modes are narrowed by the umask; this is not).
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// The permission bits of `path`, when it exists (Unix only).
pub fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).ok().map(|metadata| metadata.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Logs a warning naming `path` and its mode when users other than the owner
/// may read, write or enter it (once per path). `what` starts the message
/// (`The token file`).
pub fn warn_if_loose(path: &Path, what: &str) {
    static WARNED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    if let Some(mode) = mode(path).filter(|mode| mode & 0o077 != 0) {
        let mut warned = WARNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !warned.insert(path.to_path_buf()) {
            return;
        }
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:04o}"),
            "{what} is readable by other users than the relay's; it holds secrets: chmod it to 0600 (files) or 0700 (directories)."
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn created_files_and_directories_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data").join("nested");
        let key = data.join("secret_key");
        write_private(&key, "value").expect("writes");
        assert_eq!(mode(&data), Some(0o700));
        assert_eq!(mode(&key), Some(0o600));
        assert_eq!(std::fs::read_to_string(&key).expect("reads"), "value\n");
        let db = data.join("relay.db");
        private_file(&db, "The database").expect("creates");
        assert_eq!(mode(&db), Some(0o600));
        assert!(write_private(&key, "again").is_err(), "never overwrites");
    }
}

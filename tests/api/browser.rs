//! The end-to-end browser tests (`tests/browser/*.test.mjs`: headless Chromium with a
//! virtual authenticator, driven through the DevTools protocol by playwright-core), run
//! as part of `cargo test` against this build's binary and the same backends as the rest
//! of the suite.
//!
//! The test prepares what it needs, so `cargo test` passes on a fresh clone: it installs
//! the npm packages (`npm ci`) when they are missing and, when Debian's `chromium` is
//! missing and this user may install packages (root, or password-less sudo), installs it
//! with apt-get. Otherwise it fails with the one command to run. Set
//! LATCHKEY_SKIP_BROWSER_TESTS=1 to leave the browser tests out (CI never does).

use std::path::Path;
use std::process::Command;

#[test]
fn browser_journeys_pass_in_headless_chromium() {
    if std::env::var("LATCHKEY_SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("browser tests skipped: LATCHKEY_SKIP_BROWSER_TESTS=1");
        return;
    }
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    ensure_chromium(&chromium);
    ensure_npm_packages(&folder);
    let output = Command::new("node")
        .arg("--test")
        .current_dir(&folder)
        .env("LATCHKEY_BIN", env!("CARGO_BIN_EXE_latchkey"))
        .env("CHROMIUM_PATH", &chromium)
        .output()
        .expect("node must be installed to run the browser tests");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "browser tests failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("# fail 0") && !stdout.contains("# pass 0"), "{stdout}");
}

/// `npm ci` when playwright-core is not installed yet (a fresh clone).
fn ensure_npm_packages(folder: &Path) {
    if folder.join("node_modules/playwright-core").exists() && folder.join("node_modules/axe-core").exists() {
        return;
    }
    eprintln!("installing the browser tests' npm packages: npm ci --prefix tests/browser");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(folder)
        .status()
        .expect("npm must be installed to run the browser tests");
    assert!(status.success(), "`npm ci --prefix tests/browser` failed; run it by hand to see why");
}

/// Installs Debian's chromium when it is missing and this user may install packages.
fn ensure_chromium(chromium: &str) {
    if Path::new(chromium).exists() {
        return;
    }
    let how = "apt-get install -y chromium (or set LATCHKEY_SKIP_BROWSER_TESTS=1)";
    assert_eq!(chromium, "/usr/bin/chromium", "CHROMIUM_PATH={chromium} does not exist");
    let root = Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let sudo = !root && Command::new("sudo").args(["-n", "true"]).status().is_ok_and(|s| s.success());
    assert!(root || sudo, "browser tests need Debian's Chromium; run: sudo {how}");
    let apt = |args: &[&str]| {
        let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            command.args(["-n", "apt-get"]);
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command.status().is_ok_and(|s| s.success())
    };
    eprintln!("installing Debian's chromium for the browser tests");
    let installed = apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "chromium"]);
    assert!(installed && Path::new(chromium).exists(), "could not install Chromium; run: {how}");
}

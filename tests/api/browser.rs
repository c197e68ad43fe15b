//! The end-to-end browser tests (`tests/browser/*.test.mjs`: headless Chromium with a
//! virtual authenticator, driven through the DevTools protocol by playwright-core), run
//! as part of `cargo test` against this build's binary and the same backends as the rest
//! of the suite. They need Debian's `chromium` and `npm ci --prefix tests/browser`; set
//! LATCHKEY_SKIP_BROWSER_TESTS=1 to leave them out on a machine without a browser.

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
    assert!(
        Path::new(&chromium).exists(),
        "browser tests need Chromium at {chromium}: apt-get install chromium (or set LATCHKEY_SKIP_BROWSER_TESTS=1)"
    );
    assert!(
        folder.join("node_modules/playwright-core").exists(),
        "browser tests need their npm packages: npm ci --prefix tests/browser (or set LATCHKEY_SKIP_BROWSER_TESTS=1)"
    );
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

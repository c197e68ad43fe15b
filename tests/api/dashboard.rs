//! The admin dashboard at `/admin`, and the audit page's names, after scripted sign-ins.

use crate::flow::{REDIRECT_URI, location, pkce};
use crate::passkeys::{finish_sign_in, start_sign_in, world_with_passkey};

/// The text of the element with this id (its first text node).
fn text_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let text: String = rest[start..].chars().take_while(|c| *c != '<').collect();
    if text.trim().is_empty() {
        // A link inside: its text.
        let inner = &rest[start..];
        let start = inner.find('>').unwrap() + 1;
        return inner[start..].chars().take_while(|c| *c != '<').collect();
    }
    text
}

#[tokio::test]
async fn the_dashboard_shows_the_figures_of_a_scripted_set_of_sign_ins() {
    // alice signs in with her password once (to add a passkey), then with the passkey.
    let hour_of = |at: i64| at - at.rem_euclid(3600);
    let started_hour = hour_of(latchkey::domain::now());
    let mut world = world_with_passkey().await;
    let app = &world.app;
    let browser = crate::passkeys::browser();
    let params = [
        ("response_type", "code"),
        ("client_id", world.rp.client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid offline_access"),
        ("code_challenge", pkce().challenge.leak()),
        ("code_challenge_method", "S256"),
    ];
    let login_path = location(&browser.get(app.url("/authorize")).query(&params).send().await.unwrap());
    let (csrf, request, started) = start_sign_in(app, &browser, &login_path).await;
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    let (status, _) = finish_sign_in(app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 200);
    // Five wrong passwords lock bob's account.
    crate::flow::add_user(app, "bob").await;
    for _ in 0..5 {
        let refused = app.submit_login("/login", "bob", "wrong").await;
        assert_eq!(refused.status(), 401);
    }
    // A refresh token used twice.
    let tokens = app.tokens_for(&world.rp, "alice").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        app.token(&world.rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
    }
    // The admin signs in with a password too.
    let (admin, _) = crate::admin_console::signed_in_browser(app, "root", true).await;

    let html = admin.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    assert_eq!(text_of(&html, "count-users"), "3", "alice, bob, root");
    assert_eq!(text_of(&html, "count-clients"), "1");
    // Password sign-ins: alice (to add the passkey), alice (tokens_for), root; one passkey.
    assert_eq!(text_of(&html, "count-sessions"), "4");
    assert_eq!(text_of(&html, "week-succeeded"), "4");
    assert_eq!(text_of(&html, "week-failed"), "5");
    assert!(
        html.contains(r#"<tr id="method-password"><td>Password</td><td>3</td><td><span class="share">75%</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<tr id="method-passkey"><td>Passkey</td><td>1</td><td><span class="share">25%</span>"#));
    assert!(html.contains(
        r#"<tr id="method-mfa"><td>Password + second factor</td><td>0</td><td><span class="share">0%</span>"#
    ));
    let hours_shown = html.matches("<g class=\"hour\">").count();
    assert_eq!(hours_shown, 168, "one bar group per hour of the week");
    if hour_of(latchkey::domain::now()) == started_hour {
        assert!(html.contains(": 4 signed in, 5 failed</title>"), "the current hour holds them all");
    }
    assert!(html.contains("<svg"), "server-rendered SVG");
    let scripts: Vec<&str> = html.match_indices("<script").map(|(at, _)| &html[at..at + 60]).collect();
    assert!(scripts.iter().all(|s| s.starts_with("<script src=\"/static/")), "only our own scripts: {scripts:?}");
    let lockouts = &html[html.find("id=\"lockouts\"").expect("a lockout is listed")..];
    assert!(lockouts[..lockouts.find("</table>").unwrap()].contains("<td>bob</td>"), "by username");
    let reuses = &html[html.find("id=\"reuses\"").expect("a reuse is listed")..];
    assert!(reuses[..reuses.find("</table>").unwrap()].contains("<td>alice</td>"));
    assert!(text_of(&html, "active-key").contains("generation"));
    assert!(!text_of(&html, "next-rotation").is_empty());

    // The audit page names users and clients beside their ids, and lists the event types.
    let audit =
        admin.get(app.url("/admin/audit?event_type=account_locked")).send().await.unwrap().text().await.unwrap();
    assert!(audit.contains(">bob</a> <small class=\"id\">"), "{audit}");
    assert!(audit.contains(r#"<option value="account_locked" selected>"#));
    assert!(audit.contains(r#"<option value="refresh_token_reuse">"#));
    let reuse = admin.get(app.url("/admin/audit?event_type=refresh_token_reuse")).send().await.unwrap().text().await;
    assert!(reuse.unwrap().contains("webapp app <small class=\"id\">webapp</small>"), "the client's name");
}

//! The admin console's gatekeeping: anonymous → login, non-admin → 403, forms need CSRF.

use latchkey::domain::audit::Actor;
use latchkey::domain::users::{NewUser, add_user};

use crate::flow::{PASSWORD, hidden_field, location};
use crate::helpers::{TestApp, TestEnv};

pub(crate) async fn signed_in_browser(app: &TestApp, username: &str, admin: bool) -> (reqwest::Client, String) {
    let new = NewUser { username: username.into(), email: None, display_name: None, admin, password: PASSWORD.into() };
    add_user(&app.state, &Actor::Cli, new).await.unwrap();
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    browser
        .post(app.url("/login"))
        .form(&[("csrf_token", csrf.as_str()), ("username", username), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let csrf = crate::flow::current_csrf(app, &browser).await;
    (browser, csrf)
}

#[tokio::test]
async fn the_console_is_for_admins_only() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    for path in ["/admin", "/admin/users", "/admin/clients", "/admin/keys", "/admin/audit"] {
        let anonymous = app.get(path).await;
        let back = format!("/login?next={}", path.replace('/', "%2F"));
        assert_eq!((anonymous.status().as_u16(), location(&anonymous)), (303, back), "{path}");
    }
    let (user, _) = signed_in_browser(&app, "alice", false).await;
    for path in ["/admin", "/admin/users", "/admin/clients", "/admin/keys", "/admin/audit"] {
        assert_eq!(user.get(app.url(path)).send().await.unwrap().status(), 403, "{path}");
    }
    let (admin, _) = signed_in_browser(&app, "root", true).await;
    for path in ["/admin", "/admin/users", "/admin/clients", "/admin/keys", "/admin/audit"] {
        assert_eq!(admin.get(app.url(path)).send().await.unwrap().status(), 200, "{path}");
    }
}

#[tokio::test]
async fn console_forms_need_their_csrf_token_and_report_bad_input() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (admin, csrf) = signed_in_browser(&app, "root", true).await;
    let forged =
        admin.post(app.url("/admin/users")).form(&[("username", "mallory"), ("password", "pw")]).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let bad = admin
        .post(app.url("/admin/users"))
        .form(&[("csrf_token", csrf.as_str()), ("username", "bad name"), ("password", "pw")])
        .send()
        .await
        .unwrap();
    assert!(bad.text().await.unwrap().contains("username must be"));
    let made = admin
        .post(app.url("/admin/users"))
        .form(&[("csrf_token", csrf.as_str()), ("username", "bob"), ("password", "pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    let user_page = location(&made);
    let disabled = admin
        .post(app.url(&format!("{user_page}/disable")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(disabled.text().await.unwrap().contains("disabled"));
    let listed = admin.get(app.url("/admin/users?q=bob")).send().await.unwrap().text().await.unwrap();
    assert!(listed.contains(">bob<") && listed.contains("disabled"), "{listed}");

    let client = admin
        .post(app.url("/admin/clients"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("client_id", "shop"),
            ("client_type", "confidential"),
            ("redirect_uris", "https://shop.example/cb"),
            ("scope", "openid"),
            ("grant", "authorization_code"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(client.contains("id=\"client-secret\""), "the secret is shown once: {client}");
    let again = admin.get(app.url("/admin/clients/shop")).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains("id=\"client-secret\""));
}

#[tokio::test]
async fn a_console_action_shows_its_flash_line_once_on_the_page_it_leads_to() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (admin, csrf) = signed_in_browser(&app, "root", true).await;
    let form = [("csrf_token", csrf.as_str()), ("name", "staff"), ("description", "")];
    let created = admin.post(app.url("/admin/groups")).form(&form).send().await.unwrap();
    assert_eq!(location(&created), "/admin/groups/staff");
    let page = admin.get(app.url("/admin/groups/staff")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<p class="notice flash" role="status">Group created.</p>"#), "{page}");
    let again = admin.get(app.url("/admin/groups/staff")).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains("Group created."), "shown once");
}

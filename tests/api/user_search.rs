//! The admin user list: prefix search on username and email, `*` to match anywhere, keyset
//! pages that neither skip nor repeat a user, and refusals for a bad `after` or a `page`.

use latchkey::domain::audit::Actor;
use latchkey::domain::users::{self, NewUser, UserChange};
use serde_json::Value;

use crate::admin_api::{admin_token, call};
use crate::admin_console::signed_in_browser;
use crate::flow::PASSWORD;
use crate::helpers::{TestApp, TestEnv};

/// (username, email)
const PEOPLE: &[(&str, &str)] = &[
    ("alice", "alice@a.example"),
    ("Alicia", "z@b.example"),
    ("bob", "ALIce.b@c.example"),
    ("carol", "carol@alice.example"),
    ("dave", "dave@d.example"),
    ("al_x", "x@x.example"),
];

async fn people(app: &TestApp) {
    for (username, email) in PEOPLE {
        let new = NewUser {
            username: (*username).into(),
            email: Some((*email).into()),
            display_name: None,
            admin: false,
            password: PASSWORD.into(),
        };
        users::add_user(&app.state, &Actor::Cli, new).await.unwrap();
    }
}

/// Every username `q` finds, following `next` page by page.
async fn every_page(app: &TestApp, token: &str, q: &str, per_page: u32) -> Vec<String> {
    let mut found = Vec::new();
    let mut after = String::new();
    for _ in 0..50 {
        let path = format!("/users?q={}&per_page={per_page}&after={after}", urlencode(q));
        let (status, page) = call(app, token, "GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {page}");
        let names = page["users"].as_array().unwrap();
        assert!(names.len() <= per_page as usize, "{page}");
        found.extend(names.iter().map(|user| user["username"].as_str().unwrap().to_string()));
        match page.get("next").and_then(Value::as_str) {
            Some(next) => after = next.to_string(),
            None => return found,
        }
    }
    panic!("paging did not end: {found:?}");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn search_is_by_prefix_of_username_then_email_page_by_page() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    people(&app).await;
    let token = admin_token(&app).await;

    for per_page in [1, 2, 25] {
        // Username matches in username order, then users matched by email alone.
        assert_eq!(every_page(&app, &token, "ali", per_page).await, ["alice", "Alicia", "bob"], "{per_page}");
        assert_eq!(every_page(&app, &token, "ALI", per_page).await, ["alice", "Alicia", "bob"], "{per_page}");
        assert_eq!(every_page(&app, &token, "*alice", per_page).await, ["alice", "bob", "carol"], "{per_page}");
        assert_eq!(
            every_page(&app, &token, "", per_page).await,
            ["al_x", "alice", "Alicia", "bob", "carol", "dave"],
            "everyone, by username: {per_page}"
        );
    }
    assert_eq!(every_page(&app, &token, "al_", 25).await, ["al_x"], "'_' is a character, not a wildcard");
    assert_eq!(every_page(&app, &token, "*%", 25).await, Vec::<String>::new(), "'%' is a character too");
    assert_eq!(every_page(&app, &token, "dave@", 25).await, ["dave"]);
    assert_eq!(every_page(&app, &token, "zz", 25).await, Vec::<String>::new());

    // A changed email is searched by its new value.
    let bob = users::find_by_username(&app.state.db, "bob").await.unwrap();
    let change = UserChange { email: Some(Some("robert@c.example".into())), ..UserChange::default() };
    users::update_user(&app.state, &Actor::Cli, &bob.id, change).await.unwrap();
    assert_eq!(every_page(&app, &token, "ali", 25).await, ["alice", "Alicia"]);
    assert_eq!(every_page(&app, &token, "rob", 25).await, ["bob"]);
}

#[tokio::test]
async fn a_bad_cursor_or_an_offset_page_is_refused() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    people(&app).await;
    let token = admin_token(&app).await;
    for after in ["nonsense", "u.!!!", "e.YQ"] {
        let (status, body) = call(&app, &token, "GET", &format!("/users?after={after}"), None).await;
        assert_eq!(status, 400, "{after}: {body}");
        assert!(body["fields"]["after"].is_string(), "{body}");
    }
    let (status, body) = call(&app, &token, "GET", "/users?page=2", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["fields"]["page"].is_string(), "{body}");

    let (admin, _) = signed_in_browser(&app, "root", true).await;
    let bad = admin.get(app.url("/admin/users?after=nonsense")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("not valid"));
}

#[tokio::test]
async fn the_console_pages_with_next_and_first_links() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    people(&app).await;
    for index in 0..30 {
        let new = NewUser {
            username: format!("member{index:02}"),
            email: None,
            display_name: None,
            admin: false,
            password: PASSWORD.into(),
        };
        users::add_user(&app.state, &Actor::Cli, new).await.unwrap();
    }
    let (admin, _) = signed_in_browser(&app, "root", true).await;
    let first = admin.get(app.url("/admin/users?q=member")).send().await.unwrap().text().await.unwrap();
    assert!(first.contains(">member00<") && first.contains(">member24<") && !first.contains(">member25<"));
    assert!(!first.contains("first page"), "{first}");
    let next = first.split("after=").nth(1).and_then(|rest| rest.split('"').next()).expect("a next-page link");
    let second =
        admin.get(app.url(&format!("/admin/users?q=member&after={next}"))).send().await.unwrap().text().await.unwrap();
    assert!(second.contains(">member25<") && second.contains(">member29<") && !second.contains(">member24<"));
    assert!(second.contains("first page") && !second.contains("next page"), "{second}");
}

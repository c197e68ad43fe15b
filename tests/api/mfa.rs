//! Second factors at the domain level, on the real database and ephemeral store: TOTP
//! enrollment confirmed by a code the test computes from the secret, codes accepted once,
//! the secret sealed at rest, recovery codes spent once and regenerated, an admin's reset.

use latchkey::domain::audit::{self, Actor, AuditFilter};
use latchkey::domain::mfa::{self, MfaError};
use sea_orm::{ConnectionTrait, Statement};
use totp_rs::{Algorithm, Builder, Secret};

use crate::flow::add_user;
use crate::helpers::TestEnv;

fn code(secret: &str, at: i64) -> String {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .with_account_name("test")
        .build()
        .unwrap()
        .generate(at as u64)
        .to_string()
}

#[tokio::test]
async fn totp_is_enrolled_with_a_computed_code_and_each_code_works_once() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = add_user(&app, "alice").await;
    let state = &app.state;
    let now = latchkey::domain::now();

    let setup = mfa::begin_totp(state, &alice.id, "alice").await.unwrap();
    assert!(setup.url.starts_with("otpauth://totp/") && setup.url.contains(&setup.secret), "{}", setup.url);
    assert!(setup.qr_svg.contains("<svg"), "a QR code drawn here, as SVG");
    assert!(matches!(mfa::confirm_totp(state, &alice.id, "000000", now).await, Err(MfaError::WrongCode)));
    assert!(!mfa::status(state, &alice.id).await.unwrap().totp, "not active before a right code");
    let recovery = mfa::confirm_totp(state, &alice.id, &code(&setup.secret, now), now).await.unwrap();
    assert_eq!(recovery.len(), 10);
    assert_eq!(mfa::status(state, &alice.id).await.unwrap(), mfa::MfaStatus { totp: true, recovery_codes_left: 10 });

    // The secret is sealed at rest.
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT sealed_secret FROM totp_factors",
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: String = row.try_get_by_index(0).unwrap();
    assert!(!stored.contains(&setup.secret));

    // The enrollment's code was spent; the next step's code works once.
    assert!(!mfa::verify_totp(state, &alice.id, &code(&setup.secret, now), now).await.unwrap(), "replayed");
    let later = now + 30;
    assert!(mfa::verify_totp(state, &alice.id, &code(&setup.secret, later), later).await.unwrap());
    assert!(!mfa::verify_totp(state, &alice.id, &code(&setup.secret, later), later).await.unwrap(), "replayed");
    assert!(!mfa::verify_totp(state, &alice.id, &code(&setup.secret, later + 120), later).await.unwrap(), "too far");

    // A recovery code works once, in any case and spacing; regenerating ends the old set.
    let first = recovery[0].to_uppercase().replace('-', " ");
    assert!(mfa::use_recovery_code(state, &alice.id, &first, now).await.unwrap());
    assert!(!mfa::use_recovery_code(state, &alice.id, &recovery[0], now).await.unwrap());
    assert_eq!(mfa::status(state, &alice.id).await.unwrap().recovery_codes_left, 9);
    let fresh = mfa::regenerate_recovery_codes(state, &alice.id, now).await.unwrap();
    assert!(!mfa::use_recovery_code(state, &alice.id, &recovery[1], now).await.unwrap());
    assert!(mfa::use_recovery_code(state, &alice.id, &fresh[0], now).await.unwrap());

    // An admin's reset removes both; a user cannot reset.
    let user = Actor::User { user_id: alice.id.clone(), source_ip: None };
    assert!(matches!(mfa::reset(state, &user, &alice.id).await, Err(MfaError::Forbidden)));
    mfa::reset(state, &Actor::Cli, &alice.id).await.unwrap();
    assert_eq!(mfa::status(state, &alice.id).await.unwrap(), mfa::MfaStatus { totp: false, recovery_codes_left: 0 });

    let filter = AuditFilter { user_id: Some(alice.id.clone()), ..AuditFilter::default() };
    let (events, _) = audit::search(&state.db, &filter, 0, 50).await.unwrap();
    let types: Vec<&str> = events.iter().map(|(_, e)| e.event_type.as_str()).collect();
    for expected in ["mfa_enrolled", "recovery_code_used", "recovery_codes_regenerated", "admin_action"] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    assert_eq!(types.iter().filter(|t| **t == "recovery_code_used").count(), 2);
}

#[tokio::test]
async fn a_setup_not_confirmed_in_time_is_gone() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = add_user(&app, "alice").await;
    let result = mfa::confirm_totp(&app.state, &alice.id, "123456", latchkey::domain::now()).await;
    assert!(matches!(result, Err(MfaError::SetupExpired)));
}

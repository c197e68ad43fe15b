//! Builds the running application: storage, keyring, background key refresh, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::domain::keys::Keyring;
use crate::domain::now;
use crate::domain::passwords::PasswordHasher;
use crate::http;
use crate::state::AppState;
use crate::store::db;
use crate::store::ephemeral::EphemeralStore;

/// Opens storage (applying pending migrations) and the keyring: everything but the
/// HTTP server. The CLI uses this too, so the web and the CLI see one model.
pub async fn prepare(settings: Settings) -> anyhow::Result<AppState> {
    let db = db::connect(&settings.database).await?;
    db::migrate(&db).await?;
    let ephemeral = EphemeralStore::connect(&settings).await.context("cannot connect to Redis")?;
    let keyring = Keyring::open(&db, &settings, now()).await?;
    let passwords = PasswordHasher::new(&settings.passwords)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")?;
    let webauthn = crate::domain::passkeys::relying_party(&settings)?.map(Arc::new);
    let csrf_key = keyring.derive_mac_key("latchkey csrf v1");
    let mailer = crate::mail::Mailer::from_settings(&settings.smtp)?;
    let fetcher = Arc::new(crate::fetch::Fetcher::new(&settings.clients.metadata_documents)?);
    let upstreams = Arc::new(crate::domain::upstream::protocol::Upstreams::new(&settings.upstream)?);
    let keyring = Arc::new(keyring);
    let access_cache = Arc::default();
    let settings_ui = settings.ui.clone();
    Ok(AppState {
        settings: Arc::new(settings),
        db,
        ephemeral,
        keyring,
        passwords,
        http,
        webauthn,
        csrf_key,
        access_cache,
        mailer,
        fetcher,
        upstreams,
        metrics: crate::metrics::Metrics::new()?,
        branding: Arc::new(crate::http::branding::Branding::load(&settings_ui)?),
    })
}

pub struct Application {
    port: u16,
    state: AppState,
    server: Server,
    key_refresh: tokio::task::JoinHandle<()>,
    /// The `/metrics` listener on `server.metrics_bind`, if set.
    metrics_server: Option<Server>,
}

/// A listener on `bind` that serves only `/metrics`, without a token.
fn metrics_server(bind: std::net::SocketAddr, data: web::Data<AppState>) -> anyhow::Result<Server> {
    let listener = TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind} (server.metrics_bind)"))?;
    tracing::info!(%bind, "serving /metrics");
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).route("/metrics", web::get().to(http::metrics::scrape))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .context("cannot start the metrics listener")?
    .run();
    Ok(server)
}

impl Application {
    /// Binds `server.bind` and builds the application.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let bind = settings.server.bind;
        let listener = TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
        Application::build_with_listener(settings, listener).await
    }

    /// Builds the application on an already bound listener (tests bind port 0).
    pub async fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Application> {
        let workers = settings.server.workers;
        let state = prepare(settings).await?;
        if !state.settings.bootstrap.file.is_empty() {
            crate::domain::bootstrap::apply(&state, std::path::Path::new(&state.settings.bootstrap.file)).await?;
        }
        let port = listener.local_addr().context("listener has no address")?.port();
        let key_refresh = tokio::spawn(refresh_keys(state.clone()));
        let discovery = web::Data::new(http::oidc::discovery::Document::new(&state.settings));
        let openapi = web::Data::new(http::admin::api::OpenApiDocument(
            with_admin_api(App::new()).1.to_json().context("cannot serialize the OpenAPI document")?,
        ));
        let data = web::Data::new(state.clone());
        let data_for_metrics = data.clone();
        let metrics_token = web::Data::new(http::metrics::MetricsToken::load(&state.settings)?);
        let settings = state.settings.clone();
        let mut server = HttpServer::new(move || {
            with_admin_api(App::new())
                .0
                .wrap(http::security_headers(&settings))
                .wrap(actix_web::middleware::from_fn(http::branding::in_place))
                .wrap(actix_web::middleware::from_fn(http::metrics::count_requests))
                .wrap(TracingLogger::<http::access_log::AccessLog>::new())
                .app_data(data.clone())
                .app_data(metrics_token.clone())
                .app_data(discovery.clone())
                .app_data(openapi.clone())
                .app_data(web::FormConfig::default().error_handler(http::bad_browser_request))
                .app_data(web::QueryConfig::default().error_handler(http::bad_browser_request))
                .configure(http::routes)
                .default_service(web::to(http::not_found))
        })
        .shutdown_timeout(10);
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server.listen(listener).context("cannot start the HTTP server")?.run();
        let metrics_server = match state.settings.server.metrics_bind {
            Some(bind) => Some(metrics_server(bind, data_for_metrics)?),
            None => None,
        };
        Ok(Application { port, state, server, key_refresh, metrics_server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state, for tests and embedding.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let result = self.server.await;
        self.key_refresh.abort();
        if let Some((task, handle)) = metrics {
            handle.stop(true).await;
            task.abort();
        }
        result
    }
}

/// Mounts the admin API, collecting its OpenAPI document from the very routes it mounts.
fn with_admin_api<T>(app: App<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    use utoipa::OpenApi;
    use utoipa_actix_web::AppExt;
    app.into_utoipa_app()
        .openapi(http::admin::api::ApiDoc::openapi())
        .route("/admin/api/openapi.json", web::get().to(http::admin::api::openapi))
        .service(utoipa_actix_web::scope("/admin/api").configure(http::admin::api::routes))
        .split_for_parts()
}

/// Re-reads the key set every `keys.refresh_interval_secs`: picks up rotations made by
/// other instances or the CLI, rotates on schedule, and retires old keys from the JWKS.
/// Also forgets revocations whose tokens have all expired, grants that ended, and sign-in
/// counts older than the dashboard's chart.
async fn refresh_keys(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(state.settings.keys.refresh_interval_secs));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        if let Err(error) = state.keyring.refresh(&state.db, now()).await {
            tracing::warn!(error = %format!("{error:#}"), "cannot refresh signing keys");
        }
        if let Err(error) = crate::domain::tokens::purge_expired_revocations(&state.db, now()).await {
            tracing::warn!(error = %format!("{error:#}"), "cannot purge expired revocations");
        }
        if let Err(error) = crate::domain::grants::purge_ended(&state.db, now()).await {
            tracing::warn!(error = %format!("{error:#}"), "cannot purge ended grants");
        }
        if let Err(error) = crate::domain::dashboard::purge_old_sign_in_counts(&state, now()).await {
            tracing::warn!(error = %format!("{error:#}"), "cannot purge old sign-in counts");
        }
    }
}

//! "Connect your app" on a client's page: the values a relying party needs, and settings
//! for common relying-party stacks with those values filled in.

use crate::config::Settings;
use crate::domain::clients::Client;

/// One stack's settings, ready to paste.
pub struct Recipe {
    /// For element ids: `apache`, `oauth2-proxy`...
    pub id: &'static str,
    pub name: &'static str,
    /// What file or place the text goes into.
    pub place: &'static str,
    pub text: String,
}

pub struct ConnectPanel {
    pub issuer: String,
    pub discovery_url: String,
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub recipes: Vec<Recipe>,
}

impl ConnectPanel {
    pub fn new(settings: &Settings, client: &Client) -> ConnectPanel {
        let issuer = settings.issuer.trim_end_matches('/').to_string();
        let discovery_url = format!("{issuer}/.well-known/openid-configuration");
        let id = &client.id;
        let redirect = client.redirect_uris.first().cloned().unwrap_or_else(|| "https://app.example/callback".into());
        let scope = ["openid", "profile", "email"]
            .into_iter()
            .filter(|s| client.allowed_scopes.contains(s))
            .collect::<Vec<_>>()
            .join(" ");
        let secret = !client.public;
        let line = |on: bool, text: &str| if on { format!("{text}\n") } else { String::new() };
        let recipes = vec![
            Recipe {
                id: "apache",
                name: "Apache mod_auth_openidc",
                place: "Apache configuration",
                text: format!(
                    "OIDCProviderMetadataURL {discovery_url}\nOIDCClientID {id}\n{}OIDCRedirectURI {redirect}\nOIDCCryptoPassphrase <a long random passphrase>\nOIDCScope \"{scope}\"\nOIDCPKCEMethod S256\n\n<Location />\n  AuthType openid-connect\n  Require valid-user\n</Location>\n",
                    line(secret, "OIDCClientSecret <the client secret>"),
                ),
            },
            Recipe {
                id: "oauth2-proxy",
                name: "oauth2-proxy",
                place: "oauth2-proxy.cfg",
                text: format!(
                    "provider = \"oidc\"\noidc_issuer_url = \"{issuer}\"\nclient_id = \"{id}\"\n{}redirect_url = \"{redirect}\"\nscope = \"{scope}\"\ncode_challenge_method = \"S256\"\ncookie_secret = \"<32 random bytes, base64>\"\nemail_domains = [\"*\"]\n",
                    if secret { "client_secret = \"<the client secret>\"\n" } else { "client_secret = \"\"\n" },
                ),
            },
            Recipe {
                id: "authjs",
                name: "Auth.js (Next.js)",
                place: "auth.ts; its redirect URI is /api/auth/callback/latchkey on your app",
                text: format!(
                    "import NextAuth from \"next-auth\"\n\nexport const {{ handlers, auth, signIn, signOut }} = NextAuth({{\n  providers: [\n    {{\n      id: \"latchkey\",\n      name: \"{}\",\n      type: \"oidc\",\n      issuer: \"{issuer}\",\n      clientId: \"{id}\",\n{}      checks: [\"pkce\", \"state\"],\n      authorization: {{ params: {{ scope: \"{scope}\" }} }},\n    }},\n  ],\n}})\n",
                    settings.ui.site_name,
                    line(secret, "      clientSecret: process.env.LATCHKEY_CLIENT_SECRET,"),
                ),
            },
            Recipe {
                id: "spring",
                name: "Spring Security",
                place: "application.yml",
                text: format!(
                    "spring:\n  security:\n    oauth2:\n      client:\n        registration:\n          latchkey:\n            client-id: {id}\n{}            client-authentication-method: {}\n            authorization-grant-type: authorization_code\n            scope: {}\n            redirect-uri: \"{redirect}\"\n        provider:\n          latchkey:\n            issuer-uri: {issuer}\n",
                    line(secret, "            client-secret: ${LATCHKEY_CLIENT_SECRET}"),
                    if secret { "client_secret_basic" } else { "none" },
                    scope.replace(' ', ","),
                ),
            },
            Recipe {
                id: "authlib",
                name: "Python Authlib (Flask)",
                place: "your Flask app",
                text: format!(
                    "import os\nfrom authlib.integrations.flask_client import OAuth\n\noauth = OAuth(app)\noauth.register(\n    name=\"latchkey\",\n    client_id=\"{id}\",\n{}    server_metadata_url=\"{discovery_url}\",\n    client_kwargs={{\"scope\": \"{scope}\", \"code_challenge_method\": \"S256\"}},\n)\n\n# In the login view:\n#   return oauth.latchkey.authorize_redirect(\"{redirect}\")\n",
                    line(secret, "    client_secret=os.environ[\"LATCHKEY_CLIENT_SECRET\"],"),
                ),
            },
        ];
        ConnectPanel {
            issuer,
            discovery_url,
            client_id: client.id.clone(),
            redirect_uris: client.redirect_uris.clone(),
            recipes,
        }
    }
}

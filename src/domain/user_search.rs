//! Finding users in the admin list at any scale: by prefix of username or email, a page at a
//! time, each page one or two index ranges that start where the last page ended (keyset
//! paging). No total is counted: on a million users a count costs more than the page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::users::{User, UserError};
use crate::store::db::{self, Db};

/// One page of the list, and where the next starts if there is more.
#[derive(Debug)]
pub struct UserPage {
    pub users: Vec<User>,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

/// Where a page starts. Matches on the username come first, in username order; then users
/// matched by email alone, in email order.
#[derive(Debug, PartialEq)]
enum Cursor {
    Username(String),
    Email { email: String, username: String },
}

impl Cursor {
    fn after(user: &User) -> Cursor {
        Cursor::Username(user.username.to_lowercase())
    }

    fn after_email_match(user: &User) -> Cursor {
        let email = user.email.as_deref().map(db::users::email_key).unwrap_or_default();
        Cursor::Email { email, username: user.username.to_lowercase() }
    }

    fn encode(&self) -> String {
        let b64 = |text: &str| URL_SAFE_NO_PAD.encode(text);
        match self {
            Cursor::Username(username) => format!("u.{}", b64(username)),
            Cursor::Email { email, username } => format!("e.{}.{}", b64(email), b64(username)),
        }
    }

    fn decode(raw: &str) -> Result<Cursor, UserError> {
        let text = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(UserError::BadCursor)
        };
        let parts: Vec<&str> = raw.split('.').collect();
        match parts.as_slice() {
            ["u", username] => Ok(Cursor::Username(text(username)?)),
            ["e", email, username] => Ok(Cursor::Email { email: text(email)?, username: text(username)? }),
            _ => Err(UserError::BadCursor),
        }
    }
}

/// A page of at most `per_page` users matching `query`, starting after the cursor `after`.
///
/// `query` is a prefix of a username or an email address, without regard to case (empty:
/// every user). A query that starts with `*` matches anywhere in either (`*@corp.example`);
/// that walks the whole list on a large directory, so it is the exception.
pub async fn search_users(db: &Db, query: &str, after: Option<&str>, per_page: u64) -> Result<UserPage, UserError> {
    let after = after.filter(|raw| !raw.is_empty()).map(Cursor::decode).transpose()?;
    let query = query.trim().to_lowercase();
    if let Some(part) = query.strip_prefix('*') {
        let after = match &after {
            None => None,
            Some(Cursor::Username(key)) => Some(key.as_str()),
            Some(Cursor::Email { .. }) => return Err(UserError::BadCursor),
        };
        let users = db::users::containing(db, part, after, per_page + 1).await?;
        return Ok(page(users, per_page, |_, last| Cursor::after(last)));
    }
    let prefix = query.as_str();
    let mut users = Vec::new();
    if let None | Some(Cursor::Username(_)) = after {
        let after = match &after {
            Some(Cursor::Username(key)) => Some(key.as_str()),
            _ => None,
        };
        users = db::users::with_username_prefix(db, prefix, after, per_page + 1).await?;
        if users.len() as u64 > per_page || prefix.is_empty() {
            return Ok(page(users, per_page, |_, last| Cursor::after(last)));
        }
    }
    let email_after = match &after {
        Some(Cursor::Email { email, username }) => Some((email.as_str(), username.as_str())),
        _ => None,
    };
    let wanted = per_page + 1 - users.len() as u64;
    let by_email = db::users::with_only_email_prefix(db, prefix, email_after, wanted).await?;
    let by_username = users.len();
    users.extend(by_email);
    Ok(page(
        users,
        per_page,
        |index, last| {
            if index < by_username { Cursor::after(last) } else { Cursor::after_email_match(last) }
        },
    ))
}

/// The first `per_page` of `users` (fetched one more than a page, to tell whether more
/// follow) and the cursor after the last of them.
fn page(mut users: Vec<User>, per_page: u64, cursor_at: impl Fn(usize, &User) -> Cursor) -> UserPage {
    let more = users.len() as u64 > per_page;
    users.truncate(per_page as usize);
    let next = if more { users.last().map(|last| cursor_at(users.len() - 1, last).encode()) } else { None };
    UserPage { users, next }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn cursors_read_back_as_written() {
        for cursor in [
            Cursor::Username("al.ice@x".into()),
            Cursor::Email { email: "a.b@example.com".into(), username: "zoë".into() },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
        for bad in ["", "u", "x.YQ", "u.!!", "e.YQ", "u.YQ.YQ"] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }
}

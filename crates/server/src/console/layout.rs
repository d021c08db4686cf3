//! The page around every console page: head (the compiled-in stylesheet and
//! script only), the menu of the pages the viewer's role may open, who is
//! signed in with the session's idle timeout, and the logout button.

use axum::http::StatusCode;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use super::viewer::{Viewer, CSRF_FIELD};
use crate::auth::Role;

/// One entry of the menu.
pub(super) struct MenuItem {
    pub path: &'static str,
    pub label: &'static str,
    /// The roles that may open it (the route's guard checks the same).
    pub roles: &'static [Role],
}

/// The pages, in menu order.
pub(super) const MENU: &[MenuItem] = &[
    MenuItem {
        path: "/events",
        label: "Events",
        roles: &[Role::Auditor],
    },
    MenuItem {
        path: "/tail",
        label: "Live tail",
        roles: &[Role::Auditor],
    },
    MenuItem {
        path: "/overview",
        label: "Overview",
        roles: &[Role::Auditor],
    },
    MenuItem {
        path: "/status",
        label: "Monitor > Status",
        roles: &[Role::Admin, Role::Auditor],
    },
    MenuItem {
        path: "/integrity",
        label: "Integrity",
        roles: &[Role::Admin, Role::Auditor],
    },
    MenuItem {
        path: "/outputs",
        label: "Outputs",
        roles: &[Role::Admin, Role::Auditor],
    },
    MenuItem {
        path: "/users",
        label: "Users",
        roles: &[Role::Admin],
    },
];

/// A whole page for `viewer`, with `active` highlighted in the menu.
pub(super) fn page(title: &str, viewer: &Viewer, active: &str, body: Markup) -> Html<String> {
    page_refreshed(title, viewer, active, body, None)
}

/// [`page`], reloaded by the browser every `refresh_secs` (a live view
/// that needs no script: `<meta http-equiv="refresh">`).
pub(super) fn page_refreshed(
    title: &str,
    viewer: &Viewer,
    active: &str,
    body: Markup,
    refresh_secs: Option<u64>,
) -> Html<String> {
    shell(
        title,
        refresh_secs,
        html! {
            header.top {
                a.brand href="/" { "netaudit" }
                nav {
                    @for item in MENU.iter().filter(|i| viewer.has(i.roles)) {
                        a.active[item.path == active] href=(item.path) { (item.label) }
                    }
                }
                div.who {
                    span { (viewer.user) " (" (viewer.role) ")" }
                    span.idle id="idle" data-idle-secs=(viewer.idle_timeout_secs) {
                        "signs out after " (minutes(viewer.idle_timeout_secs)) " idle"
                    }
                    form.inline method="post" action="/logout" {
                        input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                        button type="submit" { "Log out" }
                    }
                }
            }
            main { (body) }
        },
    )
}

/// A page without a signed-in user (login, errors).
pub(super) fn bare(title: &str, body: Markup) -> Html<String> {
    shell(
        title,
        None,
        html! {
            header.top { a.brand href="/" { "netaudit" } }
            main { (body) }
        },
    )
}

/// The page of an error: its status and what went wrong.
pub(super) fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let reason = status.canonical_reason().unwrap_or("Error");
    bare(
        reason,
        html! {
            section.error {
                h1 { (status.as_u16()) " " (reason) }
                p.message { (message) }
                p { a href="/" { "Back to the console" } " · " a href="/login" { "Sign in" } }
            }
        },
    )
}

fn shell(title: &str, refresh_secs: Option<u64>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    @if let Some(secs) = refresh_secs { meta http-equiv="refresh" content=(secs); }
                    title { (title) " · netaudit" }
                    link rel="stylesheet" href="/assets/console.css";
                    script src="/assets/console.js" defer {}
                }
                body { (body) }
            }
        }
        .into_string(),
    )
}

/// `900` → `15 min`.
pub(super) fn minutes(secs: u64) -> String {
    let (whole, rest) = (secs / 60, secs % 60);
    if rest == 0 {
        format!("{whole} min")
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_escaped_on_error_pages() {
        let Html(text) = error_page(StatusCode::BAD_REQUEST, "<script>alert(1)</script>");
        assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!text.contains("<script>alert"));
    }
}

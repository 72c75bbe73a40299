//! A browser-like client for the dashboard over plain HTTP: it keeps the session cookie,
//! follows no redirects (tests assert them), and posts forms with the CSRF token of the page
//! they came from, the way a browser would.

use crate::helpers::{TestApp, TestBusiness};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        csrf_in(&self.html).expect("the page has a form with a CSRF token")
    }

    pub fn contains(&self, text: &str) -> bool {
        self.html.contains(text)
    }

    /// The text of the first `<code id="ID">…</code>` (how secrets shown once are marked).
    pub fn code_by_id(&self, id: &str) -> Option<String> {
        let start = self.html.find(&format!("id=\"{id}\""))?;
        let rest = &self.html[start..];
        let open = rest.find('>')? + 1;
        let close = rest[open..].find('<')?;
        Some(html_unescape(&rest[open..open + close]))
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

pub fn html_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

pub struct Dashboard {
    pub address: String,
    client: reqwest::Client,
    pub cookie: Option<String>,
}

impl Dashboard {
    pub fn new(app: &TestApp) -> Dashboard {
        Dashboard {
            address: app.address.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: None,
        }
    }

    /// Signs in as the business's first user (its owner).
    pub async fn sign_in_owner(app: &TestApp, business: &TestBusiness) -> Dashboard {
        let mut dashboard = Dashboard::new(app);
        let page = dashboard
            .sign_in(&business.dashboard_login, &business.dashboard_password)
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        dashboard
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let page = self
            .send_form(
                "/dashboard/sign-in",
                &[("email", email), ("password", password)],
            )
            .await;
        if let Some(cookie) = page
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("ducat_session="))
        {
            let pair = cookie.split(';').next().unwrap_or_default().to_owned();
            self.cookie = Some(pair);
        }
        page
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        into_page(request.send().await.expect("GET sent")).await
    }

    /// Posts the fields as a form, exactly as given (no CSRF token added).
    pub async fn send_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        into_page(request.send().await.expect("POST sent")).await
    }

    /// Loads `page_path` for its CSRF token, then posts the form to `action` with it.
    pub async fn submit(&self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{page_path}: {}", page.html);
        let token = page.csrf();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.send_form(action, &all).await
    }
}

async fn into_page(response: reqwest::Response) -> Page {
    let status = response.status();
    let headers = response.headers().clone();
    let html = response.text().await.unwrap_or_default();
    Page {
        status,
        headers,
        html,
    }
}

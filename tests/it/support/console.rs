//! A plain HTTP client for the console's pages, as a browser without
//! JavaScript would use them: it keeps the session cookie, does not follow
//! redirects (tests look at them), and reads the CSRF token out of a page.

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use super::relay::TOKEN;

/// One answer of the console.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|value| value.to_str().ok())
    }

    /// The value of the first hidden CSRF field of the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start =
            self.body.find(marker).unwrap_or_else(|| panic!("no CSRF field in page:\n{}", self.body)) + marker.len();
        let end = self.body[start..].find('"').expect("the value ends") + start;
        self.body[start..end].to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A visitor of one console.
pub struct Visitor {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

impl Visitor {
    pub fn new(base: &str) -> Self {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().expect("client builds");
        Self { base: base.to_owned(), client, cookie: None }
    }

    /// The session cookie's value, as `name=value`.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.expect("the console answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().expect("cookie text");
            let pair = text.split(';').next().expect("a pair").trim().to_owned();
            if pair.ends_with('=') {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        let body = response.text().await.expect("reads the answer");
        Page { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// A form POST with exactly `fields` (add the CSRF token yourself).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.client.post(format!("{}{path}", self.base)).form(fields);
        self.send(request).await
    }

    /// A form POST carrying the CSRF token of the page at `from`.
    pub async fn submit(&mut self, from: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).await.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Signs in with `token`; returns the answer to the sign-in POST.
    pub async fn sign_in_with(&mut self, token: &str) -> Page {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post("/sign-in", &[("csrf_token", &csrf), ("token", token), ("next", "/")]).await
    }

    /// Signs in with the test relay's token and checks it worked.
    pub async fn sign_in(&mut self) {
        let answer = self.sign_in_with(TOKEN).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(answer.location(), Some("/"));
    }
}

//! Where an alert came from, and the id and idempotency namespace that gives it:
//! API alerts, each inbound source and the CLI have separate id spaces, so that
//! one origin can never suppress or overwrite another's alert.
//!
//! | origin | stored alert id | idempotency key |
//! | --- | --- | --- |
//! | `POST /api/v1/alerts` | `api:<id>` | `api:<Idempotency-Key>` |
//! | `POST /hooks/<source>` | `hook:<source>:<id>` | `hook:<source>:<webhook-id>` |
//! | `flockrelay send` | `cli:<id>` | — |
//!
//! The prefix is added to whatever the sender gave, whatever it looks like: a
//! client posting `{"id": "hook:console:INC-42"}` gets `api:hook:console:INC-42`,
//! which no webhook can ever produce. The namespaced id is the alert's id
//! everywhere it is shown (answers, the message list, templates' `alert.id`).
//!
//! Pure: the one place that knows the namespaces.

/// The origin of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOrigin<'a> {
    /// `POST /api/v1/alerts` (API clients share one space: they hold the API token).
    Api,
    /// `POST /hooks/<source>`: one space per source.
    Hook { source: &'a str },
    /// `flockrelay send`.
    Cli,
}

impl AlertOrigin<'_> {
    /// The namespace prefix, with its trailing `:`.
    fn prefix(&self) -> String {
        match self {
            Self::Api => "api:".to_owned(),
            Self::Hook { source } => format!("hook:{source}:"),
            Self::Cli => "cli:".to_owned(),
        }
    }

    /// The stored id of an alert the sender calls `id`.
    pub fn alert_id(&self, id: &str) -> String {
        format!("{}{id}", self.prefix())
    }

    /// The stored idempotency key of a key (an `Idempotency-Key`, a `webhook-id`).
    pub fn idempotency_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix())
    }

    /// The `source` label of `flockrelay_alerts_received_total`.
    pub fn label(&self) -> String {
        match self {
            Self::Api => "api".to_owned(),
            Self::Hook { source } => format!("hook:{source}"),
            Self::Cli => "cli".to_owned(),
        }
    }
}

/// The stored alert ids an `alert` filter (`GET /api/v1/messages?alert=`,
/// `flockrelay messages list --alert`) matches: the id exactly as shown in
/// answers, or the id an API client posted (`INC-42` finds `api:INC-42`).
pub fn filter_ids(alert: &str) -> [String; 2] {
    [alert.to_owned(), AlertOrigin::Api.alert_id(alert)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_origin_has_its_own_space_whatever_prefix_a_sender_uses() {
        let posted = AlertOrigin::Api.alert_id("console:INC-42");
        let hooked = AlertOrigin::Hook { source: "console" }.alert_id("INC-42");
        assert_eq!((posted.as_str(), hooked.as_str()), ("api:console:INC-42", "hook:console:INC-42"));
        assert_ne!(AlertOrigin::Api.alert_id("hook:console:INC-42"), hooked);
        assert_ne!(AlertOrigin::Cli.alert_id("x"), AlertOrigin::Api.alert_id("x"));
        // Source ids hold no `:` (see `ingest::inbound::valid_source_id`), so two sources never overlap.
        assert_ne!(AlertOrigin::Hook { source: "a" }.alert_id("x"), AlertOrigin::Hook { source: "b" }.alert_id("x"));
        assert_eq!(AlertOrigin::Api.idempotency_key("k"), "api:k");
        assert_eq!(AlertOrigin::Hook { source: "svix" }.idempotency_key("msg_1"), "hook:svix:msg_1");
    }

    #[test]
    fn a_filter_finds_the_shown_id_and_the_posted_one() {
        assert_eq!(filter_ids("INC-42"), ["INC-42".to_owned(), "api:INC-42".to_owned()]);
        assert_eq!(filter_ids("api:INC-42"), ["api:INC-42".to_owned(), "api:api:INC-42".to_owned()]);
    }
}

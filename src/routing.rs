//! The per-flock resolver: which destinations an alert goes to.
//!
//! ```text
//! resolve(flock) =
//!   if flock.use_global: global.enabled ? global destinations : []
//!   elif flock.enabled:  the flock's own destinations
//!   else:                []
//! ```
//! then each destination's own state (disabled gets nothing) and event filter.
//! Pure: no I/O, table-tested below.

use crate::alert::Alert;
use crate::destination::Destination;
use crate::flock::{FlockSettings, Scope};

/// The destination set a flock's alerts go to, or `None` when webhooks are off.
pub fn effective_scope(flock_id: &str, flock: &FlockSettings, global_enabled: bool) -> Option<Scope> {
    if flock.use_global {
        global_enabled.then_some(Scope::Global)
    } else if flock.enabled {
        Some(Scope::Flock(flock_id.to_owned()))
    } else {
        None
    }
}

/// Whether webhooks are in effect for a flock (the Canary API's `webhooks_enabled`).
pub fn webhooks_enabled(flock: &FlockSettings, global_enabled: bool) -> bool {
    effective_scope("", flock, global_enabled).is_some()
}

/// Every enabled destination of the flock's effective set, regardless of event
/// filters: what a test notification goes to.
pub fn resolve_all<'a>(
    flock_id: &str,
    flock: &FlockSettings,
    global_enabled: bool,
    destinations: &'a [Destination],
) -> Vec<&'a Destination> {
    let Some(scope) = effective_scope(flock_id, flock, global_enabled) else {
        return Vec::new();
    };
    destinations.iter().filter(|destination| destination.enabled && destination.scope == scope).collect()
}

/// The destinations `alert` goes to.
pub fn resolve<'a>(
    alert: &Alert,
    flock: &FlockSettings,
    global_enabled: bool,
    destinations: &'a [Destination],
) -> Vec<&'a Destination> {
    let mut resolved = resolve_all(&alert.flock_id, flock, global_enabled, destinations);
    resolved.retain(|destination| destination.events.matches(&alert.kind));
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::EventFilter;
    use crate::notify::generic::config::GenericSettings;
    use crate::notify::Channel;
    use chrono::Utc;
    use serde_json::json;

    fn destination(id: &str, scope: Scope, enabled: bool, events: &[&str]) -> Destination {
        let channel = Channel::Generic(GenericSettings {
            url: "https://example.com/hook".parse().expect("valid URL"),
            headers: Default::default(),
            auth: None,
            signing: None,
            permanent_statuses: Vec::new(),
        });
        Destination {
            events: EventFilter(events.iter().map(|event| (*event).to_owned()).collect()),
            enabled,
            ..Destination::new(id, scope, channel)
        }
    }

    fn destinations() -> Vec<Destination> {
        let soc = || Scope::Flock("flock:soc".into());
        vec![
            destination("global-on", Scope::Global, true, &[]),
            destination("global-off", Scope::Global, false, &[]),
            destination("global-tokens", Scope::Global, true, &["canarytoken.*"]),
            destination("soc-on", soc(), true, &[]),
            destination("soc-off", soc(), false, &[]),
            destination("soc-incidents", soc(), true, &["canary.incident"]),
            destination("other-on", Scope::Flock("flock:other".into()), true, &[]),
        ]
    }

    fn alert(kind: &str) -> Alert {
        Alert::from_value(json!({"kind": kind, "title": "t", "flock_id": "flock:soc"}), Utc::now())
            .expect("valid alert")
    }

    /// Every combination of use_global × enabled × global enabled × event kind.
    #[test]
    fn every_combination_resolves_as_designed() {
        let all = destinations();
        let cases: [(bool, bool, bool, &str, &[&str]); 16] = [
            // use_global, enabled, global_enabled, kind, expected
            (true, true, true, "canary.incident", &["global-on"]),
            (true, true, true, "canarytoken.dns", &["global-on", "global-tokens"]),
            (true, false, true, "canary.incident", &["global-on"]),
            (true, false, true, "canarytoken.dns", &["global-on", "global-tokens"]),
            (true, true, false, "canary.incident", &[]),
            (true, true, false, "canarytoken.dns", &[]),
            (true, false, false, "canary.incident", &[]),
            (true, false, false, "canarytoken.dns", &[]),
            (false, true, true, "canary.incident", &["soc-on", "soc-incidents"]),
            (false, true, true, "canarytoken.dns", &["soc-on"]),
            (false, true, false, "canary.incident", &["soc-on", "soc-incidents"]),
            (false, true, false, "canarytoken.dns", &["soc-on"]),
            (false, false, true, "canary.incident", &[]),
            (false, false, true, "canarytoken.dns", &[]),
            (false, false, false, "canary.incident", &[]),
            (false, false, false, "canarytoken.dns", &[]),
        ];
        for (use_global, enabled, global_enabled, kind, expected) in cases {
            let flock = FlockSettings { use_global, enabled };
            let got: Vec<&str> =
                resolve(&alert(kind), &flock, global_enabled, &all).iter().map(|d| d.id.as_str()).collect();
            assert_eq!(got, expected, "use_global={use_global} enabled={enabled} global={global_enabled} kind={kind}");
            assert_eq!(
                webhooks_enabled(&flock, global_enabled),
                if use_global { global_enabled } else { enabled },
                "webhooks_enabled use_global={use_global} enabled={enabled} global={global_enabled}"
            );
        }
    }

    #[test]
    fn test_notifications_ignore_event_filters_but_not_state() {
        let all = destinations();
        let own = FlockSettings { use_global: false, enabled: true };
        let ids: Vec<&str> = resolve_all("flock:soc", &own, true, &all).iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["soc-on", "soc-incidents"]);
    }
}

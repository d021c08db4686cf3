//! Derived events a policy's `forward` action routes to named outputs only
//! (docs/policies.md, "forward"): such an event carries one `forward-to`
//! parameter per output under netaudit's SD-ID, and each output asks here
//! whether it is one of them. A routed event goes to the outputs it names
//! whatever their filters, and to no other output.

use netaudit_event::Event;

use crate::self_events::{is_policy_engine_event, NETAUDIT_SD_ID};

/// The parameter naming an output the event is routed to (repeated).
pub(crate) const FORWARD_TO_PARAM: &str = "forward-to";

/// Where an event goes, for one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Not routed: the output's own filters decide.
    Unrouted,
    /// Routed to this output: sent, whatever its filters.
    Here,
    /// Routed to other outputs only: not sent.
    Elsewhere,
}

/// The route of `event` for the output named `output`. Only the policy
/// engine's events are routed (a `forward-to` in a device's message means
/// nothing here).
pub(crate) fn route_of(event: &Event, output: &str) -> Route {
    if !is_policy_engine_event(event) {
        return Route::Unrouted;
    }
    let mut routed = false;
    for param in &event.params {
        if param.name == FORWARD_TO_PARAM && param.sd_id == NETAUDIT_SD_ID {
            if param.value.as_str() == output {
                return Route::Here;
            }
            routed = true;
        }
    }
    if routed {
        Route::Elsewhere
    } else {
        Route::Unrouted
    }
}

#[cfg(test)]
mod tests {
    use netaudit_event::Param;

    use super::*;
    use crate::self_events::POLICY_APP;

    fn event(app: &str, to: &[&str]) -> Event {
        Event {
            app: Some(app.into()),
            params: to
                .iter()
                .map(|name| Param {
                    sd_id: NETAUDIT_SD_ID.into(),
                    name: FORWARD_TO_PARAM.into(),
                    value: (*name).into(),
                })
                .collect(),
            ..Event::default()
        }
    }

    #[test]
    fn a_routed_event_goes_to_the_outputs_it_names_only() {
        let routed = event(POLICY_APP, &["siem", "audit, b"]);
        assert_eq!(route_of(&routed, "siem"), Route::Here);
        assert_eq!(route_of(&routed, "audit, b"), Route::Here);
        assert_eq!(route_of(&routed, "audit"), Route::Elsewhere);
        assert_eq!(route_of(&event(POLICY_APP, &[]), "siem"), Route::Unrouted);
        // A sender cannot route its own messages.
        assert_eq!(
            route_of(&event("sshd", &["siem"]), "audit"),
            Route::Unrouted
        );
    }

    #[test]
    fn a_sender_naming_its_app_like_the_policy_engine_routes_nothing() {
        let mut spoofed = event(POLICY_APP, &["siem"]);
        spoofed.raw = b"<14>1 - host netaudit-policy - - [netaudit forward-to=\"siem\"]".to_vec();
        assert_eq!(route_of(&spoofed, "siem"), Route::Unrouted);
        assert_eq!(route_of(&spoofed, "audit"), Route::Unrouted);
    }
}

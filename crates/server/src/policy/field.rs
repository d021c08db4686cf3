//! The fields a correlation groups events by (`group_by`).

use netaudit_event::Event;

/// One `group_by` entry: an event field, or an SD parameter by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupField {
    Host,
    Device,
    User,
    App,
    Code,
    ClientAddress,
    /// `param:NAME`: the first SD parameter of that name.
    Param(String),
}

impl GroupField {
    /// `host`, `device`, `user`, `app`, `code`, `client-address` or
    /// `param:NAME`; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<GroupField> {
        Some(match text {
            "host" => GroupField::Host,
            "device" => GroupField::Device,
            "user" => GroupField::User,
            "app" => GroupField::App,
            "code" => GroupField::Code,
            "client-address" => GroupField::ClientAddress,
            other => {
                let name = other.strip_prefix("param:")?;
                if name.is_empty() {
                    return None;
                }
                GroupField::Param(name.to_owned())
            }
        })
    }

    /// The name as configured (and as the derived event names it).
    pub(crate) fn name(&self) -> String {
        match self {
            GroupField::Host => "host".into(),
            GroupField::Device => "device".into(),
            GroupField::User => "user".into(),
            GroupField::App => "app".into(),
            GroupField::Code => "code".into(),
            GroupField::ClientAddress => "client-address".into(),
            GroupField::Param(name) => format!("param:{name}"),
        }
    }

    /// The event's value of this field; an absent one groups as empty.
    pub(crate) fn value<'e>(&self, event: &'e Event) -> &'e str {
        let value = match self {
            GroupField::Host => event.host.as_deref(),
            GroupField::Device => event.device.as_deref(),
            GroupField::User => event.user.as_deref(),
            GroupField::App => event.app.as_deref(),
            GroupField::Code => event.code.as_deref(),
            GroupField::ClientAddress => event.client_addr.as_deref(),
            GroupField::Param(name) => event.param(name),
        };
        value.unwrap_or("")
    }
}

/// The values of `fields` for `event`, in order.
pub(crate) fn group_of(fields: &[GroupField], event: &Event) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|f| (f.name(), f.value(event).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for name in [
            "host",
            "device",
            "user",
            "app",
            "code",
            "client-address",
            "param:source-address",
        ] {
            assert_eq!(GroupField::parse(name).unwrap().name(), name);
        }
        assert_eq!(GroupField::parse("source-address"), None);
        assert_eq!(GroupField::parse("param:"), None);
    }
}

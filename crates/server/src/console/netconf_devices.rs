//! The NETCONF devices section of the Outputs page: each `[[input.netconf]]`
//! device's connection, events and reconnections, from the same status
//! `GET /api/v1/inputs/netconf` answers (`Metrics::netconf_status`).

use maud::{html, Markup};

use crate::metrics::NetconfDeviceStatus;

/// The section, or a line saying that no device is configured.
pub(super) fn netconf_devices_section(devices: &[NetconfDeviceStatus]) -> Markup {
    html! {
        h2 { "NETCONF devices" }
        @if devices.is_empty() {
            p.empty { "No NETCONF device is configured ([[input.netconf]] in the configuration file)." }
        } @else {
            table.events id="netconf-devices" {
                thead { tr {
                    th { "Device" } th { "Peer" } th { "Connected" } th { "Events received" }
                    th { "Last event" } th { "Sessions" } th { "Reconnects" } th { "Failures" }
                    th { "Last error" } th { "Negotiated" }
                } }
                tbody {
                    @for d in devices {
                        tr data-device=(d.device) {
                            td { (d.device) }
                            td { (d.peer) }
                            td { @if d.connected { span.badge.ok { "yes" } } @else { span.badge.locked { "no" } } }
                            td.events-received { (d.events_received) }
                            td { (d.last_event_time.as_deref().unwrap_or("none yet")) }
                            td { (d.sessions) }
                            td.reconnects { (d.reconnects) }
                            td.failures { (d.failures) }
                            td.last-error { (d.last_error.as_deref().unwrap_or("")) }
                            td { (d.negotiated.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(device: &str, connected: bool, error: Option<&str>) -> NetconfDeviceStatus {
        NetconfDeviceStatus {
            device: device.into(),
            peer: "192.0.2.1:830".into(),
            connected,
            events_received: 8,
            last_event_time: None,
            sessions: 1,
            reconnects: 2,
            failures: 3,
            last_error: error.map(str::to_string),
            negotiated: None,
        }
    }

    #[test]
    fn each_device_is_a_row_and_device_text_is_escaped() {
        let page = netconf_devices_section(&[
            status("r1", true, None),
            status("<b>r2</b>", false, Some("cannot connect: <refused>")),
        ])
        .into_string();
        assert!(page.contains("<tr data-device=\"r1\"><td>r1</td><td>192.0.2.1:830</td><td><span class=\"badge ok\">yes</span></td><td class=\"events-received\">8</td><td>none yet</td><td>1</td><td class=\"reconnects\">2</td><td class=\"failures\">3</td>"), "{page}");
        assert!(page.contains("&lt;b&gt;r2&lt;/b&gt;"), "{page}");
        assert!(page.contains("cannot connect: &lt;refused&gt;"), "{page}");
        assert!(!page.contains("<b>r2"), "{page}");
        assert!(netconf_devices_section(&[])
            .into_string()
            .contains("No NETCONF device is configured"));
    }
}

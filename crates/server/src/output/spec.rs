//! Which outputs a configuration asks for, as the reload compares them.

use crate::config::output::radius::RadiusOutputConfig;
use crate::config::{FileOutputConfig, OutputConfig, SyslogOutputConfig};
use crate::output::consumer::OutputKind;

/// One output's configuration, as the reload compares them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutputSpec {
    Syslog(SyslogOutputConfig),
    File(FileOutputConfig),
    Radius(RadiusOutputConfig),
}

impl OutputSpec {
    pub(crate) fn name(&self) -> &str {
        match self {
            OutputSpec::Syslog(c) => &c.name,
            OutputSpec::File(c) => &c.name,
            OutputSpec::Radius(c) => &c.name,
        }
    }

    /// The durable cursor's name in the store.
    pub(crate) fn cursor_name(&self) -> String {
        self.kind().cursor_name(self.name())
    }

    pub(crate) fn kind(&self) -> OutputKind {
        match self {
            OutputSpec::Syslog(_) => OutputKind::Syslog,
            OutputSpec::File(_) => OutputKind::File,
            OutputSpec::Radius(_) => OutputKind::Radius,
        }
    }

    pub(crate) fn all(config: &OutputConfig) -> Vec<OutputSpec> {
        config
            .syslog
            .iter()
            .cloned()
            .map(OutputSpec::Syslog)
            .chain(config.file.iter().cloned().map(OutputSpec::File))
            .chain(config.radius.iter().cloned().map(OutputSpec::Radius))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_names_say_the_kind() {
        let config = crate::config::Config::from_toml(
            "[[output.syslog]]\nname = \"siem\"\ntransport = \"udp\"\naddress = \"127.0.0.1:514\"\n[[output.file]]\nname = \"audit\"\ndir = \"/tmp/x\"\n",
            "t",
        )
        .unwrap();
        let names: Vec<String> = OutputSpec::all(&config.output)
            .iter()
            .map(OutputSpec::cursor_name)
            .collect();
        assert_eq!(names, ["syslog:siem", "file:audit"]);
    }
}

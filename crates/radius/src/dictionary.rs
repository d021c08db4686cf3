//! Attribute names, numbers and types, read from FreeRADIUS-format
//! dictionary text.
//!
//! The reader understands the subset of the FreeRADIUS format that plain
//! RFC 2865 attributes need: `ATTRIBUTE name number type [vendor]`,
//! `VALUE attribute name number`, `VENDOR name number [format=1,1]`,
//! `BEGIN-VENDOR name` / `END-VENDOR name`, and `#` comments. Types are
//! `string`, `octets`, `integer`, `ipaddr`, `date` and `vsa` (type 26 only).
//! Anything else is an error naming the file and line, never skipped: a
//! silently ignored line would send numbers the server reads differently.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::packet::{Attribute, Packet, VENDOR_SPECIFIC};
use crate::RadiusError;

/// The standard attributes, compiled in.
const STANDARD_TEXT: &str = include_str!("dictionary.standard");
/// The JUNOScope vendor attributes, compiled in from the file that is
/// shipped for RADIUS servers, so both always agree.
const JUNOSCOPE_TEXT: &str = include_str!("../../../dictionary/dictionary.junoscope");

/// How an attribute's value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// UTF-8 text, 1..=253 octets.
    String,
    /// Arbitrary octets.
    Octets,
    /// 32-bit unsigned integer, network byte order; may have named values.
    Integer,
    /// IPv4 address, 4 octets.
    IpAddr,
    /// Seconds since 1970-01-01T00:00:00Z, 32 bits.
    Date,
    /// The Vendor-Specific attribute itself (type 26).
    Vsa,
}

impl DataType {
    fn from_name(name: &str) -> Option<DataType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "string" => DataType::String,
            "octets" => DataType::Octets,
            "integer" => DataType::Integer,
            "ipaddr" => DataType::IpAddr,
            "date" => DataType::Date,
            "vsa" => DataType::Vsa,
            _ => return None,
        })
    }

    /// The dictionary keyword.
    pub fn name(self) -> &'static str {
        match self {
            DataType::String => "string",
            DataType::Octets => "octets",
            DataType::Integer => "integer",
            DataType::IpAddr => "ipaddr",
            DataType::Date => "date",
            DataType::Vsa => "vsa",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One attribute definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDef {
    /// The dictionary name, e.g. `Acct-Session-Id`.
    pub name: String,
    /// `None` for standard attributes, the vendor id for vendor ones.
    pub vendor: Option<u32>,
    /// The attribute type, or the vendor type inside Vendor-Specific.
    pub number: u8,
    /// How the value is encoded.
    pub data_type: DataType,
}

impl AttributeDef {
    /// An attribute of this definition carrying `value`.
    pub fn with_value(&self, value: Vec<u8>) -> Attribute {
        match self.vendor {
            None => Attribute::octets(self.number, value),
            Some(vendor_id) => Attribute::vendor_octets(vendor_id, self.number, value),
        }
    }

    fn key(&self) -> Key {
        (self.vendor, self.number)
    }
}

type Key = (Option<u32>, u8);

/// Attribute names, numbers, types and named values.
///
/// Names are matched without regard to case, as FreeRADIUS does. Several
/// names may share one number (aliases); when a number is turned into a
/// name, the one defined last wins, as in FreeRADIUS.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    attributes: Vec<AttributeDef>,
    by_name: HashMap<String, usize>,
    by_number: HashMap<Key, usize>,
    /// Named values per attribute number, in definition order.
    values: HashMap<Key, Vec<(String, u32)>>,
    /// Vendor name (as written) and id.
    vendors: Vec<(String, u32)>,
}

impl Dictionary {
    /// An empty dictionary.
    pub fn new() -> Dictionary {
        Dictionary::default()
    }

    /// The compiled-in dictionary: the RFC 2865/2866 attributes accounting
    /// uses, Event-Timestamp, VENDOR Juniper 2636 and the JUNOScope vendor
    /// attributes of `dictionary/dictionary.junoscope`.
    pub fn builtin() -> Dictionary {
        let mut dictionary = Dictionary::new();
        // Both texts are part of this crate and checked by its tests, so a
        // failure here is a build defect, not bad input.
        if let Err(error) = dictionary
            .load_freeradius(STANDARD_TEXT, "dictionary.standard")
            .and_then(|()| dictionary.load_freeradius(JUNOSCOPE_TEXT, "dictionary.junoscope"))
        {
            panic!("compiled-in RADIUS dictionary is invalid: {error}");
        }
        dictionary
    }

    /// A dictionary read from one FreeRADIUS-format text; `file_name` names
    /// it in errors.
    pub fn parse_freeradius(text: &str, file_name: &str) -> Result<Dictionary, RadiusError> {
        let mut dictionary = Dictionary::new();
        dictionary.load_freeradius(text, file_name)?;
        Ok(dictionary)
    }

    /// Adds the definitions of one more FreeRADIUS-format text, which may
    /// use the vendors and attributes already known (for example a file
    /// with `BEGIN-VENDOR Juniper` read on top of [`Dictionary::builtin`]).
    /// On error the dictionary is left as it was.
    pub fn load_freeradius(&mut self, text: &str, file_name: &str) -> Result<(), RadiusError> {
        let mut next = self.clone();
        let mut reader = Reader {
            dictionary: &mut next,
            file: file_name,
            line: 0,
            vendor_block: None,
        };
        for (index, line) in text.lines().enumerate() {
            reader.line = index + 1;
            reader.read_line(line)?;
        }
        if let Some((vendor, begun_at)) = reader.vendor_block {
            return Err(RadiusError::Dictionary {
                file: file_name.to_string(),
                line: begun_at,
                message: format!("BEGIN-VENDOR {vendor} has no matching END-VENDOR"),
            });
        }
        *self = next;
        Ok(())
    }

    /// The definition of an attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        let index = *self.by_name.get(&name.to_ascii_lowercase())?;
        self.attributes.get(index)
    }

    /// The definition of an attribute by vendor (`None` for standard) and
    /// number.
    pub fn by_number(&self, vendor: Option<u32>, number: u8) -> Option<&AttributeDef> {
        let index = *self.by_number.get(&(vendor, number))?;
        self.attributes.get(index)
    }

    /// The number of a named value of an integer attribute, e.g.
    /// `value("Acct-Status-Type", "Start") == Some(1)`.
    pub fn value(&self, attribute: &str, value_name: &str) -> Option<u32> {
        let def = self.attribute(attribute)?;
        self.values
            .get(&def.key())?
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value_name))
            .map(|(_, number)| *number)
    }

    /// The name of an integer attribute's value (the last defined, if
    /// several share the number).
    pub fn value_name(&self, def: &AttributeDef, number: u32) -> Option<&str> {
        self.values
            .get(&def.key())?
            .iter()
            .rev()
            .find(|(_, n)| *n == number)
            .map(|(name, _)| name.as_str())
    }

    /// The id of a vendor by name.
    pub fn vendor(&self, name: &str) -> Option<u32> {
        self.vendors
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, id)| *id)
    }

    /// Every attribute definition, in the order read.
    pub fn attributes(&self) -> &[AttributeDef] {
        &self.attributes
    }

    /// The same dictionary with vendor attributes moved to other numbers:
    /// each `(name, number)` moves the named attribute and all its aliases
    /// (and its named values). Fails, naming the attribute, if the name is
    /// unknown or not a vendor attribute, if the number is 0, or if another
    /// attribute of the same vendor already has the number.
    pub fn with_overrides<I, S>(mut self, overrides: I) -> Result<Dictionary, RadiusError>
    where
        I: IntoIterator<Item = (S, u8)>,
        S: AsRef<str>,
    {
        for (name, number) in overrides {
            let name = name.as_ref();
            let failed = |message: String| RadiusError::Override {
                name: name.to_string(),
                message,
            };
            let def = self
                .attribute(name)
                .ok_or_else(|| failed("no such attribute in the dictionary".to_string()))?;
            let Some(vendor) = def.vendor else {
                return Err(failed(
                    "only vendor attributes can be renumbered".to_string(),
                ));
            };
            if number == 0 {
                return Err(failed("vendor type 0 is not allowed".to_string()));
            }
            let old = def.key();
            let new = (Some(vendor), number);
            if old == new {
                continue;
            }
            if let Some(other) = self.by_number(Some(vendor), number) {
                return Err(failed(format!(
                    "number {number} is already used by {}",
                    other.name
                )));
            }
            for def in self.attributes.iter_mut().filter(|d| d.key() == old) {
                def.number = number;
            }
            if let Some(values) = self.values.remove(&old) {
                self.values.insert(new, values);
            }
            if let Some(index) = self.by_number.remove(&old) {
                self.by_number.insert(new, index);
            }
        }
        Ok(self)
    }

    /// An attribute by name from its text form: the text itself for
    /// `string`; a value name or decimal number for `integer`; dotted quad
    /// for `ipaddr`; seconds since 1970 or RFC 3339 for `date`; `0x` and
    /// hex digits for `octets`.
    pub fn attribute_from_text(&self, name: &str, text: &str) -> Result<Attribute, RadiusError> {
        let def = self
            .attribute(name)
            .ok_or_else(|| RadiusError::UnknownAttribute {
                name: name.to_string(),
            })?;
        let invalid = |expected: &str| RadiusError::InvalidValue {
            attribute: def.name.clone(),
            value: text.to_string(),
            expected: expected.to_string(),
        };
        let value = match def.data_type {
            DataType::String => text.as_bytes().to_vec(),
            DataType::Integer => {
                let number = match self.value(name, text) {
                    Some(number) => number,
                    None => text
                        .parse::<u32>()
                        .map_err(|_| invalid("a value name or a 32-bit number"))?,
                };
                number.to_be_bytes().to_vec()
            }
            DataType::IpAddr => text
                .parse::<Ipv4Addr>()
                .map_err(|_| invalid("an IPv4 address"))?
                .octets()
                .to_vec(),
            DataType::Date => {
                let seconds = match text.parse::<u32>() {
                    Ok(seconds) => seconds,
                    Err(_) => OffsetDateTime::parse(text, &Rfc3339)
                        .ok()
                        .and_then(|t| u32::try_from(t.unix_timestamp()).ok())
                        .ok_or_else(|| {
                            invalid("seconds since 1970 or an RFC 3339 time from 1970 to 2106")
                        })?,
                };
                seconds.to_be_bytes().to_vec()
            }
            DataType::Octets => text
                .strip_prefix("0x")
                .and_then(parse_hex)
                .ok_or_else(|| invalid("0x followed by hex digits"))?,
            DataType::Vsa => return Err(invalid("a vendor attribute, not raw Vendor-Specific")),
        };
        Ok(def.with_value(value))
    }

    /// The packet's attributes as (name, value) text pairs, for logs and
    /// tests. Unknown attributes are named as FreeRADIUS does
    /// (`Attr-99`, `Attr-26.2636.7`); values that do not fit their type
    /// are shown as `0x` and hex.
    pub fn describe(&self, packet: &Packet) -> Vec<(String, String)> {
        packet
            .attributes
            .iter()
            .map(|attribute| self.describe_attribute(attribute))
            .collect()
    }

    /// One attribute as a (name, value) text pair.
    pub fn describe_attribute(&self, attribute: &Attribute) -> (String, String) {
        let value = attribute.value();
        match self.by_number(attribute.vendor_id(), attribute.number()) {
            None => (attribute.to_string(), hex_text(value)),
            Some(def) => (def.name.clone(), self.value_text(def, value)),
        }
    }

    fn value_text(&self, def: &AttributeDef, value: &[u8]) -> String {
        let four = <[u8; 4]>::try_from(value).ok();
        match (def.data_type, four) {
            (DataType::String, _) => match std::str::from_utf8(value) {
                Ok(text) => text.to_string(),
                Err(_) => hex_text(value),
            },
            (DataType::Integer, Some(octets)) => {
                let number = u32::from_be_bytes(octets);
                match self.value_name(def, number) {
                    Some(name) => name.to_string(),
                    None => number.to_string(),
                }
            }
            (DataType::IpAddr, Some(octets)) => Ipv4Addr::from(octets).to_string(),
            (DataType::Date, Some(octets)) => {
                let seconds = i64::from(u32::from_be_bytes(octets));
                OffsetDateTime::from_unix_timestamp(seconds)
                    .ok()
                    .and_then(|t| t.format(&Rfc3339).ok())
                    .unwrap_or_else(|| seconds.to_string())
            }
            _ => hex_text(value),
        }
    }

    fn define_attribute(&mut self, def: AttributeDef) -> Result<(), String> {
        let lower = def.name.to_ascii_lowercase();
        if let Some(existing) = self.attribute(&def.name) {
            if existing.key() == def.key() && existing.data_type == def.data_type {
                return Ok(());
            }
            return Err(format!(
                "attribute {} is already defined as {} {}",
                def.name,
                describe_key(existing.key()),
                existing.data_type
            ));
        }
        if let Some(alias) = self.by_number(def.vendor, def.number) {
            if alias.data_type != def.data_type {
                return Err(format!(
                    "attribute {} ({}) has the number of {} ({}): aliases must have the same type",
                    def.name, def.data_type, alias.name, alias.data_type
                ));
            }
        }
        let index = self.attributes.len();
        self.by_name.insert(lower, index);
        self.by_number.insert(def.key(), index);
        self.attributes.push(def);
        Ok(())
    }
}

fn describe_key((vendor, number): Key) -> String {
    match vendor {
        None => format!("number {number}"),
        Some(vendor) => format!("vendor {vendor} number {number}"),
    }
}

fn hex_text(value: &[u8]) -> String {
    let mut out = String::with_capacity(2 + value.len() * 2);
    out.push_str("0x");
    for byte in value {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok().filter(|p| p.len() == 2)?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// A number in decimal or `0x` hex.
fn parse_number(text: &str) -> Option<u32> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

struct Reader<'a> {
    dictionary: &'a mut Dictionary,
    file: &'a str,
    line: usize,
    /// The open vendor block: vendor name and the line of its BEGIN-VENDOR.
    vendor_block: Option<(String, usize)>,
}

impl Reader<'_> {
    fn read_line(&mut self, line: &str) -> Result<(), RadiusError> {
        let content = line.split('#').next().unwrap_or_default();
        let fields: Vec<&str> = content.split_whitespace().collect();
        let Some((keyword, args)) = fields.split_first() else {
            return Ok(());
        };
        let outcome = match *keyword {
            "ATTRIBUTE" => self.attribute(args),
            "VALUE" => self.value(args),
            "VENDOR" => self.vendor(args),
            "BEGIN-VENDOR" => self.begin_vendor(args),
            "END-VENDOR" => self.end_vendor(args),
            "$INCLUDE" | "$INCLUDE-" => Err(
                "$INCLUDE is not supported here; load each file with load_freeradius".to_string(),
            ),
            other => Err(format!("unknown keyword {other:?}")),
        };
        outcome.map_err(|message| RadiusError::Dictionary {
            file: self.file.to_string(),
            line: self.line,
            message,
        })
    }

    fn attribute(&mut self, args: &[&str]) -> Result<(), String> {
        let (name, number, type_name, extra) = match args {
            [name, number, type_name] => (*name, *number, *type_name, None),
            [name, number, type_name, extra] => (*name, *number, *type_name, Some(*extra)),
            _ => return Err("ATTRIBUTE needs: name number type [vendor]".to_string()),
        };
        let number = parse_number(number)
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| *n != 0)
            .ok_or_else(|| format!("attribute {name}: number {number:?} is not in 1..=255"))?;
        let data_type = DataType::from_name(type_name).ok_or_else(|| {
            format!(
                "attribute {name}: unknown type {type_name:?} \
                 (known: string, octets, integer, ipaddr, date, vsa)"
            )
        })?;
        let mut vendor = match &self.vendor_block {
            Some((vendor_name, _)) => self.dictionary.vendor(vendor_name),
            None => None,
        };
        if let Some(extra) = extra {
            // The old format names the vendor in the fourth field; anything
            // else there is a flag such as encrypt=1 or has_tag, which this
            // codec does not implement.
            match self.dictionary.vendor(extra) {
                Some(id) if vendor.is_none() => vendor = Some(id),
                _ => {
                    return Err(format!(
                        "attribute {name}: unsupported flags or vendor {extra:?}"
                    ))
                }
            }
        }
        if data_type == DataType::Vsa && (vendor.is_some() || number != VENDOR_SPECIFIC) {
            return Err(format!(
                "attribute {name}: type vsa is only valid for standard attribute 26"
            ));
        }
        self.dictionary.define_attribute(AttributeDef {
            name: name.to_string(),
            vendor,
            number,
            data_type,
        })
    }

    fn value(&mut self, args: &[&str]) -> Result<(), String> {
        let [attribute, value_name, number] = args else {
            return Err("VALUE needs: attribute name number".to_string());
        };
        let def = self
            .dictionary
            .attribute(attribute)
            .ok_or_else(|| format!("VALUE for undefined attribute {attribute}"))?;
        if def.data_type != DataType::Integer {
            return Err(format!(
                "VALUE for {attribute}, which is {} (only integer attributes have named values)",
                def.data_type
            ));
        }
        let number = parse_number(number)
            .ok_or_else(|| format!("value {value_name}: {number:?} is not a 32-bit number"))?;
        let key = def.key();
        let values = self.dictionary.values.entry(key).or_default();
        match values
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value_name))
        {
            Some((_, existing)) if *existing == number => Ok(()),
            Some((_, existing)) => Err(format!(
                "value {value_name} of {attribute} is already defined as {existing}"
            )),
            None => {
                values.push((value_name.to_string(), number));
                Ok(())
            }
        }
    }

    fn vendor(&mut self, args: &[&str]) -> Result<(), String> {
        let (name, number) = match args {
            [name, number] => (*name, *number),
            [name, number, "format=1,1"] => (*name, *number),
            [_, _, format] => {
                return Err(format!(
                    "vendor format {format:?} is not supported (only format=1,1)"
                ))
            }
            _ => return Err("VENDOR needs: name number [format=1,1]".to_string()),
        };
        let id = parse_number(number)
            .ok_or_else(|| format!("vendor {name}: {number:?} is not a 32-bit number"))?;
        match self.dictionary.vendor(name) {
            Some(existing) if existing == id => Ok(()),
            Some(existing) => Err(format!("vendor {name} is already defined as {existing}")),
            None => {
                self.dictionary.vendors.push((name.to_string(), id));
                Ok(())
            }
        }
    }

    fn begin_vendor(&mut self, args: &[&str]) -> Result<(), String> {
        let name = match args {
            [name] | [name, "format=1,1"] => *name,
            _ => return Err("BEGIN-VENDOR needs: name".to_string()),
        };
        if let Some((open, line)) = &self.vendor_block {
            return Err(format!(
                "BEGIN-VENDOR {name} inside BEGIN-VENDOR {open} of line {line}"
            ));
        }
        if self.dictionary.vendor(name).is_none() {
            return Err(format!(
                "BEGIN-VENDOR {name}: unknown vendor (define it with VENDOR first)"
            ));
        }
        self.vendor_block = Some((name.to_string(), self.line));
        Ok(())
    }

    fn end_vendor(&mut self, args: &[&str]) -> Result<(), String> {
        let [name] = args else {
            return Err("END-VENDOR needs: name".to_string());
        };
        match &self.vendor_block {
            Some((open, _)) if open.eq_ignore_ascii_case(name) => {
                self.vendor_block = None;
                Ok(())
            }
            Some((open, line)) => Err(format!(
                "END-VENDOR {name} does not match BEGIN-VENDOR {open} of line {line}"
            )),
            None => Err(format!("END-VENDOR {name} without BEGIN-VENDOR")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_loads() {
        let dictionary = Dictionary::builtin();
        assert!(dictionary.attribute("Event-Timestamp").is_some());
        assert!(dictionary
            .attribute("Juniper-JUNOScope-Privileged-Command")
            .is_some());
    }

    #[test]
    fn numbers_and_hex() {
        assert_eq!(parse_number("26"), Some(26));
        assert_eq!(parse_number("0x1a"), Some(26));
        assert_eq!(parse_number("-1"), None);
        assert_eq!(parse_hex("00ff10"), Some(vec![0, 0xff, 0x10]));
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("é1"), None);
        assert_eq!(hex_text(&[0, 0xab]), "0x00ab");
    }
}

//! Reading and writing the XML of NETCONF messages: a borrowed element tree
//! read with quick-xml, and escaping for the text netaudit writes.

mod escape;
mod tree;

pub use escape::escape_text;
pub use tree::{is_xml_space, parse_document, Element, MAX_DEPTH, MAX_ELEMENTS};

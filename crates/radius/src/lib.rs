//! RADIUS accounting codec (RFC 2865/2866).

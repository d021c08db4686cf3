//! Local audit files with rotation and archives.

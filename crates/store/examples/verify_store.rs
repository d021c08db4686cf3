//! Verifies a store with its local verify key and prints the report and the
//! time taken: `cargo run --release -p netaudit-store --example verify_store -- DIR`

use std::time::Instant;

use netaudit_store::{read_local_verify_key, verify, StoreConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: verify_store DIR")?;
    let config = StoreConfig::new(std::path::Path::new(&dir).join("netaudit.db"));
    let key = read_local_verify_key(&config)?;
    let started = Instant::now();
    let report = verify(&config.path, &key, Some(&config.key_path()))?;
    let secs = started.elapsed().as_secs_f64();
    println!("{report:?}");
    println!(
        "verified {} events in {secs:.2} s ({:.0} events/s)",
        report.events_verified,
        report.events_verified as f64 / secs
    );
    Ok(())
}

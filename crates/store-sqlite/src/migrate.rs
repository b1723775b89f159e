//! The gateway's SQLite migrations, applied by the runner both SQLite
//! stores share (`jiufu_sqlite_writer::migrate`).

use jiufu_store::{Result, StoreError};
use rusqlite::Connection;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_evidence_once.sql")),
    (3, include_str!("../migrations/0003_no_discounts.sql")),
    (4, include_str!("../migrations/0004_shop_dialects.sql")),
    (5, include_str!("../migrations/0005_payers_and_shop_settings.sql")),
    (6, include_str!("../migrations/0006_device_version.sql")),
];

pub fn run(conn: &mut Connection) -> Result<()> {
    jiufu_sqlite_writer::migrate::run(conn, MIGRATIONS).map_err(StoreError::backend)
}

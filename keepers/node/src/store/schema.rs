//! The schema: its migrations, in order.

/// Schema migrations, applied in order; `PRAGMA user_version` counts them.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE messages (
    item_hash      TEXT PRIMARY KEY,
    chain          TEXT NOT NULL,
    sender         TEXT NOT NULL,
    type           TEXT NOT NULL,
    channel        TEXT,
    signature      TEXT,
    time           REAL NOT NULL,
    item_type      TEXT NOT NULL,
    item_content   TEXT,
    content        TEXT,
    address        TEXT,
    content_type   TEXT,
    content_key    TEXT,
    ref            TEXT,
    size           INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL,
    reason         TEXT,
    error_code     INTEGER,
    forgotten_by   TEXT,
    reception_time REAL NOT NULL
);
CREATE INDEX messages_status_time ON messages (status, time);
CREATE INDEX messages_sender ON messages (sender, time);
CREATE INDEX messages_channel ON messages (channel, time);
CREATE INDEX messages_type ON messages (type, time);
CREATE INDEX messages_ref ON messages (ref);
CREATE INDEX messages_address ON messages (address);

CREATE TABLE aggregate_elements (
    item_hash TEXT PRIMARY KEY,
    address   TEXT NOT NULL,
    key       TEXT NOT NULL,
    time      REAL NOT NULL,
    content   TEXT NOT NULL
);
CREATE INDEX aggregate_elements_key ON aggregate_elements (address, key, time);

CREATE TABLE aggregates (
    address      TEXT NOT NULL,
    key          TEXT NOT NULL,
    content      TEXT NOT NULL,
    created      REAL NOT NULL,
    last_updated REAL NOT NULL,
    PRIMARY KEY (address, key)
);

CREATE TABLE posts (
    item_hash TEXT PRIMARY KEY,
    address   TEXT NOT NULL,
    post_type TEXT NOT NULL,
    ref       TEXT,
    time      REAL NOT NULL,
    is_amend  INTEGER NOT NULL
);
CREATE INDEX posts_ref ON posts (ref, time);

CREATE TABLE files (
    sha256  TEXT PRIMARY KEY,
    cid_v0  TEXT NOT NULL,
    cid_v1  TEXT NOT NULL,
    size    INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX files_cid_v0 ON files (cid_v0);
CREATE INDEX files_cid_v1 ON files (cid_v1);

CREATE TABLE file_pins (
    file      TEXT NOT NULL,
    item_hash TEXT NOT NULL,
    PRIMARY KEY (file, item_hash)
);
CREATE INDEX file_pins_message ON file_pins (item_hash);
"#,
    r#"
ALTER TABLE messages ADD COLUMN anchor_seq INTEGER;
CREATE INDEX messages_unanchored ON messages (status, anchor_seq);
CREATE TABLE batches (
    seq       INTEGER PRIMARY KEY,
    root      TEXT NOT NULL,
    count     INTEGER NOT NULL,
    file      TEXT NOT NULL,
    cid       TEXT NOT NULL,
    signature TEXT NOT NULL,
    created   REAL NOT NULL
);
CREATE TABLE batch_items (
    seq       INTEGER NOT NULL,
    idx       INTEGER NOT NULL,
    item_hash TEXT NOT NULL,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX batch_items_hash ON batch_items (item_hash);
"#,
    // A sender's messages in time order carry their status and channel, so
    // that listing and counting them by sender, status and channel reads
    // the index alone, never the rows it skips.
    r#"
DROP INDEX messages_sender;
CREATE INDEX messages_sender ON messages (sender, time, status, channel);
"#,
    // Paying by holding: when content marked `removing` is collected.
    r#"
ALTER TABLE messages ADD COLUMN collect_at REAL;
"#,
    // Each submitter has its own log of roots: a proof names who anchored.
    r#"
ALTER TABLE batches ADD COLUMN submitter TEXT;
"#,
    // Every claim on an item hash that waits for its content, as sent: a
    // stranger's claim on someone's hash never stands in for theirs.
    r#"
CREATE TABLE pending_claims (
    item_hash      TEXT NOT NULL,
    sender         TEXT NOT NULL,
    signature      TEXT NOT NULL,
    message        TEXT NOT NULL,
    reception_time REAL NOT NULL,
    PRIMARY KEY (item_hash, sender, signature)
);
"#,
];

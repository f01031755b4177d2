//! Filters of the message list: the SQL they become, and whether a message
//! just processed passes them (for the live stream).

use aether_sdk::message::Message;
use aether_sdk::node_client::MessageStatus;
use serde_json::Value;

/// Filters of the message list, as the API names them.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Senders.
    pub addresses: Vec<String>,
    /// Channels.
    pub channels: Vec<String>,
    /// Message types.
    pub types: Vec<String>,
    /// Item hashes.
    pub hashes: Vec<String>,
    /// Content refs.
    pub refs: Vec<String>,
    /// POST types.
    pub content_types: Vec<String>,
    /// AGGREGATE keys.
    pub content_keys: Vec<String>,
    /// Sender chains.
    pub chains: Vec<String>,
    /// Statuses (default: processed).
    pub statuses: Vec<String>,
    /// From this time.
    pub start: Option<f64>,
    /// Until this time.
    pub end: Option<f64>,
    /// Oldest first.
    pub ascending: bool,
}

impl Filter {
    /// The WHERE clause and its values; `table` prefixes the columns
    /// (`""`, or `"m."` in a join).
    pub(super) fn where_clause(&self, table: &str) -> (String, Vec<rusqlite::types::Value>) {
        let mut clauses = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let statuses = if self.statuses.is_empty() {
            vec![MessageStatus::Processed.as_str().to_string()]
        } else {
            self.statuses.clone()
        };
        // One filter drives the query through its index, the most selective
        // kind present; the others are written `+column`, which SQLite does
        // not index, so it never scans a large index (status, channel)
        // where a small one (a sender) is at hand.
        let driver = [
            ("item_hash", &self.hashes),
            ("ref", &self.refs),
            ("sender", &self.addresses),
            ("content_key", &self.content_keys),
            ("content_type", &self.content_types),
            ("channel", &self.channels),
            ("type", &self.types),
        ]
        .iter()
        .find(|(_, list)| !list.is_empty())
        .map(|(column, _)| *column)
        .unwrap_or("status");
        for (column, list) in [
            ("status", &statuses),
            ("sender", &self.addresses),
            ("channel", &self.channels),
            ("type", &self.types),
            ("item_hash", &self.hashes),
            ("ref", &self.refs),
            ("content_type", &self.content_types),
            ("content_key", &self.content_keys),
            ("chain", &self.chains),
        ] {
            let column = if column == driver {
                format!("{table}{column}")
            } else {
                format!("+{table}{column}")
            };
            if list.is_empty() {
                continue;
            }
            let marks: Vec<String> = list
                .iter()
                .map(|v| {
                    values.push(v.clone().into());
                    format!("?{}", values.len())
                })
                .collect();
            clauses.push(format!("{column} IN ({})", marks.join(",")));
        }
        if let Some(start) = self.start {
            values.push(start.into());
            clauses.push(format!("{table}time >= ?{}", values.len()));
        }
        if let Some(end) = self.end {
            values.push(end.into());
            clauses.push(format!("{table}time <= ?{}", values.len()));
        }
        (clauses.join(" AND "), values)
    }

    /// Whether `message` (processed now) passes the filter.
    pub fn matches(&self, message: &Message, content: &Value) -> bool {
        let any = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
        };
        any(&self.addresses, Some(&message.sender))
            && any(&self.channels, message.channel.as_deref())
            && any(&self.types, Some(message.message_type.as_str()))
            && any(&self.hashes, Some(&message.item_hash))
            && any(&self.refs, content.get("ref").and_then(Value::as_str))
            && any(
                &self.content_types,
                content.get("type").and_then(Value::as_str),
            )
            && any(
                &self.content_keys,
                content.get("key").and_then(Value::as_str),
            )
            && any(&self.chains, Some(message.chain.as_str()))
            && self.start.is_none_or(|s| message.time >= s)
            && self.end.is_none_or(|e| message.time <= e)
    }
}

//! Query parameters: lists, numbers, the filter of a listing and its page.

use std::collections::HashMap;

use axum::http::StatusCode;

use super::ApiError;
use crate::store::Filter;

pub(super) fn list_param(q: &HashMap<String, String>, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| q.get(*n))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn number_param(
    q: &HashMap<String, String>,
    name: &str,
) -> Result<Option<f64>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse::<f64>().map_err(|_| ApiError {
                field: Some(name.to_string()),
                ..ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!("{name} must be a number"),
                )
            })
        })
        .transpose()
}

pub(super) fn filter_of(q: &HashMap<String, String>) -> Result<Filter, ApiError> {
    Ok(Filter {
        addresses: list_param(q, &["addresses"]),
        channels: list_param(q, &["channels"]),
        types: list_param(q, &["msgTypes", "msgType"]),
        hashes: list_param(q, &["hashes"]),
        refs: list_param(q, &["refs"]),
        content_types: list_param(q, &["contentTypes", "types"]),
        content_keys: list_param(q, &["contentKeys"]),
        chains: list_param(q, &["chains"]),
        statuses: list_param(q, &["msgStatuses", "message_statuses"]),
        start: number_param(q, "startDate")?.filter(|t| *t > 0.0),
        end: number_param(q, "endDate")?.filter(|t| *t > 0.0),
        ascending: q.get("sortOrder").map(String::as_str) == Some("1"),
    })
}

/// Most items one page of a listing holds (`pagination=0`, "no limit" in
/// Aleph's API, means this many too), so that no request makes the node
/// read and send its whole database.
pub const MAX_PER_PAGE: u64 = 10_000;

/// A whole number query parameter, at least 1 (or 0 where `zero_ok`), that
/// fits SQLite's 64-bit integers: `inf`, `1e300` or a fraction is a 400.
pub(super) fn count_param(
    q: &HashMap<String, String>,
    name: &str,
    zero_ok: bool,
) -> Result<Option<u64>, ApiError> {
    let Some(value) = number_param(q, name)? else {
        return Ok(None);
    };
    let least = if zero_ok { 0.0 } else { 1.0 };
    // i64::MAX as f64 rounds up to 2^63, so `<` keeps it out.
    if value.fract() != 0.0 || value < least || value >= i64::MAX as f64 {
        return Err(ApiError {
            field: Some(name.to_string()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("{name} must be a whole number from {least} to 2^63"),
            )
        });
    }
    Ok(Some(value as u64))
}

pub(super) fn page_of(q: &HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    pages(q, 20, MAX_PER_PAGE)
}

/// `page` and `pagination` of a listing whose pages hold `default` items
/// unless asked, and `most` at most (`pagination=0` asks for `most`).
pub(super) fn pages(
    q: &HashMap<String, String>,
    default: u64,
    most: u64,
) -> Result<(u64, u64), ApiError> {
    let per_page = match count_param(q, "pagination", true)?.unwrap_or(default) {
        0 => most,
        n => n.min(most),
    };
    let page = count_param(q, "page", false)?.unwrap_or(1);
    // The offset must fit SQLite's integers too.
    if (page - 1)
        .checked_mul(per_page)
        .is_none_or(|o| o > i64::MAX as u64)
    {
        return Err(ApiError {
            field: Some("page".into()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("page {page} is beyond any listing at {per_page} per page"),
            )
        });
    }
    Ok((page, per_page))
}

/// Most items on a page read by cursor, as Aleph has it.
pub(super) const MAX_PER_CURSOR_PAGE: u64 = 200;

/// When the listing is read by cursor (any `cursor` parameter, an empty
/// one for the start): where it starts and how many a page holds.
pub(super) fn cursor_of(
    q: &HashMap<String, String>,
) -> Result<Option<(Option<crate::store::After>, u64)>, ApiError> {
    let Some(cursor) = q.get("cursor") else {
        return Ok(None);
    };
    let bad = |field: &str, why: String| ApiError {
        field: Some(field.to_owned()),
        ..ApiError::new(StatusCode::BAD_REQUEST, "bad_query", why)
    };
    let per_page = count_param(q, "pagination", false)?.unwrap_or(20);
    if per_page > MAX_PER_CURSOR_PAGE {
        return Err(bad(
            "pagination",
            format!("pagination is at most {MAX_PER_CURSOR_PAGE} with a cursor"),
        ));
    }
    let after = match cursor.as_str() {
        "" => None,
        text => Some(
            hex::decode(text)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .ok_or_else(|| bad("cursor", "not a cursor this node gave".into()))?,
        ),
    };
    Ok(Some((after, per_page)))
}

/// The `next_cursor` a listing answers for `after`.
pub(super) fn cursor_text(after: crate::store::After) -> String {
    hex::encode(serde_json::to_vec(&after).unwrap_or_default())
}

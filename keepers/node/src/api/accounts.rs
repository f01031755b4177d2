//! What an address holds: its balance (`/api/v0/addresses/{address}/balance`)
//! and the files its STOREs keep (`/api/v0/addresses/{address}/files`), as
//! Aleph's API and aleph-sdk-python's `get_balances` and
//! `get_account_files` have them.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::query::pages;
use super::{iso_time, ApiError, AppState};
use crate::store;

/// Most files on one page.
const MAX_FILES_PER_PAGE: u64 = 1_000;

/// The stake tokens `address` holds and what its content here locks, in
/// the token's base units (what charging compares). Both are 0 when the
/// node does not charge.
pub(super) async fn balance(
    State(state): State<AppState>,
    Path(address): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some(charging) = state.charging.clone() else {
        return Ok(Json(answer(&address, 0, 0)));
    };
    let held = charging.balance(&address).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "charging_unavailable",
            format!("the balance could not be read; try again: {e}"),
        )
    })?;
    let locked = charging
        .locked(&state.readers, &address)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(answer(&address, held, locked)))
}

fn answer(address: &str, balance: u64, locked: u64) -> Value {
    json!({
        "address": address,
        "balance": balance,
        "details": {},
        "locked_amount": locked,
        "credit_balance": 0,
        "credit_balance_details": null,
    })
}

/// One page of the files `address`'s STOREs keep, newest first; 404 when
/// there are none (as Aleph answers).
pub(super) async fn files(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (page, per_page) = pages(&q, 100, MAX_FILES_PER_PAGE)?;
    let who = address.clone();
    let (files, total, total_size) = state
        .readers
        .with(move |c| store::files_of(c, &who, page, per_page))
        .await?;
    if total == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{address} keeps no file here"),
        ));
    }
    let files: Vec<Value> = files
        .into_iter()
        .map(|f| {
            json!({
                "file_hash": f.file_hash,
                "size": f.size,
                "type": "file",
                "created": iso_time(f.time),
                "item_hash": f.item_hash,
            })
        })
        .collect();
    Ok(Json(json!({
        "address": address,
        "total_size": total_size,
        "files": files,
        "pagination_page": page,
        "pagination_total": total,
        "pagination_per_page": per_page,
    })))
}

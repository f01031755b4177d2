//! The provisioner's HTTP API: `/serving`, and `POST /serve/<hash>` for
//! load balancers (`/metrics` is added by [`aether_keeper::Keeper`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aether_sdk::vm::ServeAnswer;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::worker::{ServeRefusal, Worker};
use crate::Served;

#[derive(Clone)]
struct ApiState {
    serving: Arc<Mutex<BTreeMap<String, Served>>>,
    worker: Arc<std::sync::OnceLock<Arc<Worker>>>,
}

/// The API's routes over what is served and the worker (set in `worker`
/// once it exists).
pub(crate) fn router(
    serving: Arc<Mutex<BTreeMap<String, Served>>>,
    worker: Arc<std::sync::OnceLock<Arc<Worker>>>,
) -> Router {
    Router::new()
        .route("/serving", get(serving_list))
        .route("/serve/{hash}", axum::routing::post(serve))
        .with_state(ApiState { serving, worker })
}

/// `POST /serve/<hash>`: a load balancer asks this node to serve a program.
async fn serve(
    State(state): State<ApiState>,
    axum::extract::Path(hash): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let answer = |status: StatusCode, body: ServeAnswer| (status, Json(body)).into_response();
    let refused = |error: &str| ServeAnswer::Refused {
        error: error.to_owned(),
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return answer(
            StatusCode::BAD_REQUEST,
            refused("a program is named by its 64-hex-digit item hash"),
        );
    }
    let Some(worker) = state.worker.get().cloned() else {
        return answer(StatusCode::SERVICE_UNAVAILABLE, refused("starting"));
    };
    match worker.serve_now(&hash.to_ascii_lowercase()).await {
        Ok(endpoint) => answer(
            StatusCode::OK,
            ServeAnswer::Serving {
                program: hash,
                endpoint,
            },
        ),
        Err(ServeRefusal::Refused(why)) => answer(StatusCode::CONFLICT, refused(&why)),
        Err(ServeRefusal::Unavailable(why)) => {
            answer(StatusCode::SERVICE_UNAVAILABLE, refused(&why))
        }
    }
}

async fn serving_list(State(state): State<ApiState>) -> Json<Vec<Served>> {
    Json(state.serving.lock().unwrap().values().cloned().collect())
}

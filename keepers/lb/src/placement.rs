//! Placement: which nodes a request goes to, and asking one more node to
//! serve a program when none does, or too few keep up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_sdk::vm::ServeAnswer;

use crate::state::{Load, Shared, Standby, Target};

/// Why no node could be placed for a program.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum PlaceError {
    /// Nobody to ask: announcements not read yet, or no node offers.
    #[error("no other node offers to serve")]
    NoStandby,
    /// The nodes asked said no, or did not answer: what each said.
    #[error("{0}")]
    Refused(String),
}

/// Failed asks remembered at most (the oldest go first past it).
const MAX_ASKED: usize = 10_000;

/// How long a provisioner may take to say whether it serves a program.
const SERVE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a node that agreed to serve is routed to before its own
/// announcement is read.
const PLACED_FOR: Duration = Duration::from_secs(60);

impl Shared {
    /// Every node serving `program`: announced, or placed a moment ago.
    pub(crate) fn serving(&self, program: &str) -> Vec<Target> {
        let mut targets = self
            .routes
            .read()
            .unwrap()
            .programs
            .get(program)
            .cloned()
            .unwrap_or_default();
        let mut placed = self.placed.lock().unwrap();
        if let Some(list) = placed.get_mut(program) {
            list.retain(|(_, at)| at.elapsed() < PLACED_FOR);
            for (target, _) in list.iter() {
                if !targets.iter().any(|t| t.node == target.node) {
                    targets.push(target.clone());
                }
            }
        }
        targets
    }

    /// Asks nodes that do not serve `program`, in random order, to serve
    /// it, until one agrees.
    async fn place(&self, program: &str) -> Result<Target, PlaceError> {
        let serving: Vec<String> = self.serving(program).into_iter().map(|t| t.node).collect();
        let now = Instant::now();
        let mut standby: Vec<Standby> = {
            let resting = self.resting.lock().unwrap();
            self.routes
                .read()
                .unwrap()
                .standby
                .iter()
                .filter(|s| {
                    !serving.contains(&s.node)
                        && s.score >= self.config.min_score
                        && resting.get(&s.endpoint).is_none_or(|until| *until <= now)
                })
                .cloned()
                .collect()
        };
        if standby.is_empty() {
            return Err(PlaceError::NoStandby);
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) % standby.len();
        standby.rotate_left(turn);
        let mut why = Vec::new();
        for node in standby.iter().take(3) {
            let url = format!("{}/serve/{program}", node.provisioner);
            let answer = self
                .http
                .post(&url)
                .timeout(SERVE_TIMEOUT.min(self.config.timeout))
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() => {
                    let endpoint = match r.json::<ServeAnswer>().await {
                        Ok(ServeAnswer::Serving { endpoint, .. }) => {
                            endpoint.trim_end_matches('/').to_owned()
                        }
                        _ => node.endpoint.clone(),
                    };
                    let target = Target {
                        node: node.node.clone(),
                        endpoint,
                        score: node.score,
                    };
                    self.placed
                        .lock()
                        .unwrap()
                        .entry(program.to_owned())
                        .or_default()
                        .push((target.clone(), Instant::now()));
                    self.metrics.placements.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%program, node = %node.node, "a node agreed to serve");
                    return Ok(target);
                }
                Ok(r) => {
                    let status = r.status();
                    let error = match r.json::<ServeAnswer>().await {
                        Ok(ServeAnswer::Refused { error }) => error,
                        _ => "refused".to_owned(),
                    };
                    why.push(format!("{}: {error} ({status})", node.node));
                }
                Err(e) => why.push(format!("{}: {e}", node.node)),
            }
        }
        self.metrics
            .placement_failures
            .fetch_add(1, Ordering::Relaxed);
        Err(PlaceError::Refused(why.join("; ")))
    }

    /// Asks one more node to serve `program`, in the background, unless
    /// one was asked within the cooldown.
    pub(crate) fn place_later(self: &Arc<Self>, program: &str, reason: &'static str) {
        {
            let mut asked = self.asked.lock().unwrap();
            if asked
                .get(program)
                .is_some_and(|(at, _)| at.elapsed() < self.config.place_cooldown)
            {
                return;
            }
            if asked.len() >= MAX_ASKED {
                let cooldown = self.config.place_cooldown;
                asked.retain(|_, (at, _)| at.elapsed() < cooldown);
            }
            asked.insert(program.to_owned(), (Instant::now(), None));
        }
        let (shared, program) = (self.clone(), program.to_owned());
        tokio::spawn(async move {
            tracing::info!(%program, reason, "asking one more node to serve");
            if let Err(why) = shared.place(&program).await {
                tracing::info!(%program, %why, "no other node will serve now");
                shared
                    .asked
                    .lock()
                    .unwrap()
                    .insert(program, (Instant::now(), Some(why)));
            }
        });
    }

    /// A node for a program no node serves: one asked now (unless an ask
    /// failed within the cooldown).
    pub(crate) async fn place_now(&self, program: &str) -> Result<Vec<Target>, PlaceError> {
        let lock = self
            .placing
            .lock()
            .unwrap()
            .entry(program.to_owned())
            .or_default()
            .clone();
        let placed = {
            let _one = lock.lock().await;
            self.place_once(program).await
        };
        // The lock goes with its last user: random names leave nothing.
        let mut placing = self.placing.lock().unwrap();
        if placing
            .get(program)
            .is_some_and(|l| Arc::strong_count(l) <= 2)
        {
            placing.remove(program);
        }
        placed
    }

    async fn place_once(&self, program: &str) -> Result<Vec<Target>, PlaceError> {
        let serving = self.candidates(program);
        if !serving.is_empty() {
            return Ok(serving);
        }
        // A refusal answers the next requests for a few seconds, not for
        // the whole cooldown: a stream opened meanwhile is soon seen.
        let memory = self.config.place_cooldown.min(Duration::from_secs(5));
        if let Some((at, Some(why))) = self.asked.lock().unwrap().get(program) {
            if at.elapsed() < memory {
                return Err(why.clone());
            }
        }
        let placed = self.place(program).await;
        // A refusal is remembered for the cooldown; having no node to ask
        // yet (announcements not read) is not.
        let failure = placed
            .as_ref()
            .err()
            .filter(|why| !matches!(why, PlaceError::NoStandby))
            .cloned();
        let mut asked = self.asked.lock().unwrap();
        if asked.len() >= MAX_ASKED {
            let cooldown = self.config.place_cooldown;
            asked.retain(|_, (at, _)| at.elapsed() < cooldown);
        }
        if failure.is_some() || placed.is_ok() {
            asked.insert(program.to_owned(), (Instant::now(), failure));
        }
        drop(asked);
        placed.map(|t| vec![t])
    }

    pub(crate) fn load_of(&self, program: &str) -> Arc<Load> {
        self.load
            .lock()
            .unwrap()
            .entry(program.to_owned())
            .or_default()
            .clone()
    }

    /// The nodes to try for `program`, best first: not resting, least
    /// busy, then best scored.
    pub(crate) fn candidates(&self, program: &str) -> Vec<Target> {
        let mut targets = self.serving(program);
        let now = Instant::now();
        let resting = self.resting.lock().unwrap();
        targets.retain(|t| resting.get(&t.endpoint).is_none_or(|until| *until <= now));
        drop(resting);
        if !targets.is_empty() {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed) % targets.len();
            targets.rotate_left(turn);
        }
        let in_flight = self.busy.lock().unwrap();
        let busy = |t: &Target| {
            in_flight
                .get(&t.endpoint)
                .map_or(0, |n| n.load(Ordering::SeqCst))
        };
        // Stable: equally busy, equally scored nodes keep their turn.
        targets.sort_by(|a, b| busy(a).cmp(&busy(b)).then(b.score.cmp(&a.score)));
        targets
    }

    /// The count of requests in flight to `endpoint`.
    pub(crate) fn busy(&self, endpoint: &str) -> Arc<AtomicUsize> {
        self.busy
            .lock()
            .unwrap()
            .entry(endpoint.to_owned())
            .or_default()
            .clone()
    }
}

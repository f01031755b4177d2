//! The scoring rule. A probe is worth up to 10,000 points:
//!
//! | part | points | how |
//! | --- | --- | --- |
//! | reachable | 1,000 | `GET /about/usage` answers 200 with JSON within the probe timeout |
//! | latency | 2,000 | full at 200 ms or less, none at 2,000 ms or more, linear between |
//! | capacity | 1,000 | reported vCPUs (at most [`MAX_VCPUS_PER_CORE`] per reported core) and memory against those registered, each capped at 1, averaged |
//! | reference | 6,000 | the reference program, called through the node's router like any user request, answers 200 with the expected text |
//!
//! An unreachable node scores 0 for the probe, whatever else. Without a
//! reference program configured, the other parts are scaled up to 10,000.
//! The epoch's score is the mean of its probes, rounded down.
//!
//! Wrong answers cost the most because a node that answers quickly but
//! wrongly harms users more than a slow one.

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// `/about/usage` answered 200 with JSON.
    pub reachable: bool,
    /// How long `/about/usage` took, in milliseconds.
    pub latency_ms: u64,
    /// Reported capacity over registered capacity, 0 to 10,000 (basis points).
    pub capacity_bps: u32,
    /// The reference program answered right; `None` when none is configured.
    pub reference: Option<bool>,
}

/// The most vCPUs a node's core is believed to carry: function VMs mostly
/// wait for requests, so nodes offer several per core, but not without
/// bound.
pub const MAX_VCPUS_PER_CORE: u64 = 8;

/// The vCPUs of a node's report that count: those it offers, at most
/// [`MAX_VCPUS_PER_CORE`] per core it reports. A report without cores
/// (older nodes offered one vCPU per core) counts its vCPUs as cores.
pub fn credible_vcpus(vcpus: u64, cores: Option<u64>) -> u64 {
    let cores = cores.unwrap_or(vcpus);
    vcpus.min(cores.saturating_mul(MAX_VCPUS_PER_CORE))
}

/// Points of each part.
pub const REACHABLE: u32 = 1_000;
/// Points for latency.
pub const LATENCY: u32 = 2_000;
/// Points for capacity.
pub const CAPACITY: u32 = 1_000;
/// Points for the reference program.
pub const REFERENCE: u32 = 6_000;
/// At or under this, full latency points.
pub const FAST_MS: u64 = 200;
/// At or over this, no latency points.
pub const SLOW_MS: u64 = 2_000;
/// The most a score can be.
pub const MAX: u32 = 10_000;

/// One probe's points, 0 to 10,000.
pub fn probe_score(p: &Probe) -> u16 {
    if !p.reachable {
        return 0;
    }
    let latency = if p.latency_ms <= FAST_MS {
        LATENCY
    } else if p.latency_ms >= SLOW_MS {
        0
    } else {
        (u64::from(LATENCY) * (SLOW_MS - p.latency_ms) / (SLOW_MS - FAST_MS)) as u32
    };
    let capacity = CAPACITY * p.capacity_bps.min(MAX) / MAX;
    let mut points = REACHABLE + latency + capacity;
    let mut max = REACHABLE + LATENCY + CAPACITY;
    if let Some(ok) = p.reference {
        max += REFERENCE;
        if ok {
            points += REFERENCE;
        }
    }
    (points * MAX / max) as u16
}

/// An epoch's score from its probes' scores: the mean, rounded down; 0
/// with no probes.
pub fn epoch_score(scores: &[u16]) -> u16 {
    if scores.is_empty() {
        return 0;
    }
    let sum: u64 = scores.iter().map(|s| u64::from(*s)).sum();
    (sum / scores.len() as u64) as u16
}

/// Reported over registered, for vCPUs and memory, each capped at 1,
/// averaged, in basis points. Nothing registered counts as met.
pub fn capacity_bps(reported: (u64, u64), registered: (u64, u64)) -> u32 {
    let part = |got: u64, want: u64| -> u64 {
        (got.min(want) * u64::from(MAX))
            .checked_div(want)
            .unwrap_or(u64::from(MAX))
    };
    ((part(reported.0, registered.0) + part(reported.1, registered.1)) / 2) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(latency_ms: u64, reference: Option<bool>) -> Probe {
        Probe {
            reachable: true,
            latency_ms,
            capacity_bps: MAX,
            reference,
        }
    }

    #[test]
    fn a_healthy_node_scores_full_and_a_wrong_one_low() {
        assert_eq!(probe_score(&probe(50, Some(true))), 10_000);
        // Answers fast but wrongly: at most 4,000.
        assert_eq!(probe_score(&probe(50, Some(false))), 4_000);
        // Slow: latency points go linearly.
        assert_eq!(probe_score(&probe(1_100, Some(true))), 9_000);
        assert_eq!(probe_score(&probe(5_000, Some(true))), 8_000);
        // Unreachable is 0 whatever else it claims.
        let dead = Probe {
            reachable: false,
            ..probe(1, Some(true))
        };
        assert_eq!(probe_score(&dead), 0);
        // Half its capacity: half the capacity points.
        let half = Probe {
            capacity_bps: 5_000,
            ..probe(50, Some(true))
        };
        assert_eq!(probe_score(&half), 9_500);
        // Without a reference program the rest scales to 10,000.
        assert_eq!(probe_score(&probe(50, None)), 10_000);
        let half_latency = probe_score(&probe(1_100, None));
        assert_eq!(half_latency, 7_500);
    }

    #[test]
    fn epoch_is_the_mean_and_capacity_is_capped() {
        assert_eq!(epoch_score(&[]), 0);
        assert_eq!(epoch_score(&[10_000, 0, 5_001]), 5_000);
        assert_eq!(epoch_score(&[10_000; 1000]), 10_000);
        assert_eq!(capacity_bps((8, 16_384), (4, 4_096)), 10_000);
        assert_eq!(capacity_bps((2, 4_096), (4, 4_096)), 7_500);
        assert_eq!(capacity_bps((0, 0), (4, 4_096)), 0);
        assert_eq!(capacity_bps((0, 0), (0, 0)), 10_000);
    }

    #[test]
    fn vcpus_count_up_to_eight_per_core() {
        assert_eq!(credible_vcpus(8, Some(2)), 8);
        assert_eq!(credible_vcpus(64, Some(2)), 16);
        assert_eq!(credible_vcpus(4, None), 4);
        assert_eq!(credible_vcpus(u64::MAX, Some(u64::MAX)), u64::MAX);
        // Registered 64 vCPUs on 2 cores: half the vCPU points at most.
        assert_eq!(
            capacity_bps((credible_vcpus(64, Some(2)), 4_096), (64, 4_096)),
            6_250
        );
    }
}

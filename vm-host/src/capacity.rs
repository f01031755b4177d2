//! What this host offers its VMs, as the registry, the checker and
//! `/about/usage` count it.

/// The cores this host lets this process use.
pub fn host_cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// The vCPUs a host offers its VMs: its cores times `vcpus_per_core` (at
/// least 1).
pub fn offered_vcpus(vcpus_per_core: u16) -> u64 {
    host_cores().saturating_mul(u64::from(vcpus_per_core.max(1)))
}

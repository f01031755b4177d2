use anchor_lang::prelude::*;

/// What one closed epoch booked. Created by `crank_epoch`; a node that became
/// active at the close of this epoch reads its accumulators to start earning
/// exactly from there, so the crank never has to visit it.
#[account]
#[derive(InitSpace, Debug)]
pub struct EpochRecord {
    pub version: u8,
    pub bump: u8,
    pub epoch: u64,
    pub closed_at: i64,
    pub active_nodes: u32,
    pub active_stake: u64,
    pub operator_booked: u64,
    pub staker_booked: u64,
    /// `Config::acc_operator` right after this epoch's booking.
    pub acc_operator: u128,
    /// `Config::acc_staker` right after this epoch's booking.
    pub acc_staker: u128,
    /// What this epoch's booking added to `acc_staker`: the reward per unit
    /// of stake that stake added during the epoch did not earn.
    pub staker_increment: u128,
}

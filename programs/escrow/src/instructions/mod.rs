mod accept_authority;
mod allow_providers;
mod close_stream;
mod initialize;
mod join_stream;
mod leave_stream;
mod open_stream;
mod remove_provider;
mod settle;
mod top_up;
mod update_config;

pub use accept_authority::*;
pub use allow_providers::*;
pub use close_stream::*;
pub use initialize::*;
pub use join_stream::*;
pub use leave_stream::*;
pub use open_stream::*;
pub use remove_provider::*;
pub use settle::*;
pub use top_up::*;
pub use update_config::*;

/// Emits a settlement's events; `emit_cpi!` needs `ctx` in scope.
macro_rules! emit_settlement {
    ($ctx:ident, $settled:expr) => {{
        let (paid, exhausted) = crate::payout::settled_events(&$ctx.accounts.stream, &$settled);
        if let Some(event) = paid {
            let ctx = &$ctx;
            emit_cpi!(event);
        }
        if let Some(event) = exhausted {
            let ctx = &$ctx;
            emit_cpi!(event);
        }
        for event in $settled.gone {
            let ctx = &$ctx;
            emit_cpi!(event);
        }
    }};
}
pub(crate) use emit_settlement;

/// Calls `crate::payout::$f` (`settle_and_pay` or `take_out`) with
/// `$ctx`'s token program, vault, mint and stream (every instruction that
/// settles names them alike) and the providers' accounts passed after the
/// named ones, then any further arguments.
macro_rules! with_stream {
    ($ctx:ident, $f:ident $(, $arg:expr)*) => {{
        let accounts = &mut *$ctx.accounts;
        crate::payout::$f(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &mut accounts.stream,
            $ctx.remaining_accounts,
            $($arg),*
        )
    }};
}
pub(crate) use with_stream;

//! The in-host ERC-20 (`MockERC20` of `contracts/evm/test/mocks/MockTokens.sol`, same selectors,
//! events and revert strings), so the engine's token calls have a counterparty in the host and
//! the differential runner sees the same Transfer/Approval logs as on anvil.

use alloy_primitives::{keccak256, Address, B256, U256};

use crate::world::{address_word, Log, State, Token};

const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];
const APPROVE: [u8; 4] = [0x09, 0x5e, 0xa7, 0xb3];
const MINT: [u8; 4] = [0x40, 0xc1, 0x0f, 0x19];
const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];
const ALLOWANCE: [u8; 4] = [0xdd, 0x62, 0xed, 0x3e];

/// `Error(string)` revert data, as `require(cond, reason)` produces.
pub fn error_string(reason: &str) -> Vec<u8> {
    let mut out = keccak256("Error(string)")[..4].to_vec();
    out.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(reason.len()).to_be_bytes::<32>());
    let mut tail = reason.as_bytes().to_vec();
    tail.resize(reason.len().div_ceil(32) * 32, 0);
    out.extend_from_slice(&tail);
    out
}

fn arg_address(args: &[u8], i: usize) -> Option<Address> {
    let w = args.get(i * 32..i * 32 + 32)?;
    // Solidity's decoder reverts on dirty address bits.
    w[..12].iter().all(|&b| b == 0).then(|| Address::from_slice(&w[12..]))
}

fn arg_uint(args: &[u8], i: usize) -> Option<U256> {
    args.get(i * 32..i * 32 + 32).map(U256::from_be_slice)
}

fn true_word() -> Vec<u8> {
    U256::from(1).to_be_bytes::<32>().to_vec()
}

fn transfer_log(token: Address, from: Address, to: Address, amount: U256) -> Log {
    Log {
        address: token,
        topics: vec![
            keccak256("Transfer(address,address,uint256)"),
            B256::from(address_word(from)),
            B256::from(address_word(to)),
        ],
        data: amount.to_be_bytes::<32>().to_vec(),
    }
}

fn move_balance(t: &mut Token, from: Address, to: Address, amount: U256) -> Result<(), Vec<u8>> {
    let have = t.balances.get(&from).copied().unwrap_or_default();
    if have < amount {
        return Err(error_string("balance"));
    }
    t.balances.insert(from, have - amount);
    let dest = t.balances.get(&to).copied().unwrap_or_default();
    // Solidity 0.8 checked addition: Panic(0x11) on overflow.
    let sum = dest.checked_add(amount).ok_or_else(|| panic_data(0x11))?;
    t.balances.insert(to, sum);
    Ok(())
}

fn panic_data(code: u8) -> Vec<u8> {
    let mut out = keccak256("Panic(uint256)")[..4].to_vec();
    out.extend_from_slice(&U256::from(code).to_be_bytes::<32>());
    out
}

/// Runs one call to `token` from `sender`; `Ok(return data)` or `Err(revert data)`. The
/// caller restores `state` on a revert. `is_static` refuses state changes (as the EVM does: the
/// call fails with empty data).
pub fn call(
    state: &mut State,
    token: Address,
    sender: Address,
    calldata: &[u8],
    is_static: bool,
) -> Result<Vec<u8>, Vec<u8>> {
    let selector: [u8; 4] = calldata.get(..4).and_then(|s| s.try_into().ok()).ok_or_default()?;
    let args = &calldata[4..];
    let writes = matches!(selector, TRANSFER | TRANSFER_FROM | APPROVE | MINT);
    if writes && is_static {
        return Err(Vec::new());
    }
    let t = state.tokens.get_mut(&token).ok_or_else(Vec::new)?;
    let out = match selector {
        TRANSFER => {
            let (to, amount) = (arg_address(args, 0), arg_uint(args, 1));
            let (Some(to), Some(amount)) = (to, amount) else { return Err(Vec::new()) };
            move_balance(t, sender, to, amount)?;
            state.logs.push(transfer_log(token, sender, to, amount));
            true_word()
        }
        TRANSFER_FROM => {
            let (from, to, amount) =
                (arg_address(args, 0), arg_address(args, 1), arg_uint(args, 2));
            let (Some(from), Some(to), Some(amount)) = (from, to, amount) else {
                return Err(Vec::new());
            };
            let allowed = t.allowances.get(&(from, sender)).copied().unwrap_or_default();
            if allowed != U256::MAX {
                if allowed < amount {
                    return Err(error_string("allowance"));
                }
                t.allowances.insert((from, sender), allowed - amount);
            }
            move_balance(t, from, to, amount)?;
            state.logs.push(transfer_log(token, from, to, amount));
            true_word()
        }
        APPROVE => {
            let (spender, amount) = (arg_address(args, 0), arg_uint(args, 1));
            let (Some(spender), Some(amount)) = (spender, amount) else { return Err(Vec::new()) };
            t.allowances.insert((sender, spender), amount);
            state.logs.push(Log {
                address: token,
                topics: vec![
                    keccak256("Approval(address,address,uint256)"),
                    B256::from(address_word(sender)),
                    B256::from(address_word(spender)),
                ],
                data: amount.to_be_bytes::<32>().to_vec(),
            });
            true_word()
        }
        MINT => {
            let (to, amount) = (arg_address(args, 0), arg_uint(args, 1));
            let (Some(to), Some(amount)) = (to, amount) else { return Err(Vec::new()) };
            t.total_supply = t.total_supply.checked_add(amount).ok_or_else(|| panic_data(0x11))?;
            let b = t.balances.get(&to).copied().unwrap_or_default();
            t.balances.insert(to, b.checked_add(amount).ok_or_else(|| panic_data(0x11))?);
            state.logs.push(transfer_log(token, Address::ZERO, to, amount));
            Vec::new()
        }
        BALANCE_OF => {
            let owner = arg_address(args, 0).ok_or_else(Vec::new)?;
            t.balances.get(&owner).copied().unwrap_or_default().to_be_bytes::<32>().to_vec()
        }
        ALLOWANCE => {
            let (Some(owner), Some(spender)) = (arg_address(args, 0), arg_address(args, 1)) else {
                return Err(Vec::new());
            };
            let a = t.allowances.get(&(owner, spender)).copied().unwrap_or_default();
            a.to_be_bytes::<32>().to_vec()
        }
        _ => return Err(Vec::new()),
    };
    Ok(out)
}

trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, Vec<u8>>;
}

impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, Vec<u8>> {
        self.ok_or_else(Vec::new)
    }
}

//! Writes the shared protocol vectors under `tests/vectors/` (see its README for the format).
//!
//! Run with `make vectors` (= `cargo run -p margin-types --features signer --example gen_vectors`).
//! Output is deterministic: keys derive from fixed strings and nothing reads a clock.
//! Every key here is a TEST-ONLY key.
#![allow(missing_docs, clippy::print_stdout)]

use std::{fs, path::PathBuf};

use alloy_primitives::{address, aliases::U48, keccak256, Address, LogData, B256, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent, SolValue};
use margin_types::{
    abi::{
        encode_constructor_args, IMarginEngine, IMarginEngineErrors as E,
        IMarginEngineEvents as Ev, LiquidationStep, MarginReport, ParamChange, PriceReport,
        ReportBatch, RiskParams, SettlementState, StoredMarginReport, TradeLeg,
    },
    eip712::{domain_separator, signing_digest, BatchLeaf, SignedStruct},
    merkle,
    quorum::{encode_signatures, RawSignature, SECP256K1N_HALF},
    signer::KeeperSigner,
};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 31337;
const ENGINE: Address = address!("00000000000000000000000000000000c0ffee00");
const ADMIN: Address = address!("000000000000000000000000000000000000a001");
const RISK_COUNCIL: Address = address!("000000000000000000000000000000000000a002");
const GUARDIAN: Address = address!("000000000000000000000000000000000000a003");
const SUBMITTER: Address = address!("000000000000000000000000000000000000b0b0");
const VENUE: Address = address!("000000000000000000000000000000000000b001");
const USDC: Address = address!("0000000000000000000000000000000000007001");
const WETH: Address = address!("0000000000000000000000000000000000007002");
const UNLISTED: Address = address!("0000000000000000000000000000000000007999");
const DEPLOY_BLOCK: u64 = 1_000;
const OBSERVED: u64 = 999;
const TIMESTAMP: u64 = 1_700_000_000;
const MAX_REPORT_AGE: u32 = 100;
const E18: u128 = 1_000_000_000_000_000_000;

struct Keys {
    keepers: Vec<KeeperSigner>,
    outsider: KeeperSigner,
    json: Vec<Value>,
}

fn keys() -> Keys {
    let mut json = Vec::new();
    let mut make = |name: &str| {
        let private_key = keccak256(format!("cross-margin TEST-ONLY key {name}"));
        let signer = KeeperSigner::from_bytes(&private_key).expect("keccak output is a valid key");
        json.push(json!({"name": name, "privateKey": private_key, "address": signer.address()}));
        signer
    };
    let keepers = (0..5).map(|i| make(&format!("keeper{i}"))).collect();
    let outsider = make("outsider");
    Keys { keepers, outsider, json }
}

fn params() -> RiskParams {
    RiskParams {
        liquidationThresholdBps: 10_000,
        liquidationPenaltyBps: 500,
        maxReportAgeBlocks: MAX_REPORT_AGE,
        maxPriceAgeBlocks: 100,
        timelockDelay: 3_600,
        liquidationNotionalCapPerBlock: 1_000_000 * E18,
    }
}

fn deploy(keys: &Keys, quorum: u8) -> Value {
    let args = encode_constructor_args(
        ADMIN,
        RISK_COUNCIL,
        GUARDIAN,
        keys.keepers.iter().map(KeeperSigner::address).collect(),
        quorum,
        &params(),
        vec![USDC, WETH],
        vec![6, 18],
        vec![9_800, 9_000],
        vec![],
    );
    json!({
        "blockNumber": DEPLOY_BLOCK,
        "timestamp": TIMESTAMP,
        "constructorArgs": hex(&args),
        "quorum": quorum,
    })
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(bytes))
}

fn account(i: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&(0x1000_0000 + i).to_be_bytes());
    Address::from(bytes)
}

fn report(i: u64, observed: u64) -> MarginReport {
    // Varied but deterministic numbers; portfolio values of both signs.
    let pv = (i as i128 * 7_919 % 2_000 - 1_000) * E18 as i128;
    let mm = (i as u128 % 50 + 1) * 100 * E18;
    MarginReport {
        account: account(i),
        positionsNonce: U48::ZERO,
        riskEpoch: 0,
        observedBlock: U48::from(observed),
        portfolioValue: pv,
        initialMargin: mm + mm / 4,
        maintenanceMargin: mm,
    }
}

fn prices(observed: u64) -> Vec<PriceReport> {
    vec![
        PriceReport { asset: USDC, price: E18, observedBlock: U48::from(observed) },
        PriceReport { asset: WETH, price: 3_000 * E18, observedBlock: U48::from(observed) },
    ]
}

struct Batch {
    header: ReportBatch,
    prices: Vec<PriceReport>,
    reports: Vec<MarginReport>,
    other: Vec<B256>,
    leaves: Vec<B256>,
}

fn batch(
    prices: Vec<PriceReport>,
    reports: Vec<MarginReport>,
    other: Vec<B256>,
    observed: u64,
) -> Batch {
    let leaves: Vec<B256> = prices
        .iter()
        .map(BatchLeaf::leaf_hash)
        .chain(reports.iter().map(BatchLeaf::leaf_hash))
        .chain(other.iter().copied())
        .collect();
    let header = ReportBatch {
        root: merkle::root(&leaves),
        observedBlock: U48::from(observed),
        riskEpoch: 0,
        count: leaves.len() as u32,
    };
    Batch { header, prices, reports, other, leaves }
}

fn digest(header: &ReportBatch, chain_id: u64, engine: Address) -> B256 {
    signing_digest(&domain_separator(U256::from(chain_id), engine), &header.struct_hash())
}

fn sign_with(
    header: &ReportBatch,
    signers: &[&KeeperSigner],
    chain_id: u64,
    engine: Address,
) -> Vec<u8> {
    let d = digest(header, chain_id, engine);
    encode_signatures(
        signers
            .iter()
            .map(|s| (s.address(), s.sign_digest(&d).expect("signing a digest")))
            .collect(),
    )
}

fn sign(header: &ReportBatch, signers: &[&KeeperSigner]) -> Vec<u8> {
    sign_with(header, signers, CHAIN_ID, ENGINE)
}

fn post_batch_calldata(b: &Batch, signatures: Vec<u8>) -> Vec<u8> {
    IMarginEngine::postBatchCall {
        batch: b.header.clone(),
        signatures: signatures.into(),
        prices: b.prices.clone(),
        reports: b.reports.clone(),
        otherLeaves: b.other.clone(),
    }
    .abi_encode()
}

fn log_json(log: LogData) -> Value {
    json!({"topics": log.topics(), "data": hex(&log.data)})
}

fn step(
    label: &str,
    block: u64,
    calldata: Vec<u8>,
    success: bool,
    out: Vec<u8>,
    events: Vec<LogData>,
) -> Value {
    let events: Vec<Value> = events.into_iter().map(log_json).collect();
    json!({
        "label": label,
        "sender": SUBMITTER,
        "blockNumber": block,
        "timestamp": TIMESTAMP,
        "calldata": hex(&calldata),
        "success": success,
        "returnData": hex(&out),
        "eventCount": events.len(),
        "events": events,
    })
}

fn ok(label: &str, calldata: Vec<u8>, events: Vec<LogData>) -> Value {
    step(label, DEPLOY_BLOCK, calldata, true, vec![], events)
}

fn revert(label: &str, calldata: Vec<u8>, error: impl SolError) -> Value {
    step(label, DEPLOY_BLOCK, calldata, false, error.abi_encode(), vec![])
}

/// `postMarginReport(report, root, proof)` refused with `error`.
fn post_report_reverts(
    report: &MarginReport,
    root: B256,
    proof: Vec<B256>,
    error: impl SolError,
) -> Value {
    let call = IMarginEngine::postMarginReportCall { report: report.clone(), root, proof };
    revert("postMarginReport", call.abi_encode(), error)
}

/// `PriceUpdated` for each price, in order.
fn prices_updated(prices: &[PriceReport]) -> Vec<LogData> {
    prices
        .iter()
        .map(|p| {
            Ev::PriceUpdated { asset: p.asset, price: p.price, observedBlock: p.observedBlock }
                .encode_log_data()
        })
        .collect()
}

/// Events of a fully accepted batch on a fresh engine.
fn accepted_events(b: &Batch) -> Vec<LogData> {
    let mut events = prices_updated(&b.prices);
    if !b.other.is_empty() {
        events.push(root_attested(&b.header));
    }
    events.push(
        Ev::BatchPosted {
            root: b.header.root,
            observedBlock: b.header.observedBlock,
            pricesAccepted: U256::from(b.prices.len()),
            reportsAccepted: U256::from(b.reports.len()),
            skipped: U256::ZERO,
        }
        .encode_log_data(),
    );
    events
}

fn root_attested(h: &ReportBatch) -> LogData {
    Ev::RootAttested {
        root: h.root,
        observedBlock: h.observedBlock,
        riskEpoch: h.riskEpoch,
        count: h.count,
    }
    .encode_log_data()
}

fn stored(r: &MarginReport) -> StoredMarginReport {
    StoredMarginReport {
        portfolioValue: r.portfolioValue,
        observedBlock: r.observedBlock,
        riskEpoch: r.riskEpoch,
        positionsNonce: r.positionsNonce,
        initialMargin: r.initialMargin,
        maintenanceMargin: r.maintenanceMargin,
    }
}

fn view_report(r: &MarginReport) -> Value {
    let call = IMarginEngine::marginReportOfCall { account: r.account };
    step(
        "view:marginReportOf",
        DEPLOY_BLOCK,
        call.abi_encode(),
        true,
        IMarginEngine::marginReportOfCall::abi_encode_returns(&stored(r)),
        vec![],
    )
}

fn case(
    name: &str,
    valid: bool,
    description: &str,
    deploy: Value,
    steps: Vec<Value>,
    decoded: Value,
) -> Value {
    json!({
        "name": name,
        "valid": valid,
        "description": description,
        "deploy": deploy,
        "stepCount": steps.len(),
        "steps": steps,
        "decoded": decoded,
    })
}

fn decoded_batch(b: &Batch, signers: &[&KeeperSigner]) -> Value {
    json!({
        "root": b.header.root,
        "observedBlock": b.header.observedBlock.to::<u64>(),
        "riskEpoch": b.header.riskEpoch,
        "count": b.header.count,
        "digest": digest(&b.header, CHAIN_ID, ENGINE),
        "signers": signers.iter().map(|s| s.address()).collect::<Vec<_>>(),
        "prices": b.prices.len(),
        "reports": b.reports.len(),
        "otherLeaves": b.other.len(),
    })
}

fn valid_batches(k: &Keys) -> Vec<Value> {
    let mut cases = Vec::new();
    for n in [1u64, 2, 100] {
        for quorum in [1u8, 2, 3] {
            let reports: Vec<_> = (0..n).map(|i| report(i, OBSERVED)).collect();
            let b = batch(prices(OBSERVED), reports, vec![], OBSERVED);
            let signers: Vec<&KeeperSigner> = k.keepers.iter().take(quorum as usize).collect();
            let calldata = post_batch_calldata(&b, sign(&b.header, &signers));
            let mut steps = vec![ok("postBatch", calldata, accepted_events(&b))];
            steps.push(view_report(&b.reports[0]));
            steps.push(view_report(&b.reports[b.reports.len() - 1]));
            cases.push(case(
                &format!("batch_{n}_quorum_{quorum}_of_5"),
                true,
                "A whole batch (2 prices + n margin reports) posted with exactly `quorum` keeper signatures; every leaf is applied.",
                deploy(k, quorum),
                steps,
                decoded_batch(&b, &signers),
            ));
        }
    }
    cases
}

fn liquidation_step(observed: u64) -> LiquidationStep {
    LiquidationStep {
        account: account(1),
        positionsNonce: U48::ZERO,
        riskEpoch: 0,
        observedBlock: U48::from(observed),
        instrumentId: keccak256("ETH-PERP"),
        size: -(E18 as i128),
        markPrice: 3_000 * E18,
    }
}

/// A 1 price + 3 reports + 1 liquidation step tree, for proofs.
fn proof_tree() -> Batch {
    let reports = (0..3).map(|i| report(i, OBSERVED)).collect();
    batch(
        prices(OBSERVED)[1..].to_vec(),
        reports,
        vec![liquidation_step(OBSERVED).leaf_hash()],
        OBSERVED,
    )
}

fn attest_calldata(b: &Batch, signatures: Vec<u8>) -> Vec<u8> {
    IMarginEngine::attestRootCall { batch: b.header.clone(), signatures: signatures.into() }
        .abi_encode()
}

fn proven_cases(k: &Keys) -> Vec<Value> {
    let two: Vec<&KeeperSigner> = k.keepers.iter().take(2).collect();
    let b = proof_tree();
    let attest = ok(
        "attestRoot",
        attest_calldata(&b, sign(&b.header, &two)),
        vec![root_attested(&b.header)],
    );
    let mut cases = Vec::new();

    // A single margin report against the stored root.
    let index = 1 + 1; // after the one price leaf: the second margin report
    let r = b.reports[1].clone();
    let proof = merkle::proof(&b.leaves, index).expect("index in range");
    let post = IMarginEngine::postMarginReportCall {
        report: r.clone(),
        root: b.header.root,
        proof: proof.clone(),
    };
    cases.push(case(
        "single_report_proven_quorum_2",
        true,
        "attestRoot stores a quorum-signed root; one margin report is then posted with its Merkle proof.",
        deploy(k, 2),
        vec![
            attest.clone(),
            ok(
                "postMarginReport",
                post.abi_encode(),
                vec![Ev::MarginReportProven { account: r.account, root: b.header.root, observedBlock: r.observedBlock }
                    .encode_log_data()],
            ),
            view_report(&r),
        ],
        json!({"leafIndex": index, "proof": proof, "leaves": b.leaves}),
    ));

    // A single price against the stored root.
    let p = b.prices[0].clone();
    let price_proof = merkle::proof(&b.leaves, 0).expect("index in range");
    cases.push(case(
        "single_price_proven_quorum_2",
        true,
        "A price report posted with its Merkle proof against an attested root.",
        deploy(k, 2),
        vec![
            attest.clone(),
            ok(
                "postPriceReport",
                IMarginEngine::postPriceReportCall {
                    price: p.clone(),
                    root: b.header.root,
                    proof: price_proof.clone(),
                }
                .abi_encode(),
                prices_updated(&b.prices[..1]),
            ),
        ],
        json!({"leafIndex": 0, "proof": price_proof}),
    ));

    // A batch that carries a liquidation-step leaf: applied and its root stored.
    let signers: Vec<&KeeperSigner> = k.keepers.iter().take(2).collect();
    cases.push(case(
        "batch_with_liquidation_leaf_stores_root",
        true,
        "postBatch with otherLeaves: prices and reports are applied and the root is stored (RootAttested) for the step's proof.",
        deploy(k, 2),
        vec![
            ok("postBatch", post_batch_calldata(&b, sign(&b.header, &signers)), accepted_events(&b)),
            step(
                "view:attestedRoot",
                DEPLOY_BLOCK,
                IMarginEngine::attestedRootCall { root: b.header.root }.abi_encode(),
                true,
                IMarginEngine::attestedRootCall::abi_encode_returns(&IMarginEngine::attestedRootReturn {
                    observedBlock: b.header.observedBlock,
                    riskEpoch: 0,
                }),
                vec![],
            ),
        ],
        decoded_batch(&b, &signers),
    ));

    // Invalid proof-path cases.
    let stranger = report(77, OBSERVED);
    cases.push(case(
        "leaf_not_in_signed_root",
        false,
        "A margin report that is not under the attested root, with another leaf's proof: InvalidProof.",
        deploy(k, 2),
        vec![
            attest.clone(),
            post_report_reverts(
                &stranger,
                b.header.root,
                proof.clone(),
                E::InvalidProof { root: b.header.root, leaf: stranger.leaf_hash() },
            ),
        ],
        json!({}),
    ));
    cases.push(case(
        "proof_for_another_leaf_type",
        false,
        "The price leaf's proof presented with a margin report of the same tree: the kind byte makes the leaves differ, InvalidProof.",
        deploy(k, 2),
        vec![
            attest.clone(),
            post_report_reverts(
                &r,
                b.header.root,
                price_proof.clone(),
                E::InvalidProof { root: b.header.root, leaf: r.leaf_hash() },
            ),
        ],
        json!({}),
    ));
    let mut bumped = b.reports[0].clone();
    bumped.positionsNonce = U48::from(1);
    let bumped_tree = batch(vec![], vec![bumped.clone()], vec![], OBSERVED);
    cases.push(case(
        "nonce_mismatch_proven",
        false,
        "A proven report computed for positionsNonce 1 while the account is at 0: NonceMismatch reverts (it is skipped inside a whole batch).",
        deploy(k, 2),
        vec![
            ok("attestRoot", attest_calldata(&bumped_tree, sign(&bumped_tree.header, &two)), vec![root_attested(&bumped_tree.header)]),
            post_report_reverts(
                &bumped,
                bumped_tree.header.root,
                vec![],
                E::NonceMismatch { account: bumped.account, expected: U48::ZERO, provided: U48::from(1) },
            ),
        ],
        json!({}),
    ));
    cases.push(case(
        "unknown_root",
        false,
        "A proof against a root nobody attested: UnknownRoot.",
        deploy(k, 2),
        vec![post_report_reverts(
            &r,
            b.header.root,
            proof.clone(),
            E::UnknownRoot { root: b.header.root },
        )],
        json!({}),
    ));
    cases.push(case(
        "attest_too_few_signers",
        false,
        "attestRoot with 1 signature at quorum 2: QuorumNotMet.",
        deploy(k, 2),
        vec![revert(
            "attestRoot",
            attest_calldata(&b, sign(&b.header, &two[..1])),
            E::QuorumNotMet { signers: U256::from(1), quorum: U256::from(2) },
        )],
        json!({}),
    ));
    cases
}

/// Flips a signature to its high-s twin (same signer, malleated).
fn malleate(signature: &[u8]) -> Vec<u8> {
    let mut raw = RawSignature::from_slice(signature.try_into().expect("65 bytes"));
    let n = SECP256K1N_HALF * U256::from(2) + U256::from(1);
    raw.s = B256::from(n - U256::from_be_bytes(raw.s.0));
    raw.v = if raw.v == 27 { 28 } else { 27 };
    raw.to_bytes().to_vec()
}

/// The error a verifier raises for signatures over a foreign domain: recovery gives unrelated
/// addresses, so the first check that fails depends on them; compute it the way every verifier must.
fn foreign_domain_error(signatures: &[u8], b: &Batch, keepers: &[Address]) -> Vec<u8> {
    let d = digest(&b.header, CHAIN_ID, ENGINE);
    let mut recover = margin_types::signer::K256Recover;
    match margin_types::quorum::verify_quorum(
        &mut recover,
        &d,
        signatures,
        |a| keepers.contains(&a),
        2,
    ) {
        Err(margin_types::ProtocolError::UnknownKeeper { signer }) => {
            E::UnknownKeeper { signer }.abi_encode()
        }
        Err(margin_types::ProtocolError::SignersNotAscending { previous, signer }) => {
            E::SignersNotAscending { previous, signer }.abi_encode()
        }
        other => panic!("a foreign-domain signature must not verify: {other:?}"),
    }
}

fn invalid_cases(k: &Keys) -> Vec<Value> {
    let two: Vec<&KeeperSigner> = k.keepers.iter().take(2).collect();
    let keeper_addresses: Vec<Address> = k.keepers.iter().map(KeeperSigner::address).collect();
    let reports: Vec<_> = (0..2).map(|i| report(i, OBSERVED)).collect();
    let b = batch(prices(OBSERVED), reports.clone(), vec![], OBSERVED);
    let good = sign(&b.header, &two);
    let mut cases = Vec::new();
    let mut push =
        |name: &str, description: &str, quorum: u8, calldata: Vec<u8>, error: Vec<u8>| {
            cases.push(case(
                name,
                false,
                description,
                deploy(k, quorum),
                vec![step("postBatch", DEPLOY_BLOCK, calldata, false, error, vec![])],
                json!({}),
            ));
        };

    let mut high_s = good.clone();
    let first = malleate(&good[..65]);
    high_s[..65].copy_from_slice(&first);
    push(
        "high_s_signature",
        "The first signature replaced by its malleated high-s twin (it would recover the same keeper).",
        2,
        post_batch_calldata(&b, high_s),
        E::SignatureSHigh { index: U256::ZERO, s: B256::from_slice(&first[32..64]) }.abi_encode(),
    );
    for v in [0u8, 1, 29] {
        let mut bad_v = good.clone();
        bad_v[64] = v;
        push(
            &format!("signature_v_{v}"),
            "v must be 27 or 28.",
            2,
            post_batch_calldata(&b, bad_v),
            E::InvalidSignatureV { index: U256::ZERO, v }.abi_encode(),
        );
    }
    for length in [0usize, 64, 66, 129] {
        let mut ragged = good.clone();
        ragged.resize(length, 0xab);
        push(
            &format!("malformed_signatures_{length}_bytes"),
            "Signature bytes must be a non-empty multiple of 65.",
            2,
            post_batch_calldata(&b, ragged),
            E::MalformedSignatures { length: U256::from(length) }.abi_encode(),
        );
    }
    let one = sign(&b.header, &two[..1]);
    let signer0 = two[0].address();
    push(
        "duplicate_signer",
        "The same keeper's signature twice at quorum 2.",
        2,
        post_batch_calldata(&b, [one.clone(), one.clone()].concat()),
        E::SignersNotAscending { previous: signer0, signer: signer0 }.abi_encode(),
    );
    let mut descending: Vec<(Address, Vec<u8>)> = two
        .iter()
        .map(|s| {
            (s.address(), s.sign_digest(&digest(&b.header, CHAIN_ID, ENGINE)).unwrap().to_vec())
        })
        .collect();
    descending.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    push(
        "signers_descending",
        "Two valid keeper signatures in descending signer order.",
        2,
        post_batch_calldata(&b, descending.iter().flat_map(|(_, s)| s.clone()).collect()),
        E::SignersNotAscending { previous: descending[0].0, signer: descending[1].0 }.abi_encode(),
    );
    push(
        "unregistered_signer",
        "A keeper and a key that is not registered.",
        2,
        post_batch_calldata(&b, sign(&b.header, &[two[0], &k.outsider])),
        E::UnknownKeeper { signer: k.outsider.address() }.abi_encode(),
    );
    push(
        "too_few_signers",
        "Two valid signatures at quorum 3.",
        3,
        post_batch_calldata(&b, good.clone()),
        E::QuorumNotMet { signers: U256::from(2), quorum: U256::from(3) }.abi_encode(),
    );
    let mut zero_r = good.clone();
    zero_r[..32].fill(0);
    push(
        "unrecoverable_signature",
        "r = 0: the ecrecover precompile returns no data.",
        2,
        post_batch_calldata(&b, zero_r),
        E::InvalidSignature { index: U256::ZERO }.abi_encode(),
    );
    let wrong_chain = sign_with(&b.header, &two, 1, ENGINE);
    push(
        "wrong_chain_id",
        "Keepers signed the batch for chain id 1: the recovered addresses are not keepers.",
        2,
        post_batch_calldata(&b, wrong_chain.clone()),
        foreign_domain_error(&wrong_chain, &b, &keeper_addresses),
    );
    let other_engine = address!("00000000000000000000000000000000deadbeef");
    let wrong_contract = sign_with(&b.header, &two, CHAIN_ID, other_engine);
    push(
        "wrong_verifying_contract",
        "Keepers signed the batch for another engine address.",
        2,
        post_batch_calldata(&b, wrong_contract.clone()),
        foreign_domain_error(&wrong_contract, &b, &keeper_addresses),
    );

    // Freshness and epoch.
    let stale_block = DEPLOY_BLOCK - u64::from(MAX_REPORT_AGE) - 1;
    let stale = batch(
        prices(stale_block),
        (0..2).map(|i| report(i, stale_block)).collect(),
        vec![],
        stale_block,
    );
    push(
        "stale_block",
        "observedBlock older than maxReportAgeBlocks (100).",
        2,
        post_batch_calldata(&stale, sign(&stale.header, &two)),
        E::StaleReport {
            observedBlock: U48::from(stale_block),
            currentBlock: U256::from(DEPLOY_BLOCK),
        }
        .abi_encode(),
    );
    let oldest_ok = DEPLOY_BLOCK - u64::from(MAX_REPORT_AGE);
    let edge =
        batch(prices(oldest_ok), (0..2).map(|i| report(i, oldest_ok)).collect(), vec![], oldest_ok);
    let future = batch(
        prices(DEPLOY_BLOCK + 1),
        (0..2).map(|i| report(i, DEPLOY_BLOCK + 1)).collect(),
        vec![],
        DEPLOY_BLOCK + 1,
    );
    push(
        "future_block",
        "observedBlock after the engine's block clock (clockBlock()).",
        2,
        post_batch_calldata(&future, sign(&future.header, &two)),
        E::FutureReport {
            observedBlock: U48::from(DEPLOY_BLOCK + 1),
            currentBlock: U256::from(DEPLOY_BLOCK),
        }
        .abi_encode(),
    );
    let mut epoch = batch(prices(OBSERVED), reports.clone(), vec![], OBSERVED);
    epoch.header.riskEpoch = 5;
    push(
        "wrong_risk_epoch",
        "The batch claims risk epoch 5; the engine is at 0.",
        2,
        post_batch_calldata(&epoch, sign(&epoch.header, &two)),
        E::WrongRiskEpoch { expected: 0, provided: 5 }.abi_encode(),
    );
    let mut counted = batch(prices(OBSERVED), reports.clone(), vec![], OBSERVED);
    counted.header.count += 1;
    push(
        "count_mismatch",
        "The signed count is one more than the leaves supplied.",
        2,
        post_batch_calldata(&counted, sign(&counted.header, &two)),
        E::CountMismatch { signedCount: counted.header.count, leaves: U256::from(4) }.abi_encode(),
    );
    // A report swapped for one the keepers never signed: the rebuilt root differs.
    let mut swapped = batch(prices(OBSERVED), reports.clone(), vec![], OBSERVED);
    let signed_root = swapped.header.root;
    let signatures = sign(&swapped.header, &two);
    swapped.reports[1] = report(55, OBSERVED);
    let computed = merkle::root(
        &swapped
            .prices
            .iter()
            .map(BatchLeaf::leaf_hash)
            .chain(swapped.reports.iter().map(BatchLeaf::leaf_hash))
            .collect::<Vec<_>>(),
    );
    push(
        "report_not_in_signed_root",
        "A margin report replaced after signing: the rebuilt root differs from the signed one.",
        2,
        post_batch_calldata(&swapped, signatures),
        E::RootMismatch { signedRoot: signed_root, computedRoot: computed }.abi_encode(),
    );
    let mut mixed_reports = reports.clone();
    mixed_reports[1].observedBlock = U48::from(OBSERVED - 1);
    let mixed = batch(prices(OBSERVED), mixed_reports, vec![], OBSERVED);
    push(
        "leaf_block_mismatch",
        "A signed margin report whose observedBlock differs from its batch's.",
        2,
        post_batch_calldata(&mixed, sign(&mixed.header, &two)),
        E::LeafBlockMismatch {
            batchBlock: U48::from(OBSERVED),
            leafBlock: U48::from(OBSERVED - 1),
        }
        .abi_encode(),
    );
    let mut bad_margin = reports.clone();
    bad_margin[0].initialMargin = bad_margin[0].maintenanceMargin - 1;
    let bad = batch(prices(OBSERVED), bad_margin.clone(), vec![], OBSERVED);
    push(
        "initial_below_maintenance",
        "A signed report with initialMargin < maintenanceMargin.",
        2,
        post_batch_calldata(&bad, sign(&bad.header, &two)),
        E::InvalidMarginReport { account: bad_margin[0].account }.abi_encode(),
    );
    let mut zero_price = prices(OBSERVED);
    zero_price[1].price = 0;
    let zp = batch(zero_price, reports.clone(), vec![], OBSERVED);
    push(
        "zero_price",
        "A signed price of zero.",
        2,
        post_batch_calldata(&zp, sign(&zp.header, &two)),
        E::InvalidPrice { asset: WETH }.abi_encode(),
    );
    let unlisted = batch(
        vec![PriceReport { asset: UNLISTED, price: E18, observedBlock: U48::from(OBSERVED) }],
        reports.clone(),
        vec![],
        OBSERVED,
    );
    push(
        "price_for_unlisted_asset",
        "A signed price for an asset that is not listed as collateral.",
        2,
        post_batch_calldata(&unlisted, sign(&unlisted.header, &two)),
        E::AssetNotListed { asset: UNLISTED }.abi_encode(),
    );

    // Oldest acceptable block is accepted.
    cases.push(case(
        "oldest_fresh_block_accepted",
        true,
        "observedBlock exactly maxReportAgeBlocks old is still fresh.",
        deploy(k, 2),
        vec![ok(
            "postBatch",
            post_batch_calldata(&edge, sign(&edge.header, &two)),
            accepted_events(&edge),
        )],
        json!({}),
    ));

    // Nonce mismatch inside a batch is skipped, not reverted.
    let mut skip_reports = reports.clone();
    skip_reports[1].positionsNonce = U48::from(1);
    let skip = batch(prices(OBSERVED), skip_reports.clone(), vec![], OBSERVED);
    let mut events = prices_updated(&skip.prices);
    events.push(
        Ev::MarginReportSkipped {
            account: skip_reports[1].account,
            reason: E::NonceMismatch::SELECTOR.into(),
        }
        .encode_log_data(),
    );
    events.push(
        Ev::BatchPosted {
            root: skip.header.root,
            observedBlock: skip.header.observedBlock,
            pricesAccepted: U256::from(2),
            reportsAccepted: U256::from(1),
            skipped: U256::from(1),
        }
        .encode_log_data(),
    );
    cases.push(case(
        "nonce_mismatch_skipped_in_batch",
        true,
        "One report was computed for positionsNonce 1 (the account is at 0): it is skipped with MarginReportSkipped, the rest applies.",
        deploy(k, 2),
        vec![ok("postBatch", post_batch_calldata(&skip, sign(&skip.header, &two)), events), view_report(&skip_reports[0])],
        json!({}),
    ));

    // The same batch twice: everything skipped the second time.
    let calldata = post_batch_calldata(&b, good.clone());
    let mut replay_events: Vec<LogData> = b
        .prices
        .iter()
        .map(|p| {
            Ev::PriceSkipped { asset: p.asset, reason: E::PriceNotNewer::SELECTOR.into() }
                .encode_log_data()
        })
        .collect();
    replay_events.extend(b.reports.iter().map(|r| {
        Ev::MarginReportSkipped { account: r.account, reason: E::ReportNotNewer::SELECTOR.into() }
            .encode_log_data()
    }));
    replay_events.push(
        Ev::BatchPosted {
            root: b.header.root,
            observedBlock: b.header.observedBlock,
            pricesAccepted: U256::ZERO,
            reportsAccepted: U256::ZERO,
            skipped: U256::from(4),
        }
        .encode_log_data(),
    );
    cases.push(case(
        "replayed_batch_is_skipped",
        true,
        "Posting the same batch again: every price and report is not newer than the stored one and is skipped.",
        deploy(k, 2),
        vec![
            ok("postBatch", calldata.clone(), accepted_events(&b)),
            step("postBatch (replay)", DEPLOY_BLOCK + 1, calldata, true, vec![], replay_events),
        ],
        json!({}),
    ));
    cases
}

fn eip712_file(k: &Keys) -> Value {
    let signer = &k.keepers[0];
    let ds = domain_separator(U256::from(CHAIN_ID), ENGINE);
    let mut items = Vec::new();
    let mut add = |type_name: &str, type_string: &str, struct_hash: B256, fields: Value| {
        let d = signing_digest(&ds, &struct_hash);
        let signature = signer.sign_digest(&d).expect("signing");
        items.push(json!({
            "type": type_name,
            "typeString": type_string,
            "typeHash": keccak256(type_string),
            "fields": fields,
            "structHash": struct_hash,
            "digest": d,
            "signer": signer.address(),
            "signature": hex(&signature),
        }));
    };
    let r = report(3, OBSERVED);
    add(
        "MarginReport",
        MarginReport::TYPE,
        r.struct_hash(),
        json!({
            "account": r.account, "positionsNonce": r.positionsNonce.to::<u64>(), "riskEpoch": r.riskEpoch,
            "observedBlock": r.observedBlock.to::<u64>(), "portfolioValue": r.portfolioValue.to_string(),
            "initialMargin": r.initialMargin.to_string(), "maintenanceMargin": r.maintenanceMargin.to_string()
        }),
    );
    let p = prices(OBSERVED)[1].clone();
    add(
        "PriceReport",
        PriceReport::TYPE,
        p.struct_hash(),
        json!({
            "asset": p.asset, "price": p.price.to_string(), "observedBlock": p.observedBlock.to::<u64>()
        }),
    );
    let s = liquidation_step(OBSERVED);
    add(
        "LiquidationStep",
        LiquidationStep::TYPE,
        s.struct_hash(),
        json!({
            "account": s.account, "positionsNonce": s.positionsNonce.to::<u64>(), "riskEpoch": s.riskEpoch,
            "observedBlock": s.observedBlock.to::<u64>(), "instrumentId": s.instrumentId,
            "size": s.size.to_string(), "markPrice": s.markPrice.to_string()
        }),
    );
    let b = proof_tree();
    add(
        "ReportBatch",
        ReportBatch::TYPE,
        b.header.struct_hash(),
        json!({
            "root": b.header.root, "observedBlock": b.header.observedBlock.to::<u64>(),
            "riskEpoch": b.header.riskEpoch, "count": b.header.count
        }),
    );
    json!({
        "schema": 1,
        "warning": "TEST-ONLY KEYS: public on purpose, never fund or use them.",
        "chainId": CHAIN_ID,
        "engine": ENGINE,
        "domainSeparator": ds,
        "keys": [k.json[0].clone()],
        "itemCount": items.len(),
        "items": items,
    })
}

/// What `blockNumber` means in the cases (IMarginEngine.sol's header, docs/stylus.md "Block clock").
const BLOCK_CLOCK: &str = "deploy.blockNumber and each step's blockNumber are the engine's block clock \
(clockBlock()): every observedBlock, freshness window and per-block gate counts in it. On Arbitrum it \
is the L2 block, ArbSys(0x64).arbBlockNumber(), never block.number (Arbitrum's L1 estimate). Replays: \
the Solidity twin on a chain without ArbSys (block.number = blockNumber); the Stylus engine with \
ArbSys answering blockNumber and its block_number hostio (the L1 estimate) at a different number.";

/// `step` from another sender.
fn step_from(sender: Address, mut step: Value) -> Value {
    step["sender"] = json!(sender);
    step
}

/// The admin's `proposeChange(change)`, returning `(changeId, applied)` and emitting `event`.
fn admin_proposes(change: ParamChange, returns: (B256, bool), event: LogData) -> Value {
    let mut s =
        ok("proposeChange", IMarginEngine::proposeChangeCall { change }.abi_encode(), vec![event]);
    s["returnData"] = json!(hex(&returns.abi_encode()));
    step_from(ADMIN, s)
}

/// Settlement without tokens (issue 12): a funding leg makes one account owe another; the
/// winner's profit waits for the reserve; the loser holds nothing, so its bad debt is resolved
/// (no insurance fund yet: all socialised, which wipes the only positive cash in a new cash
/// epoch); the admin replaces the council at once, and a council cannot cancel a role change.
fn settlement_cases(keys: &Keys) -> Vec<Value> {
    let (winner, loser, council2, admin2) = (account(1), account(2), account(3), account(4));
    let id = keccak256("ETH-PERP");
    let hundred = 100 * E18 as i128;
    let mut deploy = deploy(keys, 2);
    deploy["constructorArgs"] = json!(hex(&encode_constructor_args(
        ADMIN,
        RISK_COUNCIL,
        GUARDIAN,
        keys.keepers.iter().map(KeeperSigner::address).collect(),
        2,
        &params(),
        vec![USDC, WETH],
        vec![6, 18],
        vec![9_800, 9_000],
        vec![VENUE],
    )));
    let list = IMarginEngine::listInstrumentCall { instrumentId: id, spec: "ETH".into() };
    let legs = vec![
        TradeLeg { account: winner, instrumentId: id, sizeDelta: 0, cashDelta: hundred },
        TradeLeg { account: loser, instrumentId: id, sizeDelta: 0, cashDelta: -hundred },
    ];
    let changed = |account, cash, nonce: u64| {
        Ev::PositionChanged {
            account,
            instrumentId: id,
            sizeDelta: Default::default(),
            cashDelta: alloy_primitives::I256::try_from(cash).expect("small"),
            newSize: Default::default(),
            positionsNonce: U48::from(nonce),
        }
        .encode_log_data()
    };
    let state = SettlementState {
        settlementAsset: USDC,
        cashReserve: U256::ZERO,
        insuranceFund: U256::ZERO,
        socialisedLoss: U256::from(100 * E18),
        totalPositiveCash: U256::ZERO,
        positiveCashRate: U256::from(E18),
        seizureDiscountBps: 500,
        insuranceShareBps: 5_000,
        liquidatorMarginBps: 1_000,
    };
    let change_id = |kind: u8, target: Address, eta: u64| {
        keccak256((U256::from(kind), target, U256::ZERO, U256::from(eta)).abi_encode())
    };
    let replace = ParamChange { kind: 14, target: council2, value: U256::ZERO };
    let replace_id = change_id(14, council2, TIMESTAMP);
    let role = ParamChange { kind: 13, target: admin2, value: U256::ZERO };
    let eta = TIMESTAMP + 3_600;
    let role_id = change_id(13, admin2, eta);
    let steps = vec![
        step_from(
            ADMIN,
            ok(
                "listInstrument",
                list.abi_encode(),
                vec![
                    Ev::InstrumentListed { instrumentId: id, spec: "ETH".into() }.encode_log_data()
                ],
            ),
        ),
        step_from(
            VENUE,
            ok(
                "settleTrade",
                IMarginEngine::settleTradeCall { legs }.abi_encode(),
                vec![
                    changed(winner, hundred, 1),
                    changed(loser, -hundred, 1),
                    Ev::TradeSettled { venue: VENUE, legs: U256::from(2) }.encode_log_data(),
                ],
            ),
        ),
        step_from(
            winner,
            revert(
                "withdrawCash",
                IMarginEngine::withdrawCashCall { amount: U256::from(1_000_000) }.abi_encode(),
                E::InsufficientCashReserve { available: U256::ZERO, amount: U256::from(E18) },
            ),
        ),
        step_from(
            loser,
            revert(
                "repayDebt",
                IMarginEngine::repayDebtCall { amount: U256::from(1) }.abi_encode(),
                E::InsufficientCollateral {
                    account: loser,
                    asset: USDC,
                    balance: U256::ZERO,
                    amount: U256::from(1),
                },
            ),
        ),
        ok(
            "resolveBadDebt",
            IMarginEngine::resolveBadDebtCall { account: loser }.abi_encode(),
            vec![Ev::BadDebtResolved {
                account: loser,
                debt: U256::from(100 * E18),
                coveredByFund: U256::ZERO,
                socialised: U256::from(100 * E18),
                positiveCashRate: U256::from(E18),
            }
            .encode_log_data()],
        ),
        step(
            "view:accountState",
            DEPLOY_BLOCK,
            IMarginEngine::accountStateCall { account: winner }.abi_encode(),
            true,
            IMarginEngine::accountStateCall::abi_encode_returns(
                &IMarginEngine::accountStateReturn {
                    positionsNonce: U48::from(1),
                    cash: Default::default(),
                    lastLiquidationBlock: U48::ZERO,
                },
            ),
            vec![],
        ),
        step(
            "view:settlementState",
            DEPLOY_BLOCK,
            IMarginEngine::settlementStateCall {}.abi_encode(),
            true,
            IMarginEngine::settlementStateCall::abi_encode_returns(&state),
            vec![],
        ),
        step_from(
            RISK_COUNCIL,
            revert(
                "proposeChange",
                IMarginEngine::proposeChangeCall { change: replace.clone() }.abi_encode(),
                E::NotAdmin { caller: RISK_COUNCIL },
            ),
        ),
        admin_proposes(
            replace,
            (replace_id, true),
            Ev::ChangeApplied {
                changeId: replace_id,
                kind: 14,
                target: council2,
                value: U256::ZERO,
            }
            .encode_log_data(),
        ),
        admin_proposes(
            role,
            (role_id, false),
            Ev::ChangeQueued {
                changeId: role_id,
                kind: 13,
                target: admin2,
                value: U256::ZERO,
                eta,
            }
            .encode_log_data(),
        ),
        step_from(
            council2,
            revert(
                "cancelChange",
                IMarginEngine::cancelChangeCall { changeId: role_id }.abi_encode(),
                E::NotAdmin { caller: council2 },
            ),
        ),
        step_from(
            RISK_COUNCIL,
            revert(
                "cancelChange",
                IMarginEngine::cancelChangeCall { changeId: role_id }.abi_encode(),
                E::NotRiskCouncilOrAdmin { caller: RISK_COUNCIL },
            ),
        ),
    ];
    vec![case(
        "settlement_bad_debt_and_council_replacement",
        true,
        "A funding leg (cash only) makes account 2 owe account 1 100 USD; account 1's profit waits \
         for the cash reserve; account 2 holds nothing, so its debt is resolved as bad debt (no \
         fund: all socialised, which wipes account 1's positive cash in a new cash epoch); the \
         admin replaces the council at once; neither council cancels a queued SetAdmin.",
        deploy,
        steps,
        json!({"debt": "100e18", "socialised": "100e18", "newCouncil": council2}),
    )]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let k = keys();
    let mut cases = valid_batches(&k);
    cases.extend(proven_cases(&k));
    cases.extend(invalid_cases(&k));
    cases.extend(settlement_cases(&k));
    let file = json!({
        "schema": 1,
        "warning": "TEST-ONLY KEYS: public on purpose, never fund or use them.",
        "chainId": CHAIN_ID,
        "engine": ENGINE,
        "blockClock": BLOCK_CLOCK,
        "keys": k.json,
        "caseCount": cases.len(),
        "cases": cases,
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("quorum-batches.json"), serde_json::to_string_pretty(&file)? + "\n")?;
    fs::write(dir.join("eip712.json"), serde_json::to_string_pretty(&eip712_file(&k))? + "\n")?;
    println!("wrote {} cases to {}", file["caseCount"], dir.display());
    Ok(())
}

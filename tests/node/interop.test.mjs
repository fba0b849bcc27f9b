// Interop test: the official Fabric Gateway SDK for Node (@hyperledger/fabric-gateway)
// against a running HealthBlock network (the devnet, or real Fabric).
//
// The Rust end-to-end suite starts the network, deploys the stand-in chaincode,
// writes a key with the Rust client, then runs this file with the environment below,
// and afterwards reads back with the Rust client what this file wrote.
//
//   HB_PEER_ENDPOINT   host:port of the gateway peer
//   HB_TLS_CA          PEM file of the peer's TLS CA
//   HB_SERVER_NAME     TLS server name of the peer (its hostname in the certificate)
//   HB_MSPID           MSP id of the client identity
//   HB_CERT, HB_KEY    client certificate and PKCS#8 private key (PEM files)
//   HB_CHANNEL         channel name
//   HB_CHAINCODE       chaincode name (the stand-in kv chaincode)
//   HB_RUST_KEY / HB_RUST_VALUE   a key the Rust client wrote, and its value
//   HB_NODE_KEY / HB_NODE_VALUE   a key this test writes for the Rust client to read
//   HB_ADMIN_CERT, HB_ADMIN_KEY   the org admin's certificate and key: the channel's ACLs
//                                 give block delivery to peers and admins only

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, signers } from '@hyperledger/fabric-gateway';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (see the header of this file)`);
  return v;
}

const utf8 = new TextDecoder();
// Bound on waiting for one event: a stream that never delivers the wanted one fails the test.
const EVENT_WAIT_MS = 30_000;
// Bound on each test as a whole (node:test cancels and fails it after this).
const TEST_TIMEOUT = { timeout: 90_000 };

// The first item of `events` for which `wanted` holds; fails if the stream ends
// without one or none arrives within EVENT_WAIT_MS. Closes the stream either way.
async function firstWanted(events, wanted, what) {
  let timer;
  const timedOut = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not received within ${EVENT_WAIT_MS} ms`)),
      EVENT_WAIT_MS,
    );
  });
  const search = (async () => {
    for await (const item of events) {
      if (wanted(item)) return item;
    }
    throw new Error(`${what}: the event stream ended without it`);
  })();
  try {
    return await Promise.race([search, timedOut]);
  } finally {
    clearTimeout(timer);
    events.close();
  }
}
let client;
let gateway;
let adminGateway;
let contract;
let network;

before(() => {
  const tlsCa = readFileSync(env('HB_TLS_CA'));
  client = new grpc.Client(env('HB_PEER_ENDPOINT'), grpc.credentials.createSsl(tlsCa), {
    'grpc.ssl_target_name_override': env('HB_SERVER_NAME'),
  });
  gateway = connect({
    client,
    identity: { mspId: env('HB_MSPID'), credentials: readFileSync(env('HB_CERT')) },
    signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(env('HB_KEY')))),
    evaluateOptions: () => ({ deadline: Date.now() + 10_000 }),
    endorseOptions: () => ({ deadline: Date.now() + 30_000 }),
    submitOptions: () => ({ deadline: Date.now() + 10_000 }),
    commitStatusOptions: () => ({ deadline: Date.now() + 60_000 }),
  });
  network = gateway.getNetwork(env('HB_CHANNEL'));
  contract = network.getContract(env('HB_CHAINCODE'));
  adminGateway = connect({
    client,
    identity: { mspId: env('HB_MSPID'), credentials: readFileSync(env('HB_ADMIN_CERT')) },
    signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(env('HB_ADMIN_KEY')))),
  });
});

after(() => {
  adminGateway?.close();
  gateway?.close();
  client?.close();
});

test('evaluate reads what the Rust client wrote', TEST_TIMEOUT, async () => {
  const value = await contract.evaluateTransaction('get', env('HB_RUST_KEY'));
  assert.equal(utf8.decode(value), env('HB_RUST_VALUE'));
});

test('submit commits and the value reads back', TEST_TIMEOUT, async () => {
  const key = env('HB_NODE_KEY');
  const value = env('HB_NODE_VALUE');
  await contract.submitTransaction('put', key, value);
  const read = await contract.evaluateTransaction('get', key);
  assert.equal(utf8.decode(read), value);
});

test('submitAsync reports VALID with a block number', TEST_TIMEOUT, async () => {
  const commit = await contract.submitAsync('put', { arguments: ['node-async-key', 'v1'] });
  const status = await commit.getStatus();
  assert.equal(status.successful, true, `commit status code ${status.code}`);
  assert.equal(status.code, 0);
  assert.ok(status.blockNumber > 0n, 'block number should be positive');
});

test('a chaincode error carries the chaincode message', TEST_TIMEOUT, async () => {
  await assert.rejects(
    contract.submitTransaction('fail', 'deliberate failure from node'),
    (err) => {
      assert.equal(err.name, 'EndorseError');
      const text = [err.message, ...(err.details ?? []).map((d) => d.message)].join(' | ');
      assert.match(text, /deliberate failure from node/);
      return true;
    },
  );
});

test('chaincode events arrive for a committed transaction', TEST_TIMEOUT, async () => {
  const checkpointCommit = await contract.submitAsync('put', { arguments: ['node-event-setup', 'x'] });
  const start = (await checkpointCommit.getStatus()).blockNumber;
  const commit = await contract.submitAsync('putevent', { arguments: ['node-event-key', 'node-event-value'] });
  const status = await commit.getStatus();
  assert.equal(status.successful, true);
  const events = await network.getChaincodeEvents(env('HB_CHAINCODE'), { startBlock: start });
  const event = await firstWanted(
    events,
    (e) => e.transactionId === commit.getTransactionId(),
    `the kv_put event of ${commit.getTransactionId()}`,
  );
  assert.equal(event.eventName, 'kv_put');
  assert.equal(utf8.decode(event.payload), 'node-event-key=node-event-value');
  assert.equal(event.blockNumber, status.blockNumber);
});

test('block events deliver committed blocks to an admin', TEST_TIMEOUT, async () => {
  const commit = await contract.submitAsync('put', { arguments: ['node-block-key', 'b'] });
  const status = await commit.getStatus();
  const adminNetwork = adminGateway.getNetwork(env('HB_CHANNEL'));
  const blocks = await adminNetwork.getBlockEvents({ startBlock: status.blockNumber });
  const block = await firstWanted(blocks, () => true, `block ${status.blockNumber}`);
  assert.equal(BigInt(block.getHeader().getNumber()), status.blockNumber);
  assert.ok(block.getData().getDataList().length >= 1);
});

test('block events are refused to a client (channel ACL event/Block)', TEST_TIMEOUT, async () => {
  const blocks = await network.getBlockEvents({ startBlock: 0n });
  await assert.rejects(
    async () => firstWanted(blocks, () => true, 'a block for a client'),
    /Unexpected status response: 403/,
  );
});

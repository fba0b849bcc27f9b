// The official Fabric Gateway SDK for Node reads an EHR record's metadata
// that the Rust client wrote, and prints it as JSON on stdout.
//
// The Rust end-to-end suite (tests/ehr) stores the record, runs this file with
// the environment below, and compares what it prints with its own read.
// Same conventions as interop.test.mjs:
//
//   HB_PEER_ENDPOINT   host:port of the gateway peer
//   HB_TLS_CA          PEM file of the peer's TLS CA
//   HB_SERVER_NAME     TLS server name of the peer
//   HB_MSPID           MSP id of the client identity
//   HB_CERT, HB_KEY    client certificate and PKCS#8 private key (PEM files);
//                      the certificate must carry an hb.role attribute
//   HB_CHANNEL         channel name
//   HB_CHAINCODE       the EHR contract's name
//   HB_RECORD_ID       the record to read (get_record)

import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, signers } from '@hyperledger/fabric-gateway';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (see the header of this file)`);
  return v;
}

const client = new grpc.Client(env('HB_PEER_ENDPOINT'), grpc.credentials.createSsl(readFileSync(env('HB_TLS_CA'))), {
  'grpc.ssl_target_name_override': env('HB_SERVER_NAME'),
});
const gateway = connect({
  client,
  identity: { mspId: env('HB_MSPID'), credentials: readFileSync(env('HB_CERT')) },
  signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(env('HB_KEY')))),
  evaluateOptions: () => ({ deadline: Date.now() + 10_000 }),
});
try {
  const contract = gateway.getNetwork(env('HB_CHANNEL')).getContract(env('HB_CHAINCODE'));
  const bytes = await contract.evaluateTransaction('get_record', env('HB_RECORD_ID'));
  const metadata = JSON.parse(new TextDecoder().decode(bytes));
  process.stdout.write(JSON.stringify(metadata) + '\n');
} finally {
  gateway.close();
  client.close();
}

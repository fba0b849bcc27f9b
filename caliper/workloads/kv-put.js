/*
 * Owns: the kv put workload: each transaction writes a fresh key of the `kv`
 * chaincode (submitted), named `caliper-put-<run>-...` so the ledger can
 * count them (`countrange`). Arguments: valueSize (bytes, default 100), identity
 * (default admin), org.
 */
'use strict';

const crypto = require('crypto');
const { HealthBlockWorkload } = require('./lib/healthblock');

class KvPut extends HealthBlockWorkload {
    async submitTransaction() {
        const identity = this.roundArguments.identity || 'admin';
        const size = this.roundArguments.valueSize || 100;
        const key = `caliper-put-${this.run}-${this.sent++}`;
        const value = crypto.randomBytes(Math.ceil(size / 2)).toString('hex').slice(0, size);
        return this.measured(this.request(this.home, identity, 'kv', 'put', [key, value], false));
    }
}

module.exports.createWorkloadModule = () => new KvPut();

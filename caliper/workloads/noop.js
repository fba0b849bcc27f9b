/*
 * Owns: the no-op workload: `kv` chaincode's `noop` (no reads, no writes),
 * submitted, so a round measures the transaction path itself (endorse, order,
 * validate, commit). Arguments: identity (default admin), org.
 */
'use strict';

const { HealthBlockWorkload } = require('./lib/healthblock');

class Noop extends HealthBlockWorkload {
    async submitTransaction() {
        const identity = this.roundArguments.identity || 'admin';
        return this.measured(this.request(this.home, identity, 'kv', 'noop', [], false));
    }
}

module.exports.createWorkloadModule = () => new Noop();

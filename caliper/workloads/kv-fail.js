/*
 * Owns: a workload whose every transaction the kv chaincode refuses
 * (`fail`, status 500 at endorsement), so the tests can show that a run with
 * failed transactions fails (Caliper itself exits 0). Not part of the
 * benchmark. Arguments: identity (default admin), org.
 */
'use strict';

const { HealthBlockWorkload } = require('./lib/healthblock');

class KvFail extends HealthBlockWorkload {
    async submitTransaction() {
        const identity = this.roundArguments.identity || 'admin';
        return this.measured(this.request(this.home, identity, 'kv', 'fail', [`caliper refusal ${this.sent++}`], false));
    }
}

module.exports.createWorkloadModule = () => new KvFail();

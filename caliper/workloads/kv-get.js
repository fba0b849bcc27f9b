/*
 * Owns: the kv get workload: the worker first writes `keys` keys (set-up,
 * not measured), then each transaction evaluates `get` of one of them in turn
 * and checks the value. Arguments: keys (default 10), identity (default
 * admin), org.
 */
'use strict';

const crypto = require('crypto');
const { HealthBlockWorkload } = require('./lib/healthblock');

class KvGet extends HealthBlockWorkload {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.identity = roundArguments.identity || 'admin';
        this.entries = [];
        for (let i = 0; i < (roundArguments.keys || 10); i++) {
            const key = `caliper-get-${this.run}-${i}`;
            const value = crypto.randomBytes(16).toString('hex');
            await this.setup(this.home, this.identity, 'kv', 'put', [key, value]);
            this.entries.push([key, value]);
        }
    }

    async submitTransaction() {
        const [key, value] = this.entries[this.sent++ % this.entries.length];
        return this.measured(this.request(this.home, this.identity, 'kv', 'get', [key], true),
            (text) => (text === value ? null : `get ${key} answered ${JSON.stringify(text)}, not the value written`));
    }
}

module.exports.createWorkloadModule = () => new KvGet();

/*
 * Owns: the EHR put_record workload: a doctor of the worker's hospital
 * registers a patient (set-up), then each transaction records version 1 of a
 * new record of that patient (submitted; the record keys carry the home
 * hospital's key-level endorsement policy). The arguments are PutArgs
 * (chaincode/types/src/args.rs) with synthetic ciphertext metadata: a
 * benchmark of the ledger, not of encryption or storage. Arguments:
 * resourceType (default Observation), size (default 4096), org.
 */
'use strict';

const { HealthBlockWorkload, hex64 } = require('./lib/healthblock');

class EhrPutRecord extends HealthBlockWorkload {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.patient = hex64();
        await this.setup(this.home, 'doctor', 'ehr', 'register_patient', [this.patient]);
    }

    putArgs(recordId) {
        return JSON.stringify({
            record_id: recordId,
            patient_id: this.patient,
            version: 1,
            resource_type: this.roundArguments.resourceType || 'Observation',
            ciphertext_sha256: hex64(),
            size: this.roundArguments.size || 4096,
            storage_pointer: `caliper://${this.run}/${recordId}`,
            blind_index: [hex64().slice(0, 32)],
            // No wraps: the metadata is synthetic, and the contract accepts wraps
            // only to the home hospital's and the patient's published keys.
            wraps: [],
        });
    }

    async submitTransaction() {
        const recordId = `caliper-${this.run}-${this.sent++}`;
        return this.measured(
            this.request(this.home, 'doctor', 'ehr', 'put_record', [this.putArgs(recordId)], false),
            (text) => {
                const stored = JSON.parse(text);
                return stored.record_id === recordId && stored.version === 1 ? null
                    : `put_record answered ${text.slice(0, 200)}`;
            });
    }
}

module.exports = { EhrPutRecord };
module.exports.createWorkloadModule = () => new EhrPutRecord();

/*
 * Owns: the EHR list_records_by_patient workload: a doctor of the worker's
 * hospital registers a patient and stores `records` records (set-up); each
 * transaction evaluates list_records_by_patient as that doctor and must list
 * all of them. Arguments: records (default 10, at most 500: one page), org.
 */
'use strict';

const { EhrPutRecord } = require('./ehr-put-record');

class EhrListByPatient extends EhrPutRecord {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.count = roundArguments.records || 10;
        for (let i = 0; i < this.count; i++) {
            await this.setup(this.home, 'doctor', 'ehr', 'put_record', [this.putArgs(`caliper-${this.run}-list-${i}`)]);
        }
    }

    async submitTransaction() {
        this.sent++;
        return this.measured(
            this.request(this.home, 'doctor', 'ehr', 'list_records_by_patient', [this.patient, String(this.count)], true),
            (text) => {
                const page = JSON.parse(text);
                return Array.isArray(page.items) && page.items.length === this.count ? null
                    : `listed ${Array.isArray(page.items) ? page.items.length : 'no'} records, not ${this.count}`;
            });
    }
}

module.exports.createWorkloadModule = () => new EhrListByPatient();

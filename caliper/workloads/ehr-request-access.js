/*
 * Owns: the EHR request_access workload (the audited read): a doctor of the
 * worker's hospital registers a patient and stores `records` records
 * (set-up). With `requester: other` (the default) the home hospital's admin
 * grants the next hospital consent to all the patient's records, and that
 * hospital's doctor requests access; with `requester: home` the home doctor
 * does. Each transaction is a submitted request_access (it commits one audit
 * entry) naming the requester's published encryption key, and must be
 * granted. The key must be published already (scripts/caliper.sh publishes
 * each doctor's with `healthblock keydir publish`). Arguments: records
 * (default 5), requester, org.
 */
'use strict';

const { EhrPutRecord } = require('./ehr-put-record');

class EhrRequestAccess extends EhrPutRecord {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.records = [];
        for (let i = 0; i < (roundArguments.records || 5); i++) {
            const recordId = `caliper-${this.run}-access-${i}`;
            await this.setup(this.home, 'doctor', 'ehr', 'put_record', [this.putArgs(recordId)]);
            this.records.push(recordId);
        }
        this.requester = this.home;
        if ((roundArguments.requester || 'other') === 'other') {
            this.requester = this.nextOrg(this.home);
            await this.setup(this.home, 'admin', 'ehr', 'grant_consent', [JSON.stringify({
                patient_id: this.patient,
                grantee: { kind: 'org', mspid: this.requester.mspid },
                scope: { kind: 'all' },
            })]);
        }
        this.fingerprint = await this.publishedFingerprint(this.requester, 'doctor');
    }

    async submitTransaction() {
        const recordId = this.records[this.sent++ % this.records.length];
        return this.measured(
            this.request(this.requester, 'doctor', 'ehr', 'request_access', [recordId, '', this.fingerprint], false),
            (text) => {
                const answer = JSON.parse(text);
                return answer.granted === true && answer.record_id === recordId ? null
                    : `request_access was not granted: ${text.slice(0, 200)}`;
            });
    }
}

module.exports.createWorkloadModule = () => new EhrRequestAccess();

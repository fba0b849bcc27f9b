/*
 * Owns: what every HealthBlock Caliper workload shares: reading the generated
 * configuration (`$HB_CALIPER_CONFIG/healthblock.json`, written by
 * `healthblock caliper config`), choosing each worker's hospital and identity,
 * building requests for the Peer Gateway connector, set-up transactions that
 * must commit, and result checks. A transaction that commits with the wrong
 * answer (an access denied, a missing record) is a success to Caliper; the
 * workloads count such answers as unexpected and write them to
 * `$HB_CALIPER_TXLOG/checks-r<round>-w<worker>.json`, and our summary fails
 * the round on any.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');

/** The metadata `healthblock caliper config` wrote. */
function readMeta() {
    const dir = process.env.HB_CALIPER_CONFIG;
    if (!dir) {
        throw new Error('HB_CALIPER_CONFIG is not set: point it at the directory written by `healthblock caliper config`');
    }
    return JSON.parse(fs.readFileSync(path.join(dir, 'healthblock.json'), 'utf8'));
}

/** 64 random hex digits (a pseudonym, a hash, a fingerprint). */
function hex64() {
    return crypto.randomBytes(32).toString('hex');
}

class HealthBlockWorkload extends WorkloadModuleBase {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.meta = readMeta();
        const orgs = this.meta.orgs;
        // Workers spread over the hospitals unless the round names one.
        const wanted = roundArguments.org;
        this.home = wanted === undefined ? orgs[workerIndex % orgs.length]
            : orgs.find((o) => o.org === wanted || o.mspid === wanted);
        if (!this.home) {
            throw new Error(`no hospital ${wanted} in ${JSON.stringify(orgs.map((o) => o.org))}`);
        }
        this.run = `${process.env.HB_CALIPER_RUN || Date.now()}-r${roundIndex}-w${workerIndex}`;
        this.sent = 0;
        this.checked = 0;
        this.unexpected = [];
    }

    /** The hospital after `org` in the configuration's order (for cross-hospital access). */
    nextOrg(org) {
        const orgs = this.meta.orgs;
        return orgs[(orgs.indexOf(org) + 1) % orgs.length];
    }

    /** A connector request as `identity` of `org`. */
    request(org, identity, contractId, fn, args, readOnly) {
        if (!org.identities.includes(identity)) {
            throw new Error(`${org.org} has no identity named ${identity} in the Caliper configuration`);
        }
        return {
            channel: this.meta.channel,
            contractId,
            contractFunction: fn,
            contractArguments: args,
            invokerMspId: org.mspid,
            invokerIdentity: identity,
            readOnly,
        };
    }

    /** A set-up transaction (outside the measured round): it must commit; returns its result text. */
    async setup(org, identity, contractId, fn, args) {
        const status = await this.sutAdapter.sendRequests(this.request(org, identity, contractId, fn, args, false));
        if (!status.IsCommitted()) {
            throw new Error(`set-up transaction ${contractId}.${fn} as ${identity}@${org.org} did not commit`);
        }
        return Buffer.from(status.GetResult() || []).toString('utf8');
    }

    /** An evaluated query (outside the measured round); its answer text, or null when refused. */
    async query(org, identity, contractId, fn, args) {
        const status = await this.sutAdapter.sendRequests(this.request(org, identity, contractId, fn, args, true));
        return status.IsCommitted() ? Buffer.from(status.GetResult() || []).toString('utf8') : null;
    }

    /** The fingerprint of `identity`'s published, unrevoked encryption key (what request_access names). */
    async publishedFingerprint(org, identity) {
        const me = await this.query(org, identity, 'ehr', 'whoami', []);
        if (!me) {
            throw new Error(`whoami as ${identity}@${org.org} was refused`);
        }
        const user = JSON.parse(me).user;
        const key = await this.query(org, identity, 'ehr', 'get_key', [user]);
        const published = key && JSON.parse(key);
        if (!published || published.revoked_at) {
            throw new Error(`${user} has no published, unrevoked encryption key: publish it with \`healthblock keydir publish --as ...\``);
        }
        return published.fingerprint;
    }

    /** A measured transaction; `check(text)` returns a problem or nothing for a committed one. */
    async measured(request, check) {
        const status = await this.sutAdapter.sendRequests(request);
        if (check && status.IsCommitted()) {
            this.checked += 1;
            let problem;
            try {
                problem = check(Buffer.from(status.GetResult() || []).toString('utf8'));
            } catch (e) {
                problem = `unreadable answer: ${e.message}`;
            }
            if (problem) {
                this.unexpected.push(`${request.contractFunction} ${status.GetID()}: ${problem}`);
            }
        }
        return status;
    }

    async cleanupWorkloadModule() {
        const dir = process.env.HB_CALIPER_TXLOG;
        if (dir) {
            fs.mkdirSync(dir, { recursive: true });
            const file = path.join(dir, `checks-r${this.roundIndex}-w${this.workerIndex}.json`);
            fs.writeFileSync(file, JSON.stringify({
                round: this.roundIndex,
                worker: this.workerIndex,
                checked: this.checked,
                unexpected: this.unexpected.length,
                examples: this.unexpected.slice(0, 5),
            }) + '\n');
        }
    }
}

module.exports = { HealthBlockWorkload, hex64 };

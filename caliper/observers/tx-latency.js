/*
 * Owns: recording every transaction Caliper sends during a round, with its
 * creation and final times, so our summary can compute percentiles (Caliper's
 * own report gives only min/avg/max latency). A Caliper TX observer module
 * (`monitors.transaction: [{module: ./observers/tx-latency.js}]`): each worker
 * buffers its round's results and appends them, one JSON object per line, to
 * `$HB_CALIPER_TXLOG/tx-w<worker>.jsonl` when the round ends, followed by one
 * `round` line with the round's start and end. Writing at the end keeps file
 * I/O out of the measured window.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const TxObserverInterface = require('@hyperledger/caliper-core/lib/worker/tx-observers/tx-observer-interface');

class TxLatencyObserver extends TxObserverInterface {
    constructor(options, messenger, workerIndex) {
        super(messenger, workerIndex);
        const dir = (options && options.dir) || process.env.HB_CALIPER_TXLOG;
        if (!dir) {
            throw new Error('tx-latency observer: set HB_CALIPER_TXLOG (or the observer option dir) to the directory for per-transaction logs');
        }
        fs.mkdirSync(dir, { recursive: true });
        this.file = path.join(dir, `tx-w${workerIndex}.jsonl`);
        this.lines = [];
    }

    async activate(roundIndex, roundLabel) {
        await super.activate(roundIndex, roundLabel);
        this.lines = [];
        this.started = Date.now();
    }

    txSubmitted(count) { }

    txFinished(results) {
        for (const r of Array.isArray(results) ? results : [results]) {
            this.lines.push(JSON.stringify({
                round: this.currentRound,
                label: this.roundLabel,
                worker: this.workerIndex,
                id: r.GetID(),
                type: r.Get('request_type') || null,
                status: r.GetStatus(),
                created: r.GetTimeCreate(),
                final: r.GetTimeFinal(),
            }));
        }
    }

    async deactivate() {
        const ended = Date.now();
        this.lines.push(JSON.stringify({
            event: 'round',
            round: this.currentRound,
            label: this.roundLabel,
            worker: this.workerIndex,
            started: this.started,
            ended,
        }));
        fs.appendFileSync(this.file, this.lines.join('\n') + '\n');
        this.lines = [];
        await super.deactivate();
    }
}

module.exports.createTxObserver = (options, messenger, workerIndex) => new TxLatencyObserver(options, messenger, workerIndex);

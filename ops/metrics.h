/*
 * metrics.h: the exporter's state as Prometheus metrics (text exposition
 * format 0.0.4), computed from the control tables and the audit log each
 * time, for node_exporter's textfile collector (`tenant-export metrics`).
 *
 *   tenant_export_jobs{state}                          gauge, jobs table
 *   tenant_export_exports_completed_total{tenant}      export.completed events
 *   tenant_export_exports_failed_total{tenant}         export.failed events
 *   tenant_export_refusals_total{tenant}               *.denied events
 *   tenant_export_exported_rows_total{tenant}          records, from receipts
 *   tenant_export_exported_bytes_total{tenant}         record bytes (CBOR,
 *                                                      before compression and
 *                                                      encryption), receipts
 *   tenant_export_last_success_timestamp_seconds{tenant}  last export.completed
 *   tenant_export_export_duration_seconds              histogram: export.started
 *                                                      to export.completed
 *   tenant_export_alerts_total{rule}                   alerts table
 *   tenant_export_audit_chain_ok                       1 if audit_verify passes
 *   tenant_export_audit_rows                           rows in the audit log
 *   tenant_export_unreadable_receipts                  receipts not decoded
 *
 * Labels hold tenant ids (as the audit log does), never a job id, key or
 * row content. Every registered tenant appears, with zeros.
 */
#ifndef TEXP_OPS_METRICS_H
#define TEXP_OPS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct buf;

/*
 * Appends the metrics to out. Reads in one REPEATABLE READ READ ONLY
 * transaction, so every figure describes the same moment. ERR_DB with a
 * reason in err.
 */
int ops_metrics_write(PGconn *c, struct buf *out, char *err, size_t errlen);

/* Appends s as a label value: backslash, double quote and newline
 * escaped. */
int ops_prom_label(struct buf *out, const char *s);

/* Records and record bytes of a receipt (the manifest an export.completed
 * keeps). ERR_MANIFEST and the manifest decoder's errors otherwise. */
int ops_receipt_sizes(const uint8_t *p, size_t len, uint64_t *records,
    uint64_t *bytes);

#endif

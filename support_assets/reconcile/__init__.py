"""Deleted records: what the incremental refresh cannot see, found and marked (issue #16).

An incremental read by the cursor never meets a record that is gone. The reconcile asks the
desk the cheapest question that tells (`listing`), then marks the warehouse rows of what is
gone, `_deleted_at` set and the row kept, or removes them (`SUPPORT_DELETES`); a comment
follows its ticket (`marks`). `support_reconcile_job` runs it (`job`).
"""

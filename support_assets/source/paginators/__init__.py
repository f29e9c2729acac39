"""One paginator per kind of desk listing, each read so that churn loses no record.

- `offset`: offset pages with a total and an upper-bound parameter, checked record by
  record (the reference contract);
- `reseek`: page-number or next-link lists in ascending update order, asked again from
  the newest cursor read (Freshdesk, Help Scout);
- `stream`: a desk's change stream, followed by its cursor or next URL to its own end
  (Zendesk's incremental exports).
"""

"""What the municipality's console shows, as service functions the pages (and ``/v1``)
call: the work queue, data quality, statistics, and the audit log's search and export.
Nothing here reads a session or renders a page."""

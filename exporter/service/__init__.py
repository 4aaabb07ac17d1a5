"""The service: requests, their lifecycle, the audit log, jobs and recovery."""
